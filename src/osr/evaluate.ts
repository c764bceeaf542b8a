// Open-set evaluation of a trained model on a protocol split (SPEC.md section 6): features of the
// known training images and of the known + unknown test images, kNN scores, and the metrics.
import type { ViewsOutput } from '../augment/index.js';
import type { OpenSetData } from '../data/index.js';
import type { SupConResNet } from '../nn/index.js';
import { extractFeatures, type FeatureKind } from './features.js';
import { scoreOpenSet } from './knn.js';
import { openSetMetrics, type OpenSetMetrics } from './metrics.js';

export interface EvaluateOptions {
  k?: number;
  batchSize?: number;
  features?: FeatureKind;
}

export interface Evaluation {
  metrics: OpenSetMetrics;
  /** Per test sample (known first, then unknown): score, predicted class, true label (-1 unknown). */
  scores: Float32Array;
  predicted: Int32Array;
  labels: Int32Array;
  isKnown: Uint8Array;
  counts: { train: number; testKnown: number; testUnknown: number };
}

export async function evaluateOpenSet(model: SupConResNet, data: OpenSetData, transform: ViewsOutput, options: EvaluateOptions = {}): Promise<Evaluation> {
  const { k = 3, batchSize = 256, features = 'encoder' } = options;
  const { train, testKnown, testUnknown } = data;
  if (testKnown.n === 0 || testUnknown.n === 0) {
    throw new Error(`evaluation needs known and unknown test images; got ${testKnown.n} known and ${testUnknown.n} unknown`);
  }
  const trainF = await extractFeatures(model, train, transform, { batchSize, kind: features });
  const knownF = await extractFeatures(model, testKnown, transform, { batchSize, kind: features });
  const unknownF = await extractFeatures(model, testUnknown, transform, { batchSize, kind: features });
  const numClasses = data.knownClasses.length;
  try {
    const known = await scoreOpenSet(trainF, train.labels, knownF, { k, numClasses });
    const unknown = await scoreOpenSet(trainF, train.labels, unknownF, { k, numClasses });
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
    return { metrics, scores, predicted, labels, isKnown, counts: { train: train.n, testKnown: testKnown.n, testUnknown: testUnknown.n } };
  } finally {
    trainF.dispose();
    knownF.dispose();
    unknownF.dispose();
  }
}
