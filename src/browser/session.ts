// A training run in a page: the run of src/train/train.ts (same options and defaults, and the
// same subset, schedule, model, Adam, TrainStep and per-step seeds from src/train/training-run.ts),
// one step per call, so a page can yield to the event loop between steps, draw, and stop at any
// time. The same seed and options give the same first-step loss as `gradmix train`
// (test/browser.test.ts checks it). train.ts itself cannot run here: it writes checkpoints and
// logs with node:fs.
import { Rng } from '../random.js';
import { scope } from '../scope.js';
import type { SupConResNet } from '../nn/index.js';
import type { Adam } from '../optim/index.js';
import type { TrainStep } from '../train/step.js';
import type { AttentionModel } from '../gradmix/index.js';
import { resolveOptions, type TrainOptions } from '../train/options.js';
import { runStep, setUpRun, stepSeed, type TrainingRun } from '../train/training-run.js';
import { epochOrder, gatherBatch } from '../data/batches.js';
import type { Dataset } from '../data/dataset.js';
import type { OpenSetData } from '../data/open-set.js';

export class TrainingSession {
  readonly options: TrainOptions;
  readonly model: SupConResNet;
  readonly optimizer: Adam;
  readonly stepper: TrainStep;
  /** The training images in use (after maxTrain). */
  readonly trainSet: Dataset;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private readonly run: TrainingRun;
  /** Steps done so far. */
  step = 0;
  private order: { epoch: number; indices: Int32Array } | null = null;

  /**
   * `attention`: Attentive CutMix's frozen network with its code, required by that method (a page
   * loads both from the torchvision ResNet's .safetensors bytes with attentionModelFromBytes);
   * options.attentionModel only names it.
   */
  constructor(
    readonly data: OpenSetData,
    given: Partial<TrainOptions> = {},
    attention?: AttentionModel,
  ) {
    const o = resolveOptions({ ...given, protocol: given.protocol ?? data.protocol, split: given.split ?? data.split });
    this.options = o;
    this.run = setUpRun(o, data, attention);
    ({ trainSet: this.trainSet, stepsPerEpoch: this.stepsPerEpoch, totalSteps: this.totalSteps } = this.run);
    ({ model: this.model, optimizer: this.optimizer, stepper: this.stepper } = this.run);
  }

  get done(): boolean {
    return this.step >= this.totalSteps;
  }

  /** The epoch the next step belongs to (0-based). */
  get epoch(): number {
    return Math.floor(this.step / this.stepsPerEpoch);
  }

  /** The images and labels of step `step`: batch (step mod stepsPerEpoch) of its epoch's order. */
  batch(step: number): { images: Float32Array; labels: Int32Array } {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    if (this.order?.epoch !== epoch) this.order = { epoch, indices: epochOrder(this.trainSet.n, this.options.seed, epoch) };
    const bs = this.options.batchSize;
    const index = step % this.stepsPerEpoch;
    return gatherBatch(this.trainSet, this.order.indices.slice(index * bs, Math.min((index + 1) * bs, this.trainSet.n)));
  }

  /** Runs the next step (forward, backward, Adam) and returns its loss; throws on NaN/Inf. */
  async next(): Promise<number> {
    if (this.done) throw new Error(`training is finished (${this.totalSteps} steps)`);
    const step = this.step;
    const { images, labels } = this.batch(step);
    const loss = await runStep(this.run, this.options, step, images, labels);
    if (!Number.isFinite(loss)) throw new Error(`loss is ${loss} at step ${step + 1}; stopping. Try a lower learning rate or a larger tau.`);
    this.step++;
    return loss;
  }

  /**
   * The loss of step `step`'s batch and random draws (views, boxes, partners) under the current
   * parameters, changing nothing (no update, BatchNorm running statistics untouched). Replaying
   * step 0 after some training shows whether the loss fell on exactly the same inputs.
   */
  async replayLoss(step = 0): Promise<number> {
    const { images, labels } = this.batch(step);
    const loss = this.model.withFrozenRunningStats(() => scope(() => this.stepper.loss(images, labels, new Rng(stepSeed(this.options.seed, step)))));
    try {
      return await loss.item();
    } finally {
      loss.dispose();
    }
  }

  /** Frees the model's and the optimiser's GPU memory. */
  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
