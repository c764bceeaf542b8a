// The package entry: the engine's public API.
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
export * from './optim/index.js';
export * as checkpoint from './checkpoint/index.js';
export { saveCheckpoint, loadCheckpoint, readCheckpoint, encodeCheckpoint, decodeCheckpoint, type Checkpoint, type DecodedCheckpoint } from './checkpoint/index.js';
export * from './osr/index.js';
export * from './data/index.js';
export * from './losses/index.js';
export * from './augment/index.js';
export * from './gradmix/index.js';
