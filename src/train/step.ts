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
import { simclrLoss, supconLoss } from '../losses/index.js';
import { mixedTerm } from './mixing.js';
import { objectiveLoss } from './objectives.js';
import type { FiniteGuard } from './finite-guard.js';

/** A step's outcome as the epoch loop logs it. */
export interface StepResult {
  loss: number;
  /** The loss's terms, unweighted: supcon and simclr (supcon+ssl), objective (other objectives), mixed (mixing methods). */
  terms: Record<string, number>;
  /** The first model tensor that is NaN or Inf after the update, or null. */
  bad: string | null;
}

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
    return this.lossAndTerms(images, labels, rng, false).loss;
  }

  /** The loss and, when asked, its terms as scalars outside the graph (StepResult.terms). */
  private lossAndTerms(images: Float32Array, labels: Int32Array, rng: Rng, withTerms: boolean): { loss: Tensor; terms: Record<string, Tensor> } {
    const o = this.options;
    const b = labels.length;
    const raw = tensor(images, [b, ...this.shape]);
    const views = this.views(raw, rng);
    const compute = () => objectiveLoss(this.model, o, views, labels);
    const { result: objective, activations } = o.method === 'gradmix' ? this.model.withActivations(o.layers, compute) : { result: compute(), activations: [] };
    const { loss: base, z, mixedWeight, mixedLoss, attributionLoss } = objective;
    const terms: Record<string, Tensor> = {};
    if (withTerms) {
      // The fused loss has no separate SupCon and SimCLR values: two small extra passes on z.
      if (o.objective === 'supcon+ssl' && z) {
        ops.noGrad(() => {
          terms.supcon = supconLoss(z, tensor(labels, [b], { dtype: 'int32' }), { tau: o.tau });
          terms.simclr = simclrLoss(z, { tau: o.tau });
        });
      } else terms.objective = base;
    }
    if (o.method === 'none') return { loss: base, terms };
    const { term } = mixedTerm({ model: this.model, options: o, views, z, activations, rng, mixedLoss, attributionLoss });
    if (withTerms) terms.mixed = term;
    return { loss: ops.add(base, ops.mulScalar(term, mixedWeight)), terms };
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

  /**
   * Runs a whole step and reads back, in one readback, its loss, the loss's terms and the
   * finiteness of every model tensor after the update (the guard's check).
   */
  async runChecked(images: Float32Array, labels: Int32Array, optimizer: Optimizer<{ lr: number }>, rng: Rng, guard: FiniteGuard): Promise<StepResult> {
    const { loss, terms } = scope(() => {
      const r = this.lossAndTerms(images, labels, rng, true);
      backward(r.loss);
      optimizer.step();
      optimizer.zeroGrad();
      return r;
    });
    const names = Object.keys(terms);
    try {
      const { values, bad } = await guard.read(this.model.stateDict(), [loss, ...names.map((n) => terms[n])]);
      return { loss: values[0], terms: Object.fromEntries(names.map((n, i) => [n, values[i + 1]])), bad };
    } finally {
      loss.dispose();
      for (const t of Object.values(terms)) t.dispose();
    }
  }

}
