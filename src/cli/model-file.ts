// A model from a checkpoint file: the file read with node:fs, the model built as
// src/checkpoint/model-from-checkpoint.ts describes (shared with the browser).
import { readCheckpoint } from '../checkpoint/index.js';
import { modelFromDecoded, type LoadedModel } from '../checkpoint/model-from-checkpoint.js';

export async function loadModelFile(file: string, given: { width?: number; inChannels?: number } = {}): Promise<LoadedModel> {
  return modelFromDecoded(await readCheckpoint(file), file, given);
}
