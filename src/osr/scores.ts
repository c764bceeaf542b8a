// Open-set scores beyond kNN (paper Table 1); in each, a higher score means "more known".
// - msp:     maximum softmax probability of the classifier, max_c p_c.
// - entropy: negative softmax entropy, sum_c p_c log p_c (0 for a one-hot p, -log K for uniform).
//   Both need the linear classifier of a ce objective; predicted class = argmax_c p_c.
// - nno:     minus the Mahalanobis distance to the closest class mean (src/osr/nno.ts).
// NNO here uses the same L2-normalised encoder features as kNN.
import { noGrad } from '../autograd.js';
import { scope } from '../scope.js';
import * as ops from '../ops/index.js';
import type { ViewsOutput } from '../augment/index.js';
import type { Dataset } from '../data/dataset.js';
import type { SupConResNet } from '../nn/index.js';
import { Tensor } from '../tensor.js';
import { extractFeatures } from './features.js';
import { matrixShape, scoreOpenSet } from './knn.js';
import type { NnoModel, NnoOptions } from './nno.js';

export type { NnoModel, NnoOptions } from './nno.js';

export const SCORES = ['knn', 'msp', 'entropy', 'nno'] as const;
export type ScoreKind = (typeof SCORES)[number];

/** Whether the score reads the classifier's logits (ce objectives only). */
export function needsClassifier(kind: ScoreKind): boolean {
  return kind === 'msp' || kind === 'entropy';
}

/** Throws a clear error when the score cannot be computed for this model (check before extracting features). */
export function checkScore(kind: ScoreKind, model: SupConResNet): void {
  if (!(SCORES as readonly string[]).includes(kind)) throw new Error(`unknown score '${kind}'; use one of ${SCORES.join(', ')}`);
  if (needsClassifier(kind) && !model.classifier) {
    throw new Error(`score '${kind}' needs a classifier (classifier.weight), which this model lacks: train with --objective ce or ce+ssl, or use --score knn or nno`);
  }
}

export interface TestScores {
  /** Known-ness per test sample, [N]. */
  scores: Float32Array;
  /** Predicted known class per test sample, [N]. */
  predicted: Int32Array;
}

/** msp, negative entropy and argmax of softmax(logits) per row; logits [N, K]. */
export async function softmaxScores(logits: Tensor): Promise<{ msp: Float32Array; negEntropy: Float32Array; predicted: Int32Array }> {
  matrixShape('softmaxScores', 'logits', logits);
  const [msp, negEntropy, predicted] = scope(() =>
    noGrad(() => {
      const p = ops.softmax(logits, 1);
      // logSoftmax stays finite where p underflows to 0, so p log p is 0 there, not NaN.
      const plogp = ops.mul(p, ops.logSoftmax(logits, 1));
      const { values, indices } = ops.max(p, 1);
      return [values, ops.sum(plogp, 1), indices];
    }),
  );
  try {
    return {
      msp: (await msp.data()) as Float32Array,
      negEntropy: (await negEntropy.data()) as Float32Array,
      predicted: (await predicted.data()) as Int32Array,
    };
  } finally {
    msp.dispose();
    negEntropy.dispose();
    predicted.dispose();
  }
}

/** NNO's fit (src/osr/nno.ts), loaded on first use: pages rarely score with it (test/bundle-size). */
export async function fitNno(trainFeatures: Tensor, trainLabels: ArrayLike<number>, numClasses: number, options: NnoOptions = {}): Promise<NnoModel> {
  return (await import('../optional-code.js')).fitNno(trainFeatures, trainLabels, numClasses, options);
}

/** NNO scores (minus the Mahalanobis distance to the closest class mean) and the closest class (first on ties). */
export async function scoreNno(nno: NnoModel, testFeatures: Tensor): Promise<TestScores> {
  return (await import('../optional-code.js')).scoreNno(nno, testFeatures);
}

export interface ScoreContext {
  model: SupConResNet;
  transform: ViewsOutput;
  batchSize: number;
  /** kNN neighbours per class. */
  k: number;
  numClasses: number;
  /** L2-normalised encoder features and labels of the known train images. */
  train: { features: Tensor; labels: ArrayLike<number> };
  /** Test sets: their images (for the classifier's logits) and L2-normalised encoder features (knn, nno). */
  tests: { data: Dataset; features: Tensor | null }[];
  nno?: NnoOptions;
}

/** Scores and predictions of each test set by the chosen rule. */
export async function scoreTestSets(kind: ScoreKind, ctx: ScoreContext): Promise<TestScores[]> {
  checkScore(kind, ctx.model);
  const { train, tests, numClasses } = ctx;
  const features = (t: ScoreContext['tests'][number]): Tensor => {
    if (!t.features) throw new Error(`scoreTestSets: score '${kind}' needs the test sets' features`);
    return t.features;
  };
  if (kind === 'knn') {
    const out: TestScores[] = [];
    for (const t of tests) out.push(await scoreOpenSet(train.features, train.labels, features(t), { k: ctx.k, numClasses }));
    return out;
  }
  if (kind === 'nno') {
    const fitted = await fitNno(train.features, train.labels, numClasses, ctx.nno);
    const out: TestScores[] = [];
    for (const t of tests) out.push(await scoreNno(fitted, features(t)));
    return out;
  }
  const out: TestScores[] = [];
  for (const t of tests) {
    const logits = await extractFeatures(ctx.model, t.data, ctx.transform, { batchSize: ctx.batchSize, kind: 'logits' });
    try {
      const s = await softmaxScores(logits);
      out.push({ scores: kind === 'msp' ? s.msp : s.negEntropy, predicted: s.predicted });
    } finally {
      logits.dispose();
    }
  }
  return out;
}
