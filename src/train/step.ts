// One training step: augment both views on the GPU, encode them, take the objective's loss
// (default theta * SupCon + lambda * SimCLR; see objectives.ts) and, for the mixing methods, the
// extra weighted term of the mixed view 1 (paper eq. 8, mixing.ts); then backward and an optimiser
// step (step-skeleton.ts). The step reads only its objective's and its mixing method's settings.
import { tensor } from '../creation.js';
import * as ops from '../ops/index.js';
import { augmentPreset, augmentViews, sampleViews, type AugmentConfig } from '../augment/index.js';
import type { Dataset } from '../data/dataset.js';
import type { SupConResNet } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { mixingConfig, type TrainOptions } from './options.js';
import { mixedTerm, recordActivations, type AttentionSource, type MixingConfig } from './mixing.js';
import type { AttentionModel } from '../gradmix/index.js';
import { createObjective, type TrainingObjective } from './objectives.js';
import { optimizerStep, type StepGraph, type StepResult } from './step-skeleton.js';
import type { FiniteGuard } from './finite-guard.js';

export type { StepResult } from './step-skeleton.js';

/** The options a step reads: its objective's name and weights, and the mixing method's settings. */
export type StepOptions = Pick<TrainOptions, 'objective' | 'tau' | 'theta' | 'lambda' | keyof MixingConfig>;

export class TrainStep {
  readonly augment: AugmentConfig;
  readonly objective: TrainingObjective;
  readonly mixing: MixingConfig;
  /** Attentive CutMix's network, shown the views as they are normalised here. */
  readonly attention?: AttentionSource;
  private readonly shape: [number, number, number];

  constructor(
    readonly model: SupConResNet,
    options: StepOptions,
    preset: string,
    data: Pick<Dataset, 'channels' | 'height' | 'width'>,
    /** Attentive CutMix's frozen attention network with its code (loadAttention; required by that method). */
    attention?: AttentionModel,
  ) {
    this.augment = augmentPreset(preset, [data.height, data.width]);
    this.shape = [data.channels, data.height, data.width];
    this.objective = createObjective(options.objective, model, options);
    this.mixing = mixingConfig(options);
    if (attention) this.attention = { ...attention, imageMean: this.augment.mean, imageStd: this.augment.std };
  }

  /** The two augmented, normalised views [2B, C, H, W] of a batch (rows 0..B-1 are view 1). */
  views(images: Tensor, rng: Rng): Tensor {
    const [b, , h, w] = images.shape;
    return augmentViews(images, sampleViews(rng, b, h, w, this.augment), this.augment);
  }

  /** The step's loss as a graph (no backward), for tests and the browser demo. */
  loss(images: Float32Array, labels: Int32Array, rng: Rng): Tensor {
    return this.graph(images, labels, rng, false).loss;
  }

  /** The loss and, when asked, its terms as scalars outside the graph (StepResult.terms). */
  private graph(images: Float32Array, labels: Int32Array, rng: Rng, withTerms: boolean): Required<StepGraph> {
    const { objective, mixing } = this;
    const raw = tensor(images, [labels.length, ...this.shape]);
    const views = this.views(raw, rng);
    const { result: batch, activations } = recordActivations(this.model, mixing, () => objective.loss(views, labels));
    const terms = withTerms ? batch.terms() : {};
    if (mixing.method === 'none') return { loss: batch.loss, terms };
    const { term } = mixedTerm({ config: mixing, target: batch, views, activations, rng, attention: this.attention });
    if (withTerms) terms.mixed = term;
    return { loss: ops.add(batch.loss, ops.mulScalar(term, objective.mixedWeight)), terms };
  }

  /** Runs a whole step and returns its loss (awaits the readback, so NaN is caught at once). */
  async run(images: Float32Array, labels: Int32Array, optimizer: Optimizer<{ lr: number }>, rng: Rng): Promise<number> {
    return (await optimizerStep(optimizer, () => this.graph(images, labels, rng, false))).loss;
  }

  /**
   * Runs a whole step and reads back, in one readback, its loss, the loss's terms and the
   * finiteness of every model tensor after the update (the guard's check).
   */
  runChecked(images: Float32Array, labels: Int32Array, optimizer: Optimizer<{ lr: number }>, rng: Rng, guard: FiniteGuard): Promise<StepResult> {
    return optimizerStep(optimizer, () => this.graph(images, labels, rng, true), { check: { guard, state: () => this.model.stateDict() } });
  }
}
