// The engine's API without anything that needs Node: the runtime, tensors and autograd, every op,
// the models, losses and optimisers, augmentation and GradMix, and each folder's portable barrel
// (its part without file access). The package entry (index.ts) adds the folders' Node barrels; the
// browser entry (browser.ts) adds what only a page needs. Pre-training (ssl/) and corruptions
// (corrupt/) have portable barrels too, left to the package entry: their kernels would add some
// 39 KiB to every page, which runs neither.
export { initGpu, destroyGpu, gpu, grid, GpuError, type Gpu } from '../runtime/gpu.js';
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
export * from './osr/portable.js';
export * from './data/portable.js';
export * from './train/portable.js';
// Checkpoints as a namespace (checkpoint.encodeSafetensors, ...), the common calls also by name.
export * as checkpoint from './checkpoint/portable.js';
export { encodeCheckpoint, decodeCheckpoint, applyCheckpoint, modelFromDecoded, type Checkpoint, type DecodedCheckpoint, type LoadedModel } from './checkpoint/portable.js';
