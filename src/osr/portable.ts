// Open-set recognition without file access, for Node and browsers alike: GPU kNN scoring, the
// metrics, features, the evaluation, the recogniser (OpenSetModel) and scores. index.ts adds the
// scores' SVG plots (report code), results files, recogniser files and out-of-distribution data.
export { scoreOpenSet, MAX_K, type OpenSetScoreOptions, type OpenSetScores } from './knn.js';
export { openSetMetrics, auroc, tnrAtTpr, thresholdAtTpr, detectionAccuracy, averagePrecisionIn, averagePrecisionOut, closedSetAccuracy, oscr, type OpenSetMetrics } from './metrics.js';
export { extractFeatures, type FeatureKind } from './features.js';
export { OpenSetModel, type OpenSetPrediction, type OpenSetSettings, type ImageBatch, type CalibrateOptions } from './open-set-model.js';
export { evaluateOpenSet, type EvaluateOptions, type Evaluation } from './evaluate.js';
export type { Ticks } from './plots.js';
export { SCORES, softmaxScores, fitNno, scoreNno, scoreTestSets, checkScore, needsClassifier, type ScoreKind, type NnoModel, type NnoOptions, type TestScores } from './scores.js';
export { intrinsicDimension } from './intrinsic-dim-entry.js';
export { twoNNFit } from './two-nn.js';
export type { IntrinsicDim, IntrinsicDimOptions } from './intrinsic-dim.js';
