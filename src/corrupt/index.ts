// Corruption robustness (issue 9 item 3): the 15 corruptions of Hendrycks & Dietterich 2019 on the
// GPU, the published CIFAR-10-C / Tiny-ImageNet-C files, and the paper's robustness evaluation.
export {
  CORRUPTIONS, CORRUPTION_LABELS, SEVERITIES, PARAM_TABLES, SEVERITY_TABLES, severityParams, tableForSize, isCorruption,
  type CorruptionName, type ParamTable,
} from './corruptions.js';
export { corrupt, corruptDataset, type CorruptOptions, type CorruptDatasetOptions } from './corrupt.js';
export { planCorruption, type CorruptionPlan, type ImageShape, type PlanOptions } from './plans.js';
export { applyPlan } from './apply.js';
export { NpyFile, parseNpyHeader, encodeNpy, type NpyHeader } from './npy.js';
export { loadCorruptedSet, corruptedLayout, corruptionsIn, type CorruptedFilesOptions, type CorruptedLayout } from './corrupted-files.js';
export {
  evaluateRobustness, summariseRobustness, robustnessTable, generatedSource, filesSource,
  type CorruptedSource, type RobustnessOptions, type RobustnessResult, type RobustnessSummary,
} from './robustness.js';
export { renderCorruptionGrid, writeCorruptionGrid, type CorruptionGrid } from './picture.js';
