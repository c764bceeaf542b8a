// A model from a checkpoint file, in two steps so a command can check its flags against the file
// before the GPU starts: readModelFile decodes the file on the CPU (tensors, metadata, the run it
// came from), buildModel then makes the model as src/checkpoint/model-from-checkpoint.ts describes
// (shared with the browser). loadModelFile does both.
import { initGpu } from '../../runtime/gpu.js';
import { readCheckpoint, type DecodedCheckpoint } from '../checkpoint/index.js';
import { checkpointRunConfig, modelFromDecoded, type LoadedModel } from '../checkpoint/model-from-checkpoint.js';
import { PROTOCOL_NAMES, protocolInfo } from '../data/index.js';
import type { RunConfig } from '../train/run-config.js';

export interface ModelFile {
  file: string;
  decoded: DecodedCheckpoint;
  /** What the checkpoint says about the run that wrote it (empty for a PyTorch state dict). */
  run: RunConfig;
  /** Whether the model has a classifier (ce objectives): msp and entropy scores need one. */
  hasClassifier: boolean;
  /** Input channels, from encoder.conv1.weight (undefined when it is missing: buildModel then says so). */
  inChannels?: number;
}

/** Decodes a checkpoint on the CPU; errors name the file. */
export async function readModelFile(file: string): Promise<ModelFile> {
  const decoded = await readCheckpoint(file);
  const run = checkpointRunConfig(decoded) ?? {};
  return { file, decoded, run, hasClassifier: decoded.model.has('classifier.weight'), inChannels: decoded.model.get('encoder.conv1.weight')?.shape[1] };
}

/** A built-in protocol's images must have the model's input channels (an image folder's are converted to them). */
export function checkChannels(m: ModelFile, protocol: string): void {
  if (!(PROTOCOL_NAMES as readonly string[]).includes(protocol) || m.inChannels === undefined) return;
  const { channels } = protocolInfo(protocol);
  if (channels !== m.inChannels) throw new Error(`${protocol} images have ${channels} channel(s), the model takes ${m.inChannels}`);
}

/** Starts the GPU and builds the model of a decoded checkpoint; `given` width or input channels must agree with it. */
export async function buildModel(m: ModelFile, given: { width?: number; inChannels?: number } = {}): Promise<LoadedModel> {
  await initGpu();
  return modelFromDecoded(m.decoded, m.file, given);
}

export async function loadModelFile(file: string, given: { width?: number; inChannels?: number } = {}): Promise<LoadedModel> {
  return buildModel(await readModelFile(file), given);
}
