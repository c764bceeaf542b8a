// A training run in a page: the loop of src/train/train.ts (same options and defaults, training
// subset, batch order, per-step seeds, cosine schedule, model, Adam and TrainStep), one step per
// call, so a page can yield to the event loop between steps, draw, and stop at any time. The same
// seed and options give the same first-step loss as `gradmix train` (test/browser.test.ts checks
// it). train.ts itself cannot run here: it writes checkpoints and logs with node:fs.
import { Rng } from '../random.js';
import { scope } from '../scope.js';
import { BatchNorm2d, SupConResNet } from '../nn/index.js';
import { Adam, cosineLr } from '../optim/index.js';
import { TrainStep } from '../train/step.js';
import { resolveOptions, type TrainOptions } from '../train/options.js';
import { usesClassifier } from '../train/objectives.js';
import { batchesPerEpoch, epochOrder, gatherBatch } from '../data/batches.js';
import { subsetDataset, type Dataset } from '../data/dataset.js';
import { protocolInfo, type OpenSetData } from '../data/open-set.js';

/** train.ts's seed for (seed, step): a resumed or re-run step draws exactly the same numbers. */
export function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(step + 1, 0x85ebca6b)) >>> 0;
}

/** train.ts's training subset: the first maxTrain images of a seeded permutation, in data set order. */
export function limitTrainSet(ds: Dataset, maxTrain: number, seed: number): Dataset {
  if (maxTrain === 0 || maxTrain >= ds.n) return ds;
  return subsetDataset(ds, epochOrder(ds.n, seed, -1).slice(0, maxTrain).sort());
}

export class TrainingSession {
  readonly options: TrainOptions;
  readonly model: SupConResNet;
  readonly optimizer: Adam;
  readonly stepper: TrainStep;
  /** The training images in use (after maxTrain). */
  readonly trainSet: Dataset;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private readonly dropLast: boolean;
  /** Steps done so far. */
  step = 0;
  private order: { epoch: number; indices: Int32Array } | null = null;

  constructor(readonly data: OpenSetData, given: Partial<TrainOptions> = {}) {
    const o = resolveOptions({ ...given, protocol: given.protocol ?? data.protocol, split: given.split ?? data.split });
    this.options = o;
    const info = protocolInfo(o.protocol);
    this.trainSet = limitTrainSet(data.train, o.maxTrain, o.seed);
    if (this.trainSet.n < 2) throw new Error(`${o.protocol} split ${o.split}: ${this.trainSet.n} training image(s); contrastive training needs at least 2`);
    // As in train.ts: a last batch of one image has no negatives, so it is dropped.
    this.dropLast = this.trainSet.n % o.batchSize === 1;
    this.stepsPerEpoch = batchesPerEpoch(this.trainSet.n, o.batchSize, this.dropLast);
    this.totalSteps = this.stepsPerEpoch * o.epochs;
    const numClasses = usesClassifier(o.objective) ? data.knownClasses.length : undefined;
    this.model = new SupConResNet(new Rng(o.seed), { arch: o.arch, width: o.width, inChannels: info.channels, numClasses });
    this.model.train();
    this.optimizer = new Adam(this.model.parameters(), { lr: o.lr });
    this.stepper = new TrainStep(this.model, o, info.augmentation, this.trainSet);
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
    const o = this.options;
    const step = this.step;
    const { images, labels } = this.batch(step);
    this.optimizer.lr = cosineLr(step, this.totalSteps, o.lr, o.lrMin);
    const loss = await this.stepper.run(images, labels, this.optimizer, new Rng(stepSeed(o.seed, step)));
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
    const bns = [...this.model.modules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
    bns.forEach((m) => (m.updateRunningStats = false));
    try {
      const loss = scope(() => this.stepper.loss(images, labels, new Rng(stepSeed(this.options.seed, step))));
      const value = await loss.item();
      loss.dispose();
      return value;
    } finally {
      bns.forEach((m) => (m.updateRunningStats = true));
    }
  }

  /** Frees the model's and the optimiser's GPU memory. */
  dispose(): void {
    this.stepper.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}
