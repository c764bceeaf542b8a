// Open-set recognition: GPU kNN scoring and the evaluation metrics.
export { scoreOpenSet, MAX_K, type OpenSetScoreOptions, type OpenSetScores } from './knn.js';
export {
  openSetMetrics,
  auroc,
  tnrAtTpr,
  thresholdAtTpr,
  detectionAccuracy,
  averagePrecisionIn,
  averagePrecisionOut,
  closedSetAccuracy,
  oscr,
  type OpenSetMetrics,
} from './metrics.js';
export { extractFeatures, type FeatureKind } from './features.js';
export { OpenSetModel, type OpenSetPrediction, type OpenSetSettings, type ImageBatch, type CalibrateOptions } from './open-set-model.js';
export { evaluateOpenSet, type EvaluateOptions, type Evaluation } from './evaluate.js';
export { rocPoints, rocSvg, histogramSvg, niceTicks, scoreAxisLabel, scoreName, type Ticks } from './plots.js';
export { SCORES, softmaxScores, fitNno, scoreNno, scoreTestSets, checkScore, needsClassifier, type ScoreKind, type NnoModel, type NnoOptions, type TestScores } from './scores.js';
export { intrinsicDimension, twoNNFit, type IntrinsicDim, type IntrinsicDimOptions } from './intrinsic-dim.js';
