// CIFAR-10 and CIFAR-100 "binary version" (https://www.cs.toronto.edu/~kriz/cifar.html):
// fixed-size records of label byte(s) followed by 3x32x32 pixel bytes, planes R, G, B, rows
// top to bottom. CIFAR-10: data_batch_1..5.bin + test_batch.bin, 1 label byte per record.
// CIFAR-100: train.bin + test.bin, coarse then fine label byte per record.
import { basename, join } from 'node:path';
import { DataError, type Dataset } from './dataset.js';
import { readDataFile, readLinesIfPresent, requireFile, requireFolder, resolveRoot } from './files.js';

export const CIFAR10_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const PIXELS = 3 * 32 * 32;

export interface RecordLayout {
  /** Label bytes before the pixels, and how many classes each may name. */
  labelClasses: number[];
  /** Format name for error messages. */
  format: string;
}

/** Decoded records: pixels as [0, 1] floats and one label array per label byte. */
export interface Records {
  images: Float32Array;
  labels: Int32Array[];
  n: number;
}

/** The number of records in `bytes`; throws naming the file when it is not a whole number. */
export function countRecords(bytes: Uint8Array, file: string, layout: RecordLayout): number {
  const name = basename(file);
  const labelBytes = layout.labelClasses.length;
  const recordBytes = labelBytes + PIXELS;
  if (bytes.length === 0) throw new DataError(`${name}: empty file (expected ${layout.format} records)`);
  if (bytes.length % recordBytes !== 0) {
    const whole = Math.floor(bytes.length / recordBytes);
    throw new DataError(
      `${name}: ${bytes.length} bytes is not a whole number of ${recordBytes}-byte ${layout.format} records ` +
        `(${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + 3x32x32 pixels): ${whole} records and ${bytes.length - whole * recordBytes} bytes left over; ` +
        `the file is truncated or not ${layout.format}`,
    );
  }
  return bytes.length / recordBytes;
}

/**
 * Decodes the records of several files straight into one set of arrays (no per-file copies, so
 * CIFAR's 50,000 training images need only their final 600 MB). `labelMap` may rewrite a raw
 * label byte before the range check (SVHN's .mat convention writes digit 0 as 10).
 */
export function decodeRecords(files: { bytes: Uint8Array; file: string }[], layout: RecordLayout, labelMap?: (raw: number) => number): Records {
  const counts = files.map((f) => countRecords(f.bytes, f.file, layout));
  const n = counts.reduce((s, c) => s + c, 0);
  const labelBytes = layout.labelClasses.length;
  const recordBytes = labelBytes + PIXELS;
  const images = new Float32Array(n * PIXELS);
  const labels = layout.labelClasses.map(() => new Int32Array(n));
  let out = 0;
  files.forEach(({ bytes, file }, f) => {
    for (let i = 0; i < counts[f]; i++, out++) {
      const at = i * recordBytes;
      for (let k = 0; k < labelBytes; k++) {
        const raw = bytes[at + k];
        const l = labelMap ? labelMap(raw) : raw;
        if (l >= layout.labelClasses[k]) {
          throw new DataError(`${basename(file)}: record ${i} has label ${raw}, outside 0..${layout.labelClasses[k] - 1}; the file is corrupt or not ${layout.format}`);
        }
        labels[k][out] = l;
      }
      const px = at + labelBytes;
      const dst = out * PIXELS;
      for (let j = 0; j < PIXELS; j++) images[dst + j] = bytes[px + j] / 255;
    }
  });
  return { images, labels, n };
}

/** Reads record files and decodes them, concatenated in the order given. */
export async function loadRecordFiles(paths: string[], layout: RecordLayout, labelMap?: (raw: number) => number): Promise<Records> {
  const files = await Promise.all(paths.map(async (file) => ({ file, bytes: await readDataFile(file) })));
  return decodeRecords(files, layout, labelMap);
}

export function recordsToDataset(r: Records, labelIndex: number, classNames?: string[]): Dataset {
  return { images: r.images, labels: r.labels[labelIndex], n: r.n, channels: 3, height: 32, width: 32, classNames };
}

/** CIFAR-10 train (the five data batches, in order) or test, from `cifar-10-batches-bin` or its parent. */
export async function loadCifar10(dir: string, split: 'train' | 'test'): Promise<Dataset> {
  await requireFolder(dir, 'the CIFAR-10 binary version (cifar-10-batches-bin)');
  const root = resolveRoot(dir, 'cifar-10-batches-bin', 'test_batch.bin');
  const what = 'the CIFAR-10 binary version (data_batch_1.bin .. data_batch_5.bin, test_batch.bin)';
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const layout = { labelClasses: [10], format: 'CIFAR-10' };
  const paths = names.map((f) => requireFile(root, [f], what));
  const files = await Promise.all(paths.map(async (file) => ({ file, bytes: await readDataFile(file) })));
  // The published batches hold 10,000 records each: one cut on a record boundary is a whole number
  // of records, but no longer as many as its siblings.
  const counts = files.map((f) => countRecords(f.bytes, f.file, layout));
  const short = counts.findIndex((c) => c !== Math.max(...counts));
  if (short >= 0) {
    throw new DataError(`${basename(paths[short])}: ${counts[short]} records, the other data batches ${Math.max(...counts)}; the file is truncated (the published batches hold 10,000 each)`);
  }
  const records = decodeRecords(files, layout);
  const names10 = (await readLinesIfPresent(join(root, 'batches.meta.txt'))) ?? CIFAR10_CLASS_NAMES;
  return recordsToDataset(records, 0, names10.length === 10 ? names10 : CIFAR10_CLASS_NAMES);
}

export interface Cifar100Dataset extends Dataset {
  /** The 20 superclass labels (labels holds the 100 fine ones). */
  coarseLabels: Int32Array;
  coarseClassNames?: string[];
}

/** CIFAR-100 train or test with fine labels (and coarse ones), from `cifar-100-binary` or its parent. */
export async function loadCifar100(dir: string, split: 'train' | 'test'): Promise<Cifar100Dataset> {
  await requireFolder(dir, 'the CIFAR-100 binary version (cifar-100-binary)');
  const root = resolveRoot(dir, 'cifar-100-binary', 'test.bin');
  const file = requireFile(root, [`${split}.bin`], 'the CIFAR-100 binary version (train.bin, test.bin)');
  const records = await loadRecordFiles([file], { labelClasses: [20, 100], format: 'CIFAR-100' });
  const fine = await readLinesIfPresent(join(root, 'fine_label_names.txt'));
  const coarse = await readLinesIfPresent(join(root, 'coarse_label_names.txt'));
  return {
    ...recordsToDataset(records, 1, fine?.length === 100 ? fine : undefined),
    coarseLabels: records.labels[0],
    coarseClassNames: coarse?.length === 20 ? coarse : undefined,
  };
}
