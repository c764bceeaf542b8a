// The part of src/train without file access, for Node and browsers alike: options, one training
// step (objective, mixing, the shared skeleton), the run's set-up and the typed run
// configuration. index.ts adds the attribution panels' code, the Node training loop, pictures on
// disk and the train-then-evaluate flow.
export { stepSeed, limitTrainSet, checkpointFingerprint, setUpRun, runStep, type TrainingRun } from './training-run.js';
export { defaultOptions, resolveOptions, mixingConfig, lastBlockLayers, METHODS, FILLS, type TrainOptions, type Method, type Fill } from './options.js';
export { TrainStep, type StepOptions } from './step.js';
export { optimizerStep, type StepResult, type StepGraph } from './step-skeleton.js';
export { mixedTerm, attribution, recordActivations, type MixingConfig, type MixingTarget, type MixingInput, type MixingResult } from './mixing.js';
// The attribution panels' code is in index.ts (pages load it lazily: src/browser/lazy.ts loadPanels).
export type { AttributionPanels, PanelOptions } from './panels.js';
export type { RgbaImage, PanelCaption, PanelLayout } from './panel-image.js';
export { OBJECTIVES, createObjective, simclrTarget, hasSsl, usesClassifier, type Objective, type TrainingObjective, type ObjectiveBatch, type ObjectiveWeights } from './objectives.js';
export { runConfigOf, type RunConfig } from './run-config.js';
