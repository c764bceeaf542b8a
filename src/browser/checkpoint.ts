// Checkpoints in a page: src/checkpoint without files.ts (Node file reads and atomic writes).
// Bytes come from fetch() or a dropped File and go out as a Blob.
export * from '../checkpoint/safetensors.js';
export * from '../checkpoint/checkpoint.js';
