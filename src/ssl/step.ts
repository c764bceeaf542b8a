// One self-supervised training step (paper section 4.5): two augmented views of each unlabelled
// image, the SSL loss, and for the mixing methods the paper's extra term
//   L = L_ssl + mean_i( w_i * L_ssl,i(mixed view 1) ),   w_i = gamma_i^2 for GradMix
// (the mixed-in fraction for Mixup/CutMix), built by src/train/mixing.ts's mixedTerm;
// the step's skeleton (backward, update, readback) is src/train/step-skeleton.ts's.
// - simclr: L_ssl = SimCLR over both views; the mixed view 1 is contrasted with view 2 and
//   GradMix's LayerCAM attributes the batch's SimCLR loss (as in supervised training).
// - moco: queries are view 1 through the trained model, keys view 2 through the momentum
//   encoder; L_ssl = InfoNCE against the queue. The mixed images are queries against the same
//   keys and queue, and LayerCAM attributes the batch's InfoNCE loss. After the optimiser step
//   the keys are enqueued.
// runChecked reads back, with the loss and its terms, the finite-state guard's check of every
// tensor the run saves (the model's, and MoCo's key encoder and queue), so pre-training stops at
// the first step that leaves a NaN or Inf anywhere in them, before any checkpoint holds it.
import { tensor } from '../creation.js';
import * as ops from '../ops/index.js';
import { augmentPreset, augmentViews, sampleViews, type AugmentConfig } from '../augment/index.js';
import { simclrLoss } from '../losses/index.js';
import { mixedTerm, recordActivations, type MixingConfig, type MixingTarget } from '../train/mixing.js';
import { simclrTarget } from '../train/objectives.js';
import { mixingConfig } from '../train/options.js';
import { optimizerStep, type StepGraph, type StepResult } from '../train/step-skeleton.js';
import type { FiniteGuard } from '../train/finite-guard.js';
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
  /** The loss's terms, unweighted: the SSL loss under its objective's name (simclr, moco), and mixed (mixing methods). */
  terms: Record<string, Tensor>;
}

export class SslStep {
  readonly augment: AugmentConfig;
  readonly mixing: MixingConfig;
  /** MoCo's key encoder and queue (null for SimCLR). */
  readonly moco: MomentumEncoder | null;
  private readonly tau: number;
  private readonly ssl: PretrainOptions['ssl'];
  private readonly shape: [number, number, number];

  /** `modelOptions` and `rng` build MoCo's key encoder and queue. */
  constructor(
    readonly model: SupConResNet,
    options: PretrainOptions,
    preset: string,
    data: Pick<Dataset, 'channels' | 'height' | 'width'>,
    modelOptions: SupConResNetOptions,
    rng: Rng,
  ) {
    this.augment = augmentPreset(preset, [data.height, data.width]);
    this.shape = [data.channels, data.height, data.width];
    this.mixing = mixingConfig(options);
    this.tau = options.tau;
    this.ssl = options.ssl;
    this.moco = options.ssl === 'moco' ? new MomentumEncoder(model, modelOptions, options, rng) : null;
  }

  /**
   * The step's loss and its terms as a graph, and MoCo's keys (no backward, no enqueue). Not free
   * of effects for MoCo: computing the keys first applies the key encoder's momentum update, in
   * place, as MoCo's forward does, so each call moves the key encoder one step.
   */
  forward(images: Float32Array, rng: Rng): SslForward {
    const { model, mixing, moco, tau } = this;
    const b = images.length / (this.shape[0] * this.shape[1] * this.shape[2]);
    if (!Number.isInteger(b) || b < 2) throw new Error(`SslStep: a batch needs at least 2 images of ${this.shape.join('x')}, got ${images.length} values`);
    const raw = tensor(images, [b, ...this.shape]);
    const views = augmentViews(raw, sampleViews(rng, b, this.shape[1], this.shape[2], this.augment), this.augment);
    let base: Tensor;
    let target: MixingTarget;
    let activations: Tensor[];
    let keys: Tensor | null = null;
    if (!moco) {
      const encoded = recordActivations(model, mixing, () => model.call(views));
      const z = encoded.result;
      activations = encoded.activations;
      base = simclrLoss(z, { tau });
      target = simclrTarget(model, z, tau, () => base);
    } else {
      const view1 = ops.slice(views, 0, 0, b);
      const encoded = recordActivations(model, mixing, () => model.call(view1));
      activations = encoded.activations;
      keys = moco.keys(ops.slice(views, 0, b, 2 * b));
      base = moco.loss(encoded.result, keys, tau);
      target = moco.mixingTarget(base, keys, tau);
    }
    const terms: Record<string, Tensor> = { [this.ssl]: base };
    if (mixing.method === 'none') return { loss: base, keys, terms };
    const { term } = mixedTerm({ config: mixing, target, views, activations, rng });
    terms.mixed = term;
    return { loss: ops.add(base, term), keys, terms };
  }

  /**
   * Every tensor a pre-training run saves, by name: the model's state dict, and MoCo's key
   * encoder and queue under `moco.` (their names in the checkpoint after `__moco__.`).
   */
  state(): Map<string, Tensor> {
    const state = this.model.stateDict();
    if (this.moco) for (const [n, t] of this.moco.stateTensors()) state.set(`moco.${n}`, t);
    return state;
  }

  /** A whole step: loss, backward, optimiser step, MoCo enqueue; returns the loss (read back, so NaN shows at once). */
  async run(images: Float32Array, optimizer: Optimizer<{ lr: number }>, rng: Rng): Promise<number> {
    // Without the terms: unchecked, each would be a readback of its own.
    return (await this.step(images, optimizer, rng, false)).loss;
  }

  /**
   * A whole step that reads back, in one readback, its loss, the loss's terms and the
   * finiteness of every tensor of state() after the update and the enqueue (the guard's check).
   */
  runChecked(images: Float32Array, optimizer: Optimizer<{ lr: number }>, rng: Rng, guard: FiniteGuard): Promise<StepResult> {
    return this.step(images, optimizer, rng, true, guard);
  }

  private step(images: Float32Array, optimizer: Optimizer<{ lr: number }>, rng: Rng, withTerms: boolean, guard?: FiniteGuard): Promise<StepResult> {
    const forward = (): StepGraph & { keys: Tensor | null } => {
      const f = this.forward(images, rng);
      return withTerms ? f : { loss: f.loss, keys: f.keys };
    };
    const afterUpdate = (f: { keys: Tensor | null }) => {
      if (f.keys) this.moco!.queue.enqueue(f.keys);
    };
    return optimizerStep(optimizer, forward, { afterUpdate, check: guard && { guard, state: () => this.state() } });
  }

  dispose(): void {
    this.moco?.dispose();
  }
}
