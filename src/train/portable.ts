// The part of src/train without file access, for Node and browsers alike: options, one training
// step (objective, mixing, the shared skeleton), the run's set-up, the attribution panels and the
// typed run configuration. index.ts adds the Node training loop, pictures on disk and the
// train-then-evaluate flow.
export { stepSeed, limitTrainSet, checkpointFingerprint, setUpRun, runStep, type TrainingRun } from './training-run.js';
export { defaultOptions, resolveOptions, mixingConfig, lastBlockLayers, METHODS, FILLS, type TrainOptions, type Method, type Fill } from './options.js';
export { TrainStep, type StepOptions } from './step.js';
export { optimizerStep, type StepResult, type StepGraph } from './step-skeleton.js';
export { mixedTerm, attribution, recordActivations, type MixingConfig, type MixingTarget, type MixingInput, type MixingResult } from './mixing.js';
export { attributionPanels, type AttributionPanels, type PanelOptions } from './panels.js';
export { renderPanels, panelColumns, panelTitle, panelLayout, viridis, PANEL_COLUMNS, type RgbaImage, type PanelCaption, type PanelLayout } from './panel-image.js';
export { OBJECTIVES, createObjective, simclrTarget, hasSsl, usesClassifier, type Objective, type TrainingObjective, type ObjectiveBatch, type ObjectiveWeights } from './objectives.js';
export { runConfigOf, type RunConfig } from './run-config.js';
