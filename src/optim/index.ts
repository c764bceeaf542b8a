// Optimisers (fused GPU updates) and learning-rate schedules.
export { Optimizer, type OptimizerState, type ParamState, type OptionValue } from './optimizer.js';
export { Adam, type AdamOptions } from './adam.js';
export { SGD, type SgdOptions } from './sgd.js';
export { cosineLr, CosineSchedule, type CosineScheduleOptions, type HasLr } from './schedule.js';
