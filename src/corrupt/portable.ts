// The corruptions without file access, for Node and browsers alike: the 15 corruptions of Hendrycks
// & Dietterich 2019, their parameter tables, GPU plans and corrupting a data set in memory. index.ts adds the rest.
export { CORRUPTIONS, CORRUPTION_LABELS, SEVERITIES, PARAM_TABLES, SEVERITY_TABLES, severityParams, tableForSize, isCorruption, type CorruptionName, type ParamTable } from './corruptions.js';
export { corrupt, corruptDataset, type CorruptOptions, type CorruptDatasetOptions } from './corrupt.js';
export { planCorruption, type CorruptionPlan, type ImageShape, type PlanOptions } from './plans.js';
export { applyPlan } from './apply.js';
