// Training objectives.
export * from './contrastive.js';
