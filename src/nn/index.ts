export { Module, type ForwardHook } from './module.js';
export { Conv2d, BatchNorm2d, Linear, ReLU, Sequential, syncBatchCounts, type Conv2dOptions, type BatchNormOptions } from './layers.js';
export { BasicBlock, ResNet, SupConResNet, type ResNetOptions, type SupConResNetOptions } from './resnet.js';
export { TorchvisionResNet, type TorchvisionResNetOptions } from './torchvision-resnet.js';
