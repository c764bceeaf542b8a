export { train, CHECKPOINT_FILE, LOG_FILE, type TrainResult, type TrainHooks, type EpochLog } from './train.js';
export { stepSeed, limitTrainSet, checkpointFingerprint, setUpRun, runStep, type TrainingRun } from './training-run.js';
export { defaultOptions, resolveOptions, METHODS, FILLS, type TrainOptions, type Method, type Fill } from './options.js';
export { TrainStep } from './step.js';
export { mixedTerm, attribution, type MixingInput, type MixingResult } from './mixing.js';
export { writePictures, renderGrid } from './pictures.js';
export { attributionPanels, type AttributionPanels, type PanelOptions } from './panels.js';
export { renderPanels, viridis, PANEL_COLUMNS } from './panel-image.js';
export { OBJECTIVES, objectiveLoss, hasSsl, usesClassifier, type Objective, type ObjectiveLoss } from './objectives.js';
