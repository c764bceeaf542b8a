// Open-set recognition: portable.ts's browser-safe part and the Node side (results.json and its
// plots written to a folder, the recogniser stored in and loaded from a checkpoint file, predictions
// for image files, out-of-distribution detection over the on-disk data sets).
export * from './portable.js';
// SVG plots: report code, which pages load lazily (src/browser/lazy.ts loadPlots).
export { rocPoints, rocSvg, histogramSvg, niceTicks, scoreAxisLabel, scoreName } from './plots.js';
export { METRIC_LABELS, metricsTable, writeEvaluation } from './report.js';
export { storeOpenSetModel, loadOpenSetModel, predictFiles } from './open-set-file.js';
export {
  OOD_METRIC_LABELS,
  RESIZE_RULES,
  convertImages,
  oodMetrics,
  scoreOutOfDistribution,
  evaluateOutOfDistribution,
  type OodMetrics,
  type ResizeRule,
  type OodScoreOptions,
  type OodScores,
  type OodSet,
  type OodEvaluateOptions,
  type OodSetResult,
  type OodEvaluation,
} from './ood.js';
