// The layers a ResNet needs, with PyTorch's parameter names, shapes and default initialisation.
import * as ops from '../ops/index.js';
import { fill } from '../ops/elementwise.js';
import { randn, rand } from '../creation.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;

  constructor(inChannels: number, outChannels: number, kernelSize: number, rng: Rng, options: Conv2dOptions = {}) {
    super();
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    // Kaiming normal, fan_out, ReLU gain: the initialisation of SupContrast's resnet_big.py.
    const fanOut = outChannels * kernelSize * kernelSize;
    this.weight = this.param('weight', randn([outChannels, inChannels, kernelSize, kernelSize], rng, Math.sqrt(2 / fanOut)));
    this.bias = options.bias ? this.param('bias', fill([outChannels], 0)) : null;
  }

  protected forward(x: Tensor): Tensor {
    return ops.conv2d(x, this.weight, this.bias ?? undefined, { stride: this.stride, padding: this.padding });
  }
}

export interface BatchNormOptions {
  momentum?: number;
  eps?: number;
  /** Apply ReLU in the same kernel (the module's output is then post-activation). */
  fuseRelu?: boolean;
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  readonly momentum: number;
  readonly eps: number;
  readonly fuseRelu: boolean;
  /**
   * Off during passes that must not touch the running statistics (GradMix's attribution pass).
   * Set it through SupConResNet.withFrozenRunningStats, which turns it off for every layer of a
   * model and gives each its own setting back, even when the pass throws.
   */
  updateRunningStats = true;
  private batches = 0;
  private batchesWritten = 0;

  constructor(channels: number, options: BatchNormOptions = {}) {
    super();
    this.momentum = options.momentum ?? 0.1;
    this.eps = options.eps ?? 1e-5;
    this.fuseRelu = options.fuseRelu ?? false;
    this.weight = this.param('weight', fill([channels], 1));
    this.bias = this.param('bias', fill([channels], 0));
    this.runningMean = this.buffer('running_mean', fill([channels], 0));
    this.runningVar = this.buffer('running_var', fill([channels], 1));
    this.numBatchesTracked = this.buffer('num_batches_tracked', fill([], 0));
  }

  protected forward(x: Tensor): Tensor {
    return this.normalize(x);
  }

  /**
   * relu(this(x) + residual), a residual block's end, in one kernel pass (ops.batchNorm2d's
   * residual). Hooks on this layer want its own output, which the fused pass never holds: then it
   * runs alone (with its hooks) and the add and ReLU follow.
   */
  addRelu(x: Tensor, residual: Tensor): Tensor {
    if (this.fuseRelu) throw new Error(`${this.path || 'BatchNorm2d'}: addRelu needs a layer without fuseRelu (its ReLU would come before the add)`);
    if (this.hooked) return ops.relu(ops.add(this.call(x), residual));
    return this.normalize(x, residual);
  }

  private normalize(x: Tensor, residual?: Tensor): Tensor {
    const updating = this.training && this.updateRunningStats;
    if (updating) this.batches++;
    // Training without running tensors normalises by batch statistics and updates nothing.
    const keepStats = !this.training || updating;
    return ops.batchNorm2d(x, this.weight, this.bias, keepStats ? this.runningMean : null, keepStats ? this.runningVar : null, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
      relu: this.fuseRelu || residual !== undefined,
      residual,
    });
  }

  /** The batch count lives on the host; it is written into its tensor only when a state dict is taken. */
  protected override syncBuffers(): void {
    if (this.batches !== this.batchesWritten) {
      ops.fillInto(this.numBatchesTracked, this.batches);
      this.batchesWritten = this.batches;
    }
  }

  /** After loading a state dict, continue counting from the loaded value. */
  setBatchesTracked(n: number): void {
    this.batches = this.batchesWritten = n;
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, rng: Rng, options: { bias?: boolean } = {}) {
    super();
    // PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', rand([outFeatures, inFeatures], rng, -bound, bound));
    this.bias = options.bias === false ? null : this.param('bias', rand([outFeatures], rng, -bound, bound));
  }

  protected forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias ?? undefined);
  }
}

export class ReLU extends Module {
  protected forward(x: Tensor): Tensor {
    return ops.relu(x);
  }
}

/** Children named '0', '1', ... as torch.nn.Sequential; an empty one is the identity. */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.child(String(i), m));
  }

  protected forward(x: Tensor): Tensor {
    let out = x;
    for (const m of this.layers) out = m.call(out);
    return out;
  }
}

/**
 * After tensors were loaded straight into a model's state dict (a checkpoint), reads each
 * BatchNorm's num_batches_tracked back so its host-side count continues from there.
 */
export async function syncBatchCounts(model: Module): Promise<void> {
  for (const [, m] of model.modules()) {
    if (m instanceof BatchNorm2d) m.setBatchesTracked(Math.round((await m.numBatchesTracked.data())[0]));
  }
}
