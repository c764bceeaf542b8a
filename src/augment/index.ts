// GPU augmentation: seeded per-image parameters (host) and the views/eval kernels.
export {
  sampleCrop, sampleView, sampleViews, wholeImageViews, packViews, checkViews, checkConfig, jitterRange,
  MNIST_AUGMENT, CIFAR_AUGMENT, AUGMENT_PRESETS, augmentPreset, PARAMS_PER_VIEW,
  type CropBox, type JitterOp, type JitterStep, type ViewParams, type JitterAmount, type ColorJitterConfig, type AugmentConfig, type AugmentPreset,
} from './params.js';
export { augmentViews, resizeNormalize, Augmentation, type ViewsOutput } from './augment.js';
