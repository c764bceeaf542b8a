// The published corrupted test sets on disk:
//   .npy layout (CIFAR-10-C, CIFAR-100-C, and Tiny-ImageNet-C converted the same way):
//     <dir>/<corruption>.npy  uint8 [5 n, H, W, C] (or [5 n, H, W]): severities 1..5, n images each
//     <dir>/labels.npy        integers [5 n] (or [n]): the source class of each image
//   folder layout (Tiny-ImageNet-C as published): <dir>/<corruption>/<severity>/<class>/*.JPEG,
//     classes numbered in sorted folder-name order (the wnids, as TinyImageNet's).
// Only the requested classes are kept, relabelled by their index in `classes` (a protocol split's
// known classes); `rows` keeps those at the clean subset's positions (the .npy files hold the test
// set in its order), `max` the first max of them per severity, or, in the folder layout (whose
// files come class by class), `perClass` keeps the clean subset's count of each class.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, UNKNOWN_LABEL, type Dataset } from '../data/index.js';
import { decodeImageFiles, listImageFolder } from '../data/image-folder.js';
import { CORRUPTIONS, SEVERITIES, checkSeverity, type CorruptionName } from './corruptions.js';
import { NpyFile } from './npy.js';

export interface CorruptedFilesOptions {
  /** Source classes to keep, in the order that defines the new labels 0..K-1. */
  classes: readonly number[];
  /** Keep at most this many images per severity (after the class filter). */
  max?: number;
  /** .npy layout: keep the images at these positions among those of the kept classes (before `max`). */
  rows?: readonly number[];
  /**
   * Folder layout: keep the first perClass[i] images of class classes[i] instead of the first
   * `max` (which, the files being grouped by class, would be a few whole classes): with the clean
   * subset's counts, clean and corrupted accuracy are measured on the same class mix.
   */
  perClass?: readonly number[];
  /** The image size the model expects; a different one is an error. */
  expect?: { channels: number; height: number; width: number };
}

export type CorruptedLayout = 'npy' | 'folders';

/** Which layout `dir` holds (an error naming what is missing when neither). */
export function corruptedLayout(dir: string): CorruptedLayout {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new DataError(`${dir}: no such folder (expected CIFAR-10-C style <corruption>.npy files or Tiny-ImageNet-C style <corruption>/<severity>/ folders)`);
  if (existsSync(join(dir, 'labels.npy'))) return 'npy';
  if (CORRUPTIONS.some((c) => SEVERITIES.some((s) => existsSync(join(dir, c, String(s)))))) return 'folders';
  throw new DataError(`${dir}: neither labels.npy (CIFAR-10-C layout) nor <corruption>/<severity>/ folders (Tiny-ImageNet-C layout) found`);
}

function checkExpected(file: string, got: { channels: number; height: number; width: number }, options: CorruptedFilesOptions): void {
  const e = options.expect;
  if (e && (e.channels !== got.channels || e.height !== got.height || e.width !== got.width)) {
    throw new DataError(`${file}: images are ${got.height}x${got.width} with ${got.channels} channel(s); the protocol's are ${e.height}x${e.width} with ${e.channels}`);
  }
}

/** Positions (within one severity's n images) of the kept classes, their new labels, and the source labels. */
function keep(labels: Float64Array, n: number, options: CorruptedFilesOptions): { rows: number[]; labels: Int32Array; source: Int32Array } {
  const index = new Map(options.classes.map((c, i) => [c, i]));
  const known: number[] = [];
  for (let i = 0; i < n; i++) if (index.has(labels[i])) known.push(i);
  const rows = (options.rows ? options.rows.filter((p) => p < known.length).map((p) => known[p]) : known).slice(0, options.max);
  return { rows, labels: Int32Array.from(rows, (i) => index.get(labels[i])!), source: Int32Array.from(rows, (i) => labels[i]) };
}

/** One severity of one corruption from the .npy layout. */
function loadNpySet(dir: string, name: CorruptionName, severity: number, options: CorruptedFilesOptions): Dataset {
  const labelsFile = new NpyFile(join(dir, 'labels.npy'));
  let allLabels: Float64Array;
  try {
    if (labelsFile.header.shape.length !== 1) throw new DataError(`${labelsFile.path}: expected a 1-D array of labels, got shape [${labelsFile.header.shape.join(', ')}]`);
    allLabels = labelsFile.readRows(0, labelsFile.rows);
  } finally {
    labelsFile.close();
  }
  const file = new NpyFile(join(dir, `${name}.npy`));
  try {
    const { shape, descr, itemSize } = file.header;
    if (itemSize !== 1 || file.header.kind === 'i') throw new DataError(`${file.path}: images must be uint8, got dtype '${descr}'`);
    if (shape.length !== 3 && shape.length !== 4) throw new DataError(`${file.path}: expected images [N, H, W, C] or [N, H, W], got shape [${shape.join(', ')}]`);
    const [total, height, width, channels = 1] = shape;
    if (channels !== 1 && channels !== 3) throw new DataError(`${file.path}: images have ${channels} channels; 1 or 3 are supported`);
    if (total % 5 !== 0) throw new DataError(`${file.path}: ${total} images is not 5 severities of equal size`);
    const n = total / 5;
    if (allLabels.length !== total && allLabels.length !== n) {
      throw new DataError(`${join(dir, 'labels.npy')}: ${allLabels.length} labels for ${total} images in ${name}.npy (expected ${total} or ${n})`);
    }
    checkExpected(file.path, { channels, height, width }, options);
    const base = (severity - 1) * n;
    const sevLabels = allLabels.length === total ? allLabels.subarray(base, base + n) : allLabels;
    const { rows, labels, source } = keep(sevLabels, n, options);
    const per = height * width * channels;
    const images = new Float32Array(rows.length * per);
    // Read in runs of consecutive rows; convert HWC bytes to CHW floats in [0, 1].
    for (let k = 0; k < rows.length;) {
      let run = 1;
      while (k + run < rows.length && rows[k + run] === rows[k] + run && run < 1024) run++;
      const bytes = file.readRowBytes(base + rows[k], run);
      for (let r = 0; r < run; r++) {
        const dst = (k + r) * per;
        for (let p = 0; p < height * width; p++) for (let c = 0; c < channels; c++) images[dst + c * height * width + p] = bytes[r * per + p * channels + c] / 255;
      }
      k += run;
    }
    return { images, labels, sourceLabels: source, n: rows.length, channels, height, width };
  } finally {
    file.close();
  }
}

/** One severity of one corruption from the folder layout. */
async function loadFolderSet(dir: string, name: CorruptionName, severity: number, options: CorruptedFilesOptions): Promise<Dataset> {
  const root = join(dir, name, String(severity));
  const channels = (options.expect?.channels ?? 3) as 1 | 3;
  const { files, classNames } = await listImageFolder(root, { classes: options.classes, channels });
  const index = new Map(options.classes.map((c, i) => [c, i]));
  const taken = new Array<number>(options.classes.length).fill(0);
  const perClass = options.perClass;
  const kept = perClass ? files.filter((f) => taken[index.get(f.label)!]++ < perClass[index.get(f.label)!]) : files.slice(0, options.max ?? files.length);
  const ds = await decodeImageFiles(root, kept, { channels }, classNames);
  checkExpected(root, ds, options);
  return { ...ds, labels: Int32Array.from(ds.labels, (l) => index.get(l) ?? UNKNOWN_LABEL), sourceLabels: ds.labels, classNames: undefined };
}

/** Severity `severity` (1..5) of corruption `name` from `dir`, in either layout. */
export async function loadCorruptedSet(dir: string, name: CorruptionName, severity: number, options: CorruptedFilesOptions): Promise<Dataset> {
  checkSeverity(severity);
  return corruptedLayout(dir) === 'npy' ? loadNpySet(dir, name, severity, options) : loadFolderSet(dir, name, severity, options);
}

/** Refuses, before any work, corruptions and severities that `dir` lacks, naming each missing file or folder. */
export function checkCorruptedSources(dir: string, corruptions: readonly CorruptionName[], severities: readonly number[]): void {
  const layout = corruptedLayout(dir);
  const needed = layout === 'npy' ? corruptions.map((c) => join(dir, `${c}.npy`)) : corruptions.flatMap((c) => severities.map((s) => join(dir, c, String(s))));
  const missing = needed.filter((path) => !existsSync(path));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
    throw new DataError(`${dir}: missing ${shown}; choose what is there with --corruptions and --severities`);
  }
}

/** The corruptions present in `dir` (a file or folder per corruption). */
export function corruptionsIn(dir: string): CorruptionName[] {
  const layout = corruptedLayout(dir);
  return CORRUPTIONS.filter((c) => existsSync(layout === 'npy' ? join(dir, `${c}.npy`) : join(dir, c)));
}
