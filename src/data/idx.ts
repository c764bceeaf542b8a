// MNIST in the IDX format of http://yann.lecun.com/exdb/mnist/ (plain or gzipped): a big-endian
// header (magic 0x00000803 for images = unsigned bytes in 3 dimensions, 0x00000801 for labels)
// followed by the raw bytes. Sizes and labels are checked so truncated files fail clearly.
import { basename } from 'node:path';
import { DataError, type Dataset } from './dataset.js';
import { readDataFile, requireFile, requireFolder } from './files.js';
import { MNIST_CLASS_NAMES } from './mnist-digits.js';

const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

function checkHeader(bytes: Uint8Array, file: string, magic: number, what: string, headerBytes: number): DataView {
  const name = basename(file);
  if (bytes.length < headerBytes) throw new DataError(`${name}: ${bytes.length} bytes is shorter than the ${headerBytes}-byte IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getUint32(0);
  if (got !== magic) throw new DataError(`${name}: magic number ${hex(got)}, expected ${hex(magic)} (${what})`);
  return view;
}

/** Parses an IDX image file: N x rows x cols unsigned bytes -> [0, 1] floats (1 channel). */
export function parseIdxImages(bytes: Uint8Array, file: string): Pick<Dataset, 'images' | 'n' | 'height' | 'width'> {
  const view = checkHeader(bytes, file, IMAGES_MAGIC, 'IDX images: unsigned bytes, 3 dimensions', 16);
  const n = view.getUint32(4);
  const height = view.getUint32(8);
  const width = view.getUint32(12);
  const expected = 16 + n * height * width;
  if (bytes.length !== expected) {
    throw new DataError(`${basename(file)}: expected ${expected} bytes for ${n} images of ${height}x${width}, found ${bytes.length}`);
  }
  const images = new Float32Array(n * height * width);
  for (let i = 0; i < images.length; i++) images[i] = bytes[16 + i] / 255;
  return { images, n, height, width };
}

/** Parses an IDX label file; every label must lie in 0..numClasses-1. */
export function parseIdxLabels(bytes: Uint8Array, file: string, numClasses = 10): Int32Array {
  const view = checkHeader(bytes, file, LABELS_MAGIC, 'IDX labels: unsigned bytes, 1 dimension', 8);
  const n = view.getUint32(4);
  if (bytes.length !== 8 + n) throw new DataError(`${basename(file)}: expected ${8 + n} bytes for ${n} labels, found ${bytes.length}`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = bytes[8 + i];
    if (l >= numClasses) throw new DataError(`${basename(file)}: label ${l} at index ${i} is outside 0..${numClasses - 1}`);
    labels[i] = l;
  }
  return labels;
}

/** One IDX image file plus its label file as a 1-channel data set. */
export async function loadIdxPair(imagesFile: string, labelsFile: string): Promise<Dataset> {
  const [imageBytes, labelBytes] = await Promise.all([readDataFile(imagesFile), readDataFile(labelsFile)]);
  const { images, n, height, width } = parseIdxImages(imageBytes, imagesFile);
  const labels = parseIdxLabels(labelBytes, labelsFile);
  if (labels.length !== n) {
    throw new DataError(`${basename(labelsFile)}: ${labels.length} labels, but ${basename(imagesFile)} holds ${n} images`);
  }
  return { images, labels, n, channels: 1, height, width, classNames: MNIST_CLASS_NAMES };
}

/** The MNIST train or test split from a folder of the four standard files (each plain or .gz). */
export async function loadMnistIdx(dir: string, split: 'train' | 'test'): Promise<Dataset> {
  await requireFolder(dir, 'a folder with the MNIST IDX files');
  const prefix = split === 'train' ? 'train' : 't10k';
  const what = 'the MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)';
  // The original archives unpack to `-idx3-ubyte`; some mirrors use `.idx3-ubyte`.
  const images = requireFile(dir, [`${prefix}-images-idx3-ubyte`, `${prefix}-images.idx3-ubyte`], what);
  const labels = requireFile(dir, [`${prefix}-labels-idx1-ubyte`, `${prefix}-labels.idx1-ubyte`], what);
  return loadIdxPair(images, labels);
}
