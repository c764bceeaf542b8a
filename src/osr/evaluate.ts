// Open-set evaluation of a trained model on a protocol split (docs/OPEN-SET.md): features of the
// known training images and of the known + unknown test images, kNN scores (or msp, entropy, nno:
// scores.ts), the metrics, and the TwoNN intrinsic dimension of the train features (a side metric:
// NaN, with a note, where it cannot be estimated).
import type { ViewsOutput } from '../augment/index.js';
import type { Dataset } from '../data/dataset.js';
import type { OpenSetData } from '../data/open-set.js';
import type { SupConResNet } from '../nn/index.js';
import { extractFeatures, type FeatureKind } from './features.js';
import { openSetMetrics, type OpenSetMetrics } from './metrics.js';
import { checkScore, needsClassifier, scoreTestSets, type ScoreKind } from './scores.js';
import { intrinsicDimension } from './intrinsic-dim-entry.js';
import type { Tensor } from '../tensor.js';
import { GpuError } from '../../runtime/gpu.js';

export interface EvaluateOptions {
  k?: number;
  batchSize?: number;
  features?: FeatureKind;
  /** Open-set score (default knn); msp and entropy need the model's classifier. */
  score?: ScoreKind;
  /** Hand the train features to the caller (Evaluation.trainFeatures, the caller disposes) instead of freeing them. */
  keepTrainFeatures?: boolean;
}

export interface Evaluation {
  metrics: OpenSetMetrics;
  /** Per test sample (known first, then unknown): score, predicted class, true label (-1 unknown). */
  scores: Float32Array;
  predicted: Int32Array;
  labels: Int32Array;
  isKnown: Uint8Array;
  counts: { train: number; testKnown: number; testUnknown: number };
  score: ScoreKind;
  /** TwoNN intrinsic dimension of the (L2-normalised) train features (intrinsic-dim.ts); NaN (null in results.json) where it cannot be estimated. */
  intrinsicDim: number;
  /** The train features [Ntrain, D], with keepTrainFeatures only. */
  trainFeatures?: Tensor;
}

export async function evaluateOpenSet(model: SupConResNet, data: OpenSetData, transform: ViewsOutput, options: EvaluateOptions = {}): Promise<Evaluation> {
  const { k = 3, batchSize = 256, features = 'encoder', score = 'knn', keepTrainFeatures = false } = options;
  checkScore(score, model);
  const { train, testKnown, testUnknown } = data;
  if (testKnown.n === 0 || testUnknown.n === 0) {
    throw new Error(`evaluation needs known and unknown test images; got ${testKnown.n} known and ${testUnknown.n} unknown`);
  }
  // msp and entropy read the classifier's logits (scoreTestSets) instead of the test features.
  const testFeatures = async (ds: Dataset) => (needsClassifier(score) ? null : extractFeatures(model, ds, transform, { batchSize, kind: features }));
  const numClasses = data.knownClasses.length;
  let trainF: Tensor | undefined;
  let knownF: Tensor | null = null;
  let unknownF: Tensor | null = null;
  let handedOver = false;
  try {
    trainF = await extractFeatures(model, train, transform, { batchSize, kind: features });
    knownF = await testFeatures(testKnown);
    unknownF = await testFeatures(testUnknown);
    const tests = [
      { data: testKnown, features: knownF },
      { data: testUnknown, features: unknownF },
    ];
    const [known, unknown] = await scoreTestSets(score, { model, transform, batchSize, k, numClasses, train: { features: trainF, labels: train.labels }, tests });
    const intrinsicDim = await sideIntrinsicDim(trainF);
    const n = testKnown.n + testUnknown.n;
    const scores = new Float32Array(n);
    const predicted = new Int32Array(n);
    const labels = new Int32Array(n).fill(-1);
    const isKnown = new Uint8Array(n);
    scores.set(known.scores, 0);
    scores.set(unknown.scores, testKnown.n);
    predicted.set(known.predicted, 0);
    predicted.set(unknown.predicted, testKnown.n);
    labels.set(testKnown.labels, 0);
    isKnown.fill(1, 0, testKnown.n);
    const metrics = openSetMetrics(scores, isKnown, predicted, labels);
    const counts = { train: train.n, testKnown: testKnown.n, testUnknown: testUnknown.n };
    handedOver = keepTrainFeatures;
    return { metrics, scores, predicted, labels, isKnown, counts, score, intrinsicDim, trainFeatures: handedOver ? trainF : undefined };
  } finally {
    if (!handedOver) trainF?.dispose();
    knownF?.dispose();
    unknownF?.dispose();
  }
}

/**
 * The intrinsic dimension of the train features, or NaN with a note on stderr saying why it cannot
 * be estimated (fewer than 3 train images, duplicate or non-finite features): a side metric, so
 * the open-set metrics, computed already, still stand. A GPU failure is the run's, and is thrown.
 */
async function sideIntrinsicDim(trainFeatures: Tensor): Promise<number> {
  try {
    return (await intrinsicDimension(trainFeatures)).dim;
  } catch (e) {
    if (e instanceof GpuError) throw e;
    console.error(`note: the intrinsic dimension is NaN: ${(e as Error).message}`);
    return NaN;
  }
}
