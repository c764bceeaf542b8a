// The TensorFlow.js WebGPU backend as the peer for conv2d (forward, input and weight gradients
// through the backend's own gradient kernels), matmul and a whole training step
// (bench/peer-tfjs-resnet.ts, through tf's autograd), on the same adapter as ours. TF.js gets its
// natural layout (NHWC activations, [kh, kw, in, out] filters); it requests its own device from
// the adapter (with 'timestamp-query' where offered), so its work is timed on its own queue, the
// same way as ours. No platform imports: Node loads TF.js in bench/peer-tfjs-node.ts, the
// benchmark page in bench/web/tfjs-page.ts, and both hand the loaded module to TfjsPeer.open.
import { timeQueue, type Measurement, type QueueTarget, type TimeOptions } from './harness.js';
import { tfjsTrainStep } from './peer-tfjs-resnet.js';
import type { ConvPeer, MatmulPeer, PeerSpec, TrainStepPeer } from './family.js';
import type { PeerResult } from './report.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

/** The parts of the backend (tfjs-backend-webgpu's WebGPUBackend) used to drain its queue. */
interface WebGpuBackend {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

export interface PeerWork {
  run: () => void;
  dispose: () => void;
}

export type TfjsSpec = ConvPeer | MatmulPeer | TrainStepPeer;

export function tfjsSupports(spec: PeerSpec): spec is TfjsSpec {
  return spec.kind === 'conv2d' || spec.kind === 'matmul' || (spec.kind === 'train-step' && (spec.method ?? 'none') === 'none');
}

/**
 * A peer's figure and ours / theirs, like for like: by the primary method where both were timed
 * the same way, else wall time on both sides (and `method: 'wall'`, so a summing consumer that
 * matches methods pairs it with our wall time).
 */
export function peerResult(ours: Measurement, theirs: Measurement): PeerResult & { ms: number } {
  if (theirs.method === ours.method) return { ms: theirs.ms, ratio: ours.ms / theirs.ms, method: theirs.method };
  return { ms: theirs.wallMs, ratio: ours.wallMs / theirs.wallMs, method: 'wall' };
}

export class TfjsPeer {
  private constructor(
    private readonly tf: Tf,
    private readonly backend: WebGpuBackend,
    readonly version: string,
    /** Null when tf's gradients are registered (the training step needs them), else why not. */
    readonly gradients: string | null,
  ) {}

  /**
   * Starts the WebGPU backend of a loaded TF.js (tfjs-backend-webgpu imported beside it); the
   * reason as a string when it cannot.
   */
  static async open(tf: Tf, gradients: string | null): Promise<TfjsPeer | string> {
    // Small tensors would otherwise run on TF.js's CPU backend.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    if (!(await tf.setBackend('webgpu').catch(() => false))) return 'TF.js could not start its WebGPU backend on this adapter';
    await tf.ready();
    return new TfjsPeer(tf, tf.backend() as unknown as WebGpuBackend, tf.version_core, gradients);
  }

  /** TF.js's device queue, for the harness: submit what TF.js has recorded; wait for it. */
  queue(): QueueTarget {
    const be = this.backend;
    return {
      device: be.device,
      submit: () => {
        if (!be.commandEncoder) return;
        be.endComputePassEncoder();
        be.submitQueue();
      },
      drain: () => be.device.queue.onSubmittedWorkDone(),
    };
  }

  prepare(spec: TfjsSpec): PeerWork {
    if (spec.kind === 'train-step') {
      if (this.gradients) throw new Error(this.gradients);
      return tfjsTrainStep(this.tf, spec);
    }
    return spec.kind === 'matmul' ? this.matmul(spec) : this.conv(spec);
  }

  /**
   * Times the same problem as one of our rows on TF.js's queue; the ratio is ours / theirs by the
   * same method on both sides (GPU queue time where both devices have timestamps, else wall time).
   */
  async measure(spec: TfjsSpec, ours: Measurement, timing: TimeOptions): Promise<{ result: PeerResult; cpuWorkMs?: number }> {
    let work: PeerWork | null = null;
    try {
      work = this.prepare(spec);
      const t = await timeQueue(this.queue(), work.run, timing);
      return { result: peerResult(ours, t), cpuWorkMs: t.cpuWorkMs };
    } catch (e) {
      return { result: { error: (e as Error).message.split('\n')[0] } };
    } finally {
      work?.dispose();
    }
  }

  private work(inputs: TfTensor[], op: () => TfTensor): PeerWork {
    return {
      run: () => this.tf.dispose(op()),
      dispose: () => this.tf.dispose(inputs),
    };
  }

  private matmul(s: MatmulPeer): PeerWork {
    const { tf } = this;
    const a = tf.randomNormal(s.transA ? [s.K, s.M] : [s.M, s.K]);
    const b = tf.randomNormal(s.transB ? [s.N, s.K] : [s.K, s.N]);
    return this.work([a, b], () => tf.matMul(a as never, b as never, s.transA, s.transB));
  }

  private conv(s: ConvPeer): PeerWork {
    const { tf } = this;
    const oh = Math.floor((s.h + 2 * s.pad - s.k) / s.stride) + 1;
    const ow = Math.floor((s.w + 2 * s.pad - s.k) / s.stride) + 1;
    const x = tf.randomNormal([s.batch, s.h, s.w, s.cin]);
    const filter = tf.randomNormal([s.k, s.k, s.cin, s.cout]);
    const dy = tf.randomNormal([s.batch, oh, ow, s.cout]);
    const attrs = { strides: [s.stride, s.stride], pad: s.pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
    const kernel = (name: string, inputs: Record<string, TfTensor>, extra: Record<string, unknown> = {}) => tf.engine().runKernel(name, inputs as never, { ...attrs, ...extra } as never) as TfTensor;
    const op =
      s.pass === 'forward'
        ? () => kernel('Conv2D', { x, filter })
        : s.pass === 'input-grad'
          ? () => kernel('Conv2DBackpropInput', { dy, filter }, { inputShape: x.shape })
          : () => kernel('Conv2DBackpropFilter', { x, dy }, { filterShape: filter.shape });
    return this.work([x, filter, dy], op);
  }
}
