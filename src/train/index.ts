// Training: portable.ts's browser-safe part and the Node side (the epoch loop with checkpoints and
// logs, pictures on disk, train-then-evaluate, the run folder's saved configuration).
export * from './portable.js';
export { attributionPanels } from './panels.js';
export { renderPanels, panelColumns, panelTitle, panelLayout, viridis, PANEL_COLUMNS } from './panel-image.js';
export { train, CHECKPOINT_FILE, LOG_FILE, type TrainResult, type TrainHooks, type EpochLog } from './train.js';
export { writePictures, renderGrid } from './pictures.js';
export { trainAndEvaluate, type TrainAndEvaluateOptions, type TrainAndEvaluateResult } from './train-and-evaluate.js';
export { storeRecogniser, recogniserLines, runContext, type RecogniserOptions } from './recogniser.js';
export { summarise, PAPER_AUROC } from './split-summary.js';
export { readRunConfig, type SavedRunConfig } from './run-config-file.js';
