// One self-supervised training step (paper section 4.5): two augmented views of each unlabelled
// image, the SSL loss, and for the mixing methods the paper's extra term
//   L = L_ssl + mean_i( w_i * L_ssl,i(mixed view 1) ),   w_i = gamma_i^2 for GradMix
// (the mixed-in fraction for Mixup/CutMix), built by src/train/mixing.ts's mixedTerm.
// - simclr: L_ssl = SimCLR over both views; the mixed view 1 is contrasted with view 2 and
//   GradMix's LayerCAM attributes the batch's SimCLR loss (as in supervised training).
// - moco: queries are view 1 through the trained model, keys view 2 through the momentum
//   encoder; L_ssl = InfoNCE against the queue. The mixed images are queries against the same
//   keys and queue, and LayerCAM attributes the batch's InfoNCE loss. After the optimiser step
//   the keys are enqueued.
import { tensor } from '../creation.js';
import { scope } from '../scope.js';
import { backward } from '../autograd.js';
import * as ops from '../ops/index.js';
import { augmentPreset, augmentViews, sampleViews, type AugmentConfig } from '../augment/index.js';
import { simclrLoss } from '../losses/index.js';
import { mixedTerm } from '../train/mixing.js';
import type { Dataset } from '../data/index.js';
import type { SupConResNet, SupConResNetOptions } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { MomentumEncoder } from './moco.js';
import type { PretrainOptions } from './options.js';

export interface SslForward {
  /** The step's loss (a scalar in the graph). */
  loss: Tensor;
  /** MoCo: this batch's keys, to enqueue once the loss has been backpropagated. */
  keys: Tensor | null;
}

export class SslStep {
  readonly augment: AugmentConfig;
  /** MoCo's key encoder and queue (null for SimCLR). */
  readonly moco: MomentumEncoder | null;
  private readonly shape: [number, number, number];

  /** `modelOptions` and `rng` build MoCo's key encoder and queue. */
  constructor(
    readonly model: SupConResNet,
    readonly options: PretrainOptions,
    preset: string,
    data: Pick<Dataset, 'channels' | 'height' | 'width'>,
    modelOptions: SupConResNetOptions,
    rng: Rng,
  ) {
    this.augment = augmentPreset(preset, [data.height, data.width]);
    this.shape = [data.channels, data.height, data.width];
    this.moco = options.ssl === 'moco' ? new MomentumEncoder(model, modelOptions, options, rng) : null;
  }

  /** The step's loss as a graph, and MoCo's keys (no backward, no enqueue). */
  forward(images: Float32Array, rng: Rng): SslForward {
    const o = this.options;
    const b = images.length / (this.shape[0] * this.shape[1] * this.shape[2]);
    if (!Number.isInteger(b) || b < 2) throw new Error(`SslStep: a batch needs at least 2 images of ${this.shape.join('x')}, got ${images.length} values`);
    const raw = tensor(images, [b, ...this.shape]);
    const views = augmentViews(raw, sampleViews(rng, b, this.shape[1], this.shape[2], this.augment), this.augment);
    if (!this.moco) {
      const { out: z, activations } = this.encode(views);
      const base = simclrLoss(z, { tau: o.tau });
      if (o.method === 'none') return { loss: base, keys: null };
      const { term } = mixedTerm({ model: this.model, options: o, views, z, activations, rng, attributionLoss: base });
      return { loss: ops.add(base, term), keys: null };
    }
    const moco = this.moco;
    const { out: q, activations } = this.encode(ops.slice(views, 0, 0, b));
    const keys = moco.keys(ops.slice(views, 0, b, 2 * b));
    const base = moco.loss(q, keys, o.tau);
    if (o.method === 'none') return { loss: base, keys };
    const { term } = mixedTerm({
      model: this.model, options: o, views, activations, rng,
      attributionLoss: base,
      mixedLoss: (mixed) => moco.loss(this.model.call(mixed), keys, o.tau, 'none'),
    });
    return { loss: ops.add(base, term), keys };
  }

  /** The model's projections of x, with the LayerCAM layers' outputs when GradMix needs them. */
  private encode(x: Tensor): { out: Tensor; activations: Tensor[] } {
    if (this.options.method !== 'gradmix') return { out: this.model.call(x), activations: [] };
    const { result: out, activations } = this.model.withActivations(this.options.layers, () => this.model.call(x));
    return { out, activations };
  }

  /** A whole step: loss, backward, optimiser step, MoCo enqueue; returns the loss (read back, so NaN shows at once). */
  async run(images: Float32Array, optimizer: Optimizer<{ lr: number }>, rng: Rng): Promise<number> {
    const loss = scope(() => {
      const f = this.forward(images, rng);
      backward(f.loss);
      optimizer.step();
      optimizer.zeroGrad();
      if (f.keys) this.moco!.queue.enqueue(f.keys);
      return f.loss;
    });
    const value = await loss.item();
    loss.dispose();
    return value;
  }

  dispose(): void {
    this.moco?.dispose();
  }
}
