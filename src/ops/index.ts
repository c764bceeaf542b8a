// Every differentiable op, by family.
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export { backward, noGrad } from '../autograd.js';
export { Tensor } from '../tensor.js';
export * from './matmul.js';
export * from './batchnorm.js';
export * from './pool.js';
export * from './normalize.js';
export * from './softmax.js';
export * from './conv.js';
export { autotuneModel, autotunePending, tuneProblem, tunedChoices, resetTunedChoices, type TunableModel, type TuneOptions, type TuneReport } from './kernel-choice.js';
