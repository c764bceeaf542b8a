// Checkpoints: the .safetensors format (bytes in/out, browser-safe), the training-checkpoint
// layout on top of it, the model a checkpoint describes, torchvision ResNet state dicts, and Node
// file helpers (atomic writes).
export * from './safetensors.js';
export * from './checkpoint.js';
export * from './model-from-checkpoint.js';
export * from './files.js';
export * from './torchvision.js';
export * from './torchvision-file.js';
