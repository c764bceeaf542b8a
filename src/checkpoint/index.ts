// Checkpoints: portable.ts's browser-safe part and the Node file helpers (reads, atomic writes,
// torchvision state dicts, from bytes or a file).
export * from './portable.js';
export * from './files.js';
export * from './torchvision.js';
export * from './torchvision-file.js';
