// Linear probing (paper section 4.5): the encoder is frozen, its pooled features (before the
// projection head, not L2-normalised by default) of the unaugmented train and test images are
// computed once and cached on the GPU, standardised, and a Linear classifier (no BatchNorm, no
// hidden layer) is trained on them with cross-entropy and Adam under a cosine schedule; top-1 and
// top-5 accuracy on the test features. A cheaper variant of the linear evaluation of SimCLR, MoCo
// and SupContrast's main_linear.py, not the same protocol: those train with SGD on features of
// freshly augmented images every epoch, so their accuracies are not directly comparable to these.
// Standardisation uses the training features' per-dimension mean and standard deviation: an
// affine change of variables, so the classifier is still a linear function of the raw features,
// and a few epochs of Adam converge whatever the features' scale. A dimension with no train spread
// (a ReLU channel dead on every train image) is set to 0 instead: its weight never learns, and
// dividing by a tiny epsilon would let a small test value there (0.01 -> 1e4) decide predictions
// by that untrained random weight.
import { extractFeatures } from '../osr/features.js';
import { noGrad, backward } from '../autograd.js';
import { tensor } from '../creation.js';
import { scope, keep } from '../scope.js';
import * as ops from '../ops/index.js';
import type { ViewsOutput } from '../augment/index.js';
import { epochOrder, type Dataset } from '../data/index.js';
import { Linear, type SupConResNet } from '../nn/index.js';
import { Adam, cosineLr } from '../optim/index.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';

export type ProbeFeatures = 'raw' | 'l2';

export interface ProbeOptions {
  epochs: number;
  batchSize: number;
  /** Adam's initial learning rate (cosine-annealed to 0 over the run). */
  lr: number;
  weightDecay: number;
  seed: number;
  /** 'raw' pooled encoder features (default) or L2-normalised ones (as the kNN scoring uses). */
  features: ProbeFeatures;
}

export const DEFAULT_PROBE: ProbeOptions = { epochs: 30, batchSize: 256, lr: 1e-2, weightDecay: 0, seed: 0, features: 'raw' };

export interface ProbeResult {
  /** Test accuracy, fractions in [0, 1]. */
  top1: number;
  top5: number;
  /** The k of "top-5": min(5, classes). */
  topK: number;
  trainTop1: number;
  numClasses: number;
  trainImages: number;
  testImages: number;
  /** Mean training loss of each epoch. */
  losses: number[];
}

/**
 * Fraction of rows whose label is among the k largest of its logits [N, C] (row-major). Ties
 * are broken towards the lower class index, so a row of equal logits ranks its label by index.
 */
export function topKAccuracy(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, k: number): number {
  const n = labels.length;
  if (logits.length !== n * numClasses) throw new Error(`topKAccuracy: ${logits.length} logits for ${n} rows of ${numClasses} classes`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`topKAccuracy: k must be a positive integer, got ${k}`);
  if (n === 0) throw new Error('topKAccuracy: no rows');
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < numClasses)) throw new Error(`topKAccuracy: label ${y} of row ${i} is outside 0..${numClasses - 1}`);
    const row = i * numClasses;
    const mine = logits[row + y];
    let rank = 0;
    for (let c = 0; c < numClasses; c++) {
      const v = logits[row + c];
      if (v > mine || (v === mine && c < y) || Number.isNaN(v)) rank++;
    }
    if (rank < k && !Number.isNaN(mine)) hits++;
  }
  return hits / n;
}

/** Frozen encoder features [N, D] of every image of ds (eval mode, unaugmented), raw or L2-normalised. */
export function encoderFeatures(model: SupConResNet, ds: Dataset, transform: ViewsOutput, options: { batchSize?: number; features?: ProbeFeatures } = {}): Promise<Tensor> {
  return extractFeatures(model, ds, transform, { batchSize: options.batchSize, kind: 'encoder', normalize: options.features === 'l2' });
}

/** A train spread below this fraction of the median spread of the varying dimensions counts as none (float32 rounding of a constant). */
const NEGLIGIBLE_SPREAD = 1e-4;

/** 1 / std of each dimension, 0 for one whose std is 0 or negligible next to the median std of the dimensions that vary. */
export function inverseSpread(std: ArrayLike<number>): Float32Array {
  const varying = Float64Array.from(std)
    .filter((s) => s > 0)
    .sort();
  const floor = varying.length > 0 ? NEGLIGIBLE_SPREAD * varying[varying.length >> 1] : Infinity;
  return Float32Array.from(std, (s) => (s > floor ? 1 / s : 0));
}

/** Both feature sets standardised column-wise with the train features' mean and std; dimensions without train spread become 0. */
async function standardise(train: Tensor, test: Tensor): Promise<[Tensor, Tensor]> {
  const [mean, std] = noGrad(() =>
    scope(() => {
      const mean = ops.mean(train, 0, true);
      return [mean, ops.sqrt(ops.mean(ops.square(ops.sub(train, mean)), 0, true))];
    }),
  );
  try {
    const scale = inverseSpread(await std.data());
    return noGrad(() =>
      scope(() => {
        const s = tensor(scale, std.shape);
        return [ops.mul(ops.sub(train, mean), s), ops.mul(ops.sub(test, mean), s)];
      }),
    );
  } finally {
    mean.dispose();
    std.dispose();
  }
}

/** Logits of features in chunks, read back to the host. */
async function predict(classifier: Linear, x: Tensor, chunk = 4096): Promise<Float32Array> {
  const [n] = x.shape;
  const c = classifier.weight.shape[0];
  const out = new Float32Array(n * c);
  for (let start = 0; start < n; start += chunk) {
    const logits = noGrad(() => scope(() => classifier.call(ops.slice(x, 0, start, Math.min(n, start + chunk)))));
    out.set(await logits.data(), start * c);
    logits.dispose();
  }
  return out;
}

/**
 * Trains a linear classifier on cached features (train [N, D] with labels 0..C-1) and measures
 * top-1 / top-5 accuracy on the test features. The feature tensors are not disposed.
 */
export async function trainLinearProbe(
  train: { features: Tensor; labels: Int32Array },
  test: { features: Tensor; labels: Int32Array },
  numClasses: number,
  given: Partial<ProbeOptions> = {},
): Promise<ProbeResult> {
  const o = { ...DEFAULT_PROBE, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  const [n, d] = train.features.shape;
  if (train.features.rank !== 2 || n !== train.labels.length) throw new Error(`linear probe: ${train.labels.length} train labels for features of shape [${train.features.shape.join(', ')}]`);
  if (test.features.rank !== 2 || test.features.shape[1] !== d || test.features.shape[0] !== test.labels.length) {
    throw new Error(`linear probe: test features [${test.features.shape.join(', ')}] with ${test.labels.length} labels do not match the train features' ${d} dimensions`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`linear probe: needs at least 2 classes, got ${numClasses}`);
  if (n === 0 || test.labels.length === 0) throw new Error(`linear probe: needs train and test samples, got ${n} and ${test.labels.length}`);
  for (const [what, labels] of [
    ['train', train.labels],
    ['test', test.labels],
  ] as const) {
    const bad = labels.findIndex((l) => !(l >= 0 && l < numClasses));
    if (bad >= 0) throw new Error(`linear probe: ${what} label ${labels[bad]} (sample ${bad}) is outside 0..${numClasses - 1}`);
  }
  for (const [name, v] of [
    ['epochs', o.epochs],
    ['batchSize', o.batchSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`linear probe: ${name} must be a positive integer, got ${v}`);
  }
  // Everything made for the run is freed in the finally, also when a later part fails (a bad
  // weight decay in Adam, a lost device).
  const owned: { dispose(): void }[] = [];
  const own = <T extends { dispose(): void }>(x: T): T => {
    owned.push(x);
    return x;
  };
  try {
    const [xTrain, xTest] = keep(await standardise(train.features, test.features)).map(own);
    const classifier = own(new Linear(d, numClasses, new Rng(o.seed)));
    const optimizer = own(new Adam(classifier.parameters(), { lr: o.lr, weightDecay: o.weightDecay }));
    const labelsT = own(tensor(train.labels, [n], { dtype: 'int32' }));
    const steps = Math.ceil(n / o.batchSize);
    const losses: number[] = [];
    // Not src/train/step-skeleton.ts's optimizerStep: that awaits every step's loss, while these
    // steps are tiny and read their losses once an epoch, so their GPU work queues up without a
    // wait (per-step readback measured 2-3x slower on lavapipe). The classifier is never saved,
    // so the finite-state guard that skeleton carries has nothing here to protect.
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = epochOrder(n, o.seed, epoch);
      const epochLosses: Tensor[] = [];
      for (let s = 0; s < steps; s++) {
        optimizer.lr = cosineLr(epoch * steps + s, o.epochs * steps, o.lr, 0);
        const rows = order.subarray(s * o.batchSize, Math.min(n, (s + 1) * o.batchSize));
        epochLosses.push(
          scope(() => {
            const idx = tensor(rows, [rows.length], { dtype: 'int32' });
            const loss = ops.crossEntropy(classifier.call(ops.indexSelect(xTrain, 0, idx)), ops.indexSelect(labelsT, 0, idx), 'sum');
            backward(ops.divScalar(loss, rows.length));
            optimizer.step();
            optimizer.zeroGrad();
            return loss;
          }),
        );
      }
      let total = 0;
      for (const l of epochLosses) {
        total += await l.item();
        l.dispose();
      }
      losses.push(total / n);
    }
    const trainLogits = await predict(classifier, xTrain);
    const testLogits = await predict(classifier, xTest);
    const topK = Math.min(5, numClasses);
    return {
      top1: topKAccuracy(testLogits, test.labels, numClasses, 1),
      top5: topKAccuracy(testLogits, test.labels, numClasses, topK),
      topK,
      trainTop1: topKAccuracy(trainLogits, train.labels, numClasses, 1),
      numClasses,
      trainImages: n,
      testImages: test.labels.length,
      losses,
    };
  } finally {
    for (const x of owned) x.dispose();
  }
}

/** Features of a frozen model's encoder for a labelled train and test set, then trainLinearProbe. */
export async function linearProbe(
  model: SupConResNet,
  data: { train: Dataset; test: Dataset; numClasses: number },
  transform: ViewsOutput,
  options: Partial<ProbeOptions> & { extractBatch?: number } = {},
): Promise<ProbeResult> {
  const kind = options.features ?? DEFAULT_PROBE.features;
  const trainF = await encoderFeatures(model, data.train, transform, { batchSize: options.extractBatch, features: kind });
  let testF: Tensor | undefined;
  try {
    testF = await encoderFeatures(model, data.test, transform, { batchSize: options.extractBatch, features: kind });
    return await trainLinearProbe({ features: trainF, labels: data.train.labels }, { features: testF, labels: data.test.labels }, data.numClasses, options);
  } finally {
    trainF.dispose();
    testF?.dispose();
  }
}
