// One training step: augment both views on the GPU, encode them, take the objective's loss
// (default theta * SupCon + lambda * SimCLR; see objectives.ts) and, for the mixing methods, the
// extra weighted SimCLR term of the mixed view 1 against view 2 (paper eq. 8); then backward and
// an optimiser step.
import { tensor } from '../creation.js';
import { scope } from '../scope.js';
import { backward } from '../autograd.js';
import * as ops from '../ops/index.js';
import { augmentPreset, augmentViews, sampleViews, type AugmentConfig } from '../augment/index.js';
import type { Dataset } from '../data/dataset.js';
import type { SupConResNet } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import type { TrainOptions } from './options.js';
import { mixedTerm } from './mixing.js';
import { objectiveLoss } from './objectives.js';

export class TrainStep {
  readonly augment: AugmentConfig;
  private readonly shape: [number, number, number];

  constructor(
    readonly model: SupConResNet,
    readonly options: TrainOptions,
    preset: string,
    data: Pick<Dataset, 'channels' | 'height' | 'width'>,
  ) {
    this.augment = augmentPreset(preset, [data.height, data.width]);
    this.shape = [data.channels, data.height, data.width];
  }

  /** The two augmented, normalised views [2B, C, H, W] of a batch (rows 0..B-1 are view 1). */
  views(images: Tensor, rng: Rng): Tensor {
    const [b, , h, w] = images.shape;
    return augmentViews(images, sampleViews(rng, b, h, w, this.augment), this.augment);
  }

  /** The step's loss as a graph (no backward), for tests and the browser demo. */
  loss(images: Float32Array, labels: Int32Array, rng: Rng): Tensor {
    const o = this.options;
    const b = labels.length;
    const raw = tensor(images, [b, ...this.shape]);
    const views = this.views(raw, rng);
    const compute = () => objectiveLoss(this.model, o, views, labels);
    const { result: objective, activations } = o.method === 'gradmix' ? this.model.withActivations(o.layers, compute) : { result: compute(), activations: [] };
    const { loss: base, z, mixedWeight, mixedLoss, attributionLoss } = objective;
    if (o.method === 'none') return base;
    const { term } = mixedTerm({ model: this.model, options: o, views, z, activations, rng, mixedLoss, attributionLoss });
    return ops.add(base, ops.mulScalar(term, mixedWeight));
  }

  /** Runs a whole step and returns its loss (awaits the readback, so NaN is caught at once). */
  async run(images: Float32Array, labels: Int32Array, optimizer: Optimizer<{ lr: number }>, rng: Rng): Promise<number> {
    const loss = scope(() => {
      const l = this.loss(images, labels, rng);
      backward(l);
      optimizer.step();
      optimizer.zeroGrad();
      return l;
    });
    const value = await loss.item();
    loss.dispose();
    return value;
  }

}
