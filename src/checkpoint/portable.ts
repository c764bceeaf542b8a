// Checkpoints without file access, for Node and browsers alike: the .safetensors format (bytes in
// and out), the training-checkpoint layout on top of it and the model a checkpoint describes.
// index.ts adds torchvision ResNet state dicts (browser-safe, but only Attentive CutMix reads them:
// pages import torchvision.ts lazily) and the Node file helpers (atomic writes).
export * from './safetensors.js';
export * from './checkpoint.js';
export * from './model-from-checkpoint.js';
