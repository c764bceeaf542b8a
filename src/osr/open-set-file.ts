// The open-set recogniser in a checkpoint file (Node): written into the training checkpoint after
// the evaluation, so `gradmix predict --checkpoint <run>/checkpoint.safetensors` finds it, and read
// back with its model; predictions for image files. The checkpoint's other tensors and metadata
// are kept as they are.
import { initGpu } from '../../runtime/gpu.js';
import { checkFinite, decodeCheckpoint, decodeSafetensors, readCheckpoint, readCheckpointBytes, toFloat32, writeSafetensors } from '../checkpoint/index.js';
import type { HostTensor } from '../checkpoint/safetensors.js';
import { stat } from 'node:fs/promises';
import { decodeImageFiles, listImageFiles } from '../data/image-folder.js';
import { fitToInput } from './fit-input.js';
import { OPENSET_GALLERY, OPENSET_LABELS, OpenSetModel, type OpenSetPrediction } from './open-set-model.js';

/**
 * Adds (or replaces) the recogniser in `file`, atomically. The file is checked first (a damaged
 * checkpoint would otherwise be written back with a fresh checksum, its damage made permanent),
 * and the gallery is refused if it holds NaN or Inf, as every other tensor of a checkpoint is.
 */
export async function storeOpenSetModel(file: string, recogniser: OpenSetModel): Promise<void> {
  const bytes = await readCheckpointBytes(file);
  decodeCheckpoint(bytes, file); // checks the checksum of the very bytes written back
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  const parts = await recogniser.checkpointParts();
  const gallery = parts.extras.get(OPENSET_GALLERY)!;
  checkFinite(OPENSET_GALLERY, toFloat32(gallery, OPENSET_GALLERY));
  const kept: [string, HostTensor][] = [...tensors].filter(([name]) => name !== OPENSET_GALLERY && name !== OPENSET_LABELS);
  await writeSafetensors(file, [...kept, ...parts.extras], { ...metadata, ...parts.metadata });
}

/** The recogniser stored in a checkpoint file, with its model (on the GPU, started if need be). */
export async function loadOpenSetModel(file: string): Promise<OpenSetModel> {
  const decoded = await readCheckpoint(file);
  await initGpu();
  return OpenSetModel.fromCheckpoint(decoded, file);
}

/** The image files `paths` name: files as given, folders searched recursively (sorted). */
export async function imageFilesIn(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch {
      throw new Error(`${p}: no such file or folder`);
    }
    if (!isDir) out.push(p);
    else {
      const found = await listImageFiles(p);
      if (found.length === 0) throw new Error(`${p}: no PNG or JPEG images in this folder`);
      out.push(...found);
    }
  }
  return out;
}

/**
 * Predictions for PNG/JPEG files of any size (or the images of folders, as `gradmix predict`
 * takes them), decoded to the model's channels and fitted to its input one by one as its training
 * images were (fitToInput: a 28 x 28 digit is padded to MNIST's 32 x 32, not stretched).
 */
export async function predictFiles(recogniser: OpenSetModel, paths: readonly string[], batchSize?: number): Promise<(OpenSetPrediction & { file: string })[]> {
  const { input } = recogniser;
  const files = await imageFilesIn(paths);
  if (files.length === 0) throw new Error('predict: no images to load');
  const perImage = input.channels * input.imageSize * input.imageSize;
  const images = new Float32Array(files.length * perImage);
  for (let i = 0; i < files.length; i++) {
    const decoded = await decodeImageFiles('predict', [{ path: files[i], label: 0 }], { channels: input.channels as 1 | 3 });
    images.set(fitToInput(decoded, input).images, i * perImage);
  }
  const predictions = await recogniser.predict({ images, n: files.length, channels: input.channels, height: input.imageSize, width: input.imageSize }, undefined, batchSize);
  return predictions.map((p, i) => ({ file: files[i], ...p }));
}
