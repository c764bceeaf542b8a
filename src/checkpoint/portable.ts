// Checkpoints without file access, for Node and browsers alike: the .safetensors format (bytes in
// and out), the training-checkpoint layout on top of it, the model a checkpoint describes, and
// torchvision ResNet state dicts. index.ts adds the Node file helpers (atomic writes).
export * from './safetensors.js';
export * from './checkpoint.js';
export * from './model-from-checkpoint.js';
export * from './torchvision.js';
