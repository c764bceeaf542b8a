// Corruption robustness (paper section 4.4): portable.ts's corruption definitions and plans, and
// the Node side: corrupting data sets on the GPU, the published CIFAR-10-C / Tiny-ImageNet-C files,
// the paper's robustness evaluation and its picture.
export * from './portable.js';
export { NpyFile, parseNpyHeader, encodeNpy, type NpyHeader } from './npy.js';
export { loadCorruptedSet, corruptedLayout, corruptionsIn, type CorruptedFilesOptions, type CorruptedLayout } from './corrupted-files.js';
export {
  evaluateRobustness,
  summariseRobustness,
  robustnessTable,
  generatedSource,
  filesSource,
  type CorruptedSource,
  type RobustnessOptions,
  type RobustnessResult,
  type RobustnessSummary,
} from './robustness.js';
export { renderCorruptionGrid, writeCorruptionGrid, type CorruptionGrid } from './picture.js';
