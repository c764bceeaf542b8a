// The package entry: the engine's public API, for Node. The portable API (src/portable.ts, also
// the browser entry's) and each folder's Node barrel: data loaders, checkpoint files, the training
// loop and train-then-evaluate, results and recogniser files, pre-training, corruption robustness.
export * from './portable.js';
// Attentive CutMix's code, which the portable API loads with its network (loadAttention).
export { attentiveCutmix, attentiveMixWith, attentivePaste, attentionGrid, attentionInput, cellOf, gridToPixels } from './gradmix/attentive-cutmix.js';
export * from './data/index.js';
// Two types share this name: the Node entry's is a decoded image file's (the browser entry's, a panel's).
export type { RgbaImage } from './data/index.js';
export * from './osr/index.js';
export * from './train/index.js';
export * from './ssl/index.js';
export * from './corrupt/index.js';
export * as checkpoint from './checkpoint/index.js';
export { saveCheckpoint, loadCheckpoint, readCheckpoint } from './checkpoint/index.js';
