// What only a page needs: WebGPU from navigator.gpu with a clear reason when it is missing,
// mnist-mini over HTTP, a step-at-a-time training session, attribution panels drawn on a canvas,
// models from a URL or dropped bytes, and a subsampled open-set evaluation; what only some pages
// run (panels, plots, Attentive CutMix) is loaded on first use.
export { webGpuProblem, initBrowserGpu, onGpuLost, releasePooledMemory } from './gpu.js';
export { fetchMnistMini } from './fetch-mnist-mini.js';
export { TrainingSession } from './session.js';
export { drawPanels } from './panels.js';
export { modelFromCheckpoint, fetchModel, type PageModel } from './model-file.js';
export { loadPanels, loadPlots } from './lazy.js';
export { attentionModelFromBytes } from './attention-model.js';
export { evaluateSubsample, subsampleOpenSet, type SubsampleSizes } from './evaluate.js';
