// GradMix (docs/TRAINING.md sections 3 and 4): aggregated LayerCAM centres and attribution-guided mixing.
export { layerCam, MAX_CAM_LAYERS, type LayerCam, type LayerCamOptions, type CamNormalize } from './layercam.js';
export {
  gradMix,
  pastePatches,
  mixup,
  blendImages,
  cutmix,
  cutRegions,
  type PasteFill,
  type PastePlan,
  type GradMixOptions,
  type GradMixed,
  type MixupOptions,
  type Mixed,
  type BoxMixed,
} from './mix.js';
export { derangement, boxSide, sampleGamma, sampleBeta, cutmixBox, type Box } from './sampling.js';
// Attentive CutMix: its settings and types here; its code (attentive-cutmix.ts, re-exported by the
// package entry) through loadAttention, so that browser pages load it only when they use it.
export {
  loadAttention,
  ATTENTIVE_GRID,
  ATTENTIVE_TOP_K,
  ATTENTION_INPUT_SIZE,
  ATTENTION_CHUNK,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type AttentionNet,
  type AttentionModel,
  type AttentiveCutmixCode,
  type AttentiveOptions,
  type AttentiveMixed,
} from './attention.js';
