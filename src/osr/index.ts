// Open-set recognition: GPU kNN scoring and the evaluation metrics.
export { scoreOpenSet, MAX_K, type OpenSetScoreOptions, type OpenSetScores } from './knn.js';
export {
  openSetMetrics,
  auroc,
  tnrAtTpr,
  detectionAccuracy,
  averagePrecisionIn,
  averagePrecisionOut,
  closedSetAccuracy,
  oscr,
  type OpenSetMetrics,
} from './metrics.js';
