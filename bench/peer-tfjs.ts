// The TensorFlow.js WebGPU backend on the same Dawn adapter in the same process, as the peer for
// conv2d (forward, input and weight gradients through the backend's own gradient kernels), matmul
// and a whole training step (bench/peer-tfjs-resnet.ts, through tf's autograd). TF.js gets its
// natural layout (NHWC activations, [kh, kw, in, out] filters); it requests its own device from
// the adapter (with 'timestamp-query' where offered), so its work is timed on its own queue, the
// same way as ours. tfjs-core's Node bundle registers no gradients: its ES-module sources'
// register_all_gradients is bundled with esbuild (a dev dependency) into the temporary directory
// and imported; the copy of tfjs-core inside it shares the engine and registries through globals.
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gpu } from '../runtime/gpu.js';
import { tfjsTrainStep } from './peer-tfjs-resnet.js';
import type { ConvPeer, MatmulPeer, PeerSpec, TrainStepPeer } from './family.js';
import type { QueueTarget } from './harness.js';

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
  return spec.kind === 'conv2d' || spec.kind === 'matmul' || spec.kind === 'train-step';
}

/** Registers tfjs-core's gradients (see the header); the reason as a string when it cannot. */
async function registerGradients(): Promise<string | null> {
  try {
    const { buildSync } = await import('esbuild');
    const core = join(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json'), '..');
    const out = join(tmpdir(), `gradmix-tfjs-gradients-${process.pid}.mjs`);
    buildSync({ entryPoints: [join(core, 'dist', 'register_all_gradients.js')], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error' });
    await import(pathToFileURL(out).href);
    return null;
  } catch (e) {
    return `TF.js gradients could not be registered: ${(e as Error).message.split('\n')[0]}`;
  }
}

export class TfjsPeer {
  private constructor(
    private readonly tf: Tf,
    private readonly backend: WebGpuBackend,
    readonly version: string,
  ) {}

  /** Loads TF.js on our adapter; the reason as a string when it cannot. */
  static async start(): Promise<TfjsPeer | string> {
    const g = globalThis as { navigator?: { gpu?: GPU } };
    // The backend module checks navigator.gpu when it is imported: it must exist first.
    if (!g.navigator?.gpu) {
      Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: gpu().instance }, configurable: true, writable: true });
    }
    let tf: Tf;
    try {
      tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
    } catch (e) {
      return `TF.js is not installed (npm install: @tensorflow/tfjs-core, @tensorflow/tfjs-backend-webgpu): ${(e as Error).message}`;
    }
    // Small tensors would otherwise run on TF.js's CPU backend.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    if (!(await tf.setBackend('webgpu'))) return 'TF.js could not start its WebGPU backend on this adapter';
    await tf.ready();
    const peer = new TfjsPeer(tf, tf.backend() as unknown as WebGpuBackend, tf.version_core);
    peer.gradients = await registerGradients();
    return peer;
  }

  /** Null when tf's gradients are registered (the training step needs them), else why not. */
  gradients: string | null = 'not registered';

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
    const kernel = (name: string, inputs: Record<string, TfTensor>, extra: Record<string, unknown> = {}) =>
      tf.engine().runKernel(name, inputs as never, { ...attrs, ...extra } as never) as TfTensor;
    const op =
      s.pass === 'forward'
        ? () => kernel('Conv2D', { x, filter })
        : s.pass === 'input-grad'
          ? () => kernel('Conv2DBackpropInput', { dy, filter }, { inputShape: x.shape })
          : () => kernel('Conv2DBackpropFilter', { x, dy }, { filterShape: filter.shape });
    return this.work([x, filter, dy], op);
  }
}
