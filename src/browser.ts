// The browser package entry: the engine's API without anything that needs Node (file loaders,
// checkpoint files, the CLI, the Node training loop), plus what a page needs instead: mnist-mini
// over HTTP, a step-at-a-time training session, attribution panels for a canvas, checkpoints from
// bytes or a URL, and a subsampled open-set evaluation. Bundled by scripts/build-browser.mjs
// (platform=browser, no Node externals) into dist/browser/gradmix.js with the kernels embedded.
export { gpu, destroyGpu, grid, GpuError, initGpu, type Gpu } from '../runtime/gpu.js';
export { NoAdapterError, type DeviceOptions } from '../runtime/device.js';
export { KernelError, registerKernelSource, kernelNames } from '../runtime/kernel-spec.js';
export type { MemoryStats } from '../runtime/buffer-pool.js';
export { Tensor, sizeOf, type Shape, type DType } from './tensor.js';
export { backward, grad, noGrad, isGradEnabled, record, type GraphNode } from './autograd.js';
export { scope, keep } from './scope.js';
export { tensor, randn, rand, type TensorOptions } from './creation.js';
export { Rng } from './random.js';
export * from './ops/index.js';
export * as nn from './nn/index.js';
export * from './losses/index.js';
export * from './optim/index.js';
export * from './augment/index.js';
export * from './gradmix/index.js';

// Open-set scoring and its pictures (src/osr without report.ts, which writes files).
export { scoreOpenSet, MAX_K, type OpenSetScoreOptions, type OpenSetScores } from './osr/knn.js';
export {
  openSetMetrics, auroc, tnrAtTpr, detectionAccuracy, averagePrecisionIn, averagePrecisionOut, closedSetAccuracy, oscr, type OpenSetMetrics,
} from './osr/metrics.js';
export { extractFeatures, type FeatureKind } from './osr/features.js';
export { evaluateOpenSet, type EvaluateOptions, type Evaluation } from './osr/evaluate.js';
export { OpenSetModel, type OpenSetPrediction, type OpenSetSettings, type ImageBatch, type CalibrateOptions } from './osr/open-set-model.js';
export { rocPoints, rocSvg, histogramSvg, niceTicks, scoreAxisLabel, scoreName, type Ticks } from './osr/plots.js';

// Checkpoints as bytes (.safetensors), without the Node file helpers.
export * as checkpoint from './browser/checkpoint.js';
export { encodeCheckpoint, decodeCheckpoint, applyCheckpoint, type Checkpoint, type DecodedCheckpoint } from './checkpoint/checkpoint.js';

// Training pieces shared with the Node CLI.
export { TrainStep } from './train/step.js';
export { mixedTerm, attribution, type MixingInput, type MixingResult } from './train/mixing.js';
export { defaultOptions, resolveOptions, lastBlockLayers, METHODS, FILLS, type TrainOptions, type Method, type Fill } from './train/options.js';

// Data: src/data without its file loaders (in-memory data sets, batches, mnist-mini's format and
// split, the open-set protocols), and mnist-mini over HTTP.
export * from './data/portable.js';
export { fetchMnistMini } from './browser/fetch-mnist-mini.js';

// What only a page needs.
export { webGpuProblem, initBrowserGpu } from './browser/gpu.js';
export { TrainingSession } from './browser/session.js';
export { stepSeed, limitTrainSet } from './train/training-run.js';
export { attributionPanels, type AttributionPanels, type PanelOptions } from './train/panels.js';
export { renderPanels, panelColumns, panelTitle, panelLayout, viridis, PANEL_COLUMNS, type RgbaImage, type PanelCaption, type PanelLayout } from './train/panel-image.js';
export { drawPanels } from './browser/panels.js';
export { modelFromDecoded, type LoadedModel } from './checkpoint/model-from-checkpoint.js';
export { modelFromCheckpoint, fetchModel, type PageModel } from './browser/model-file.js';
export { evaluateSubsample, subsampleOpenSet, type SubsampleSizes } from './browser/evaluate.js';
