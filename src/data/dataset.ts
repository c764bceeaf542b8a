// The in-memory image data set every loader returns, and the host-side operations on it
// (subsets, concatenation, padding) that protocols build on.

/** Images as N x C x H x W float32 in [0, 1], row-major, one label per image. */
export interface Dataset {
  images: Float32Array;
  labels: Int32Array;
  n: number;
  channels: number;
  height: number;
  width: number;
  /** Names of the label ids, indexed by label (after remapping: by new label). */
  classNames?: string[];
  /** The labels before a protocol remapped them (unknown samples keep their source class here). */
  sourceLabels?: Int32Array;
}

/** The label that marks a test sample from an unknown class. */
export const UNKNOWN_LABEL = -1;

/** Thrown for every unreadable, missing, truncated or corrupt data file; the message names the file. */
export class DataError extends Error {
  override name = 'DataError';
}

export function valuesPerImage(ds: Pick<Dataset, 'channels' | 'height' | 'width'>): number {
  return ds.channels * ds.height * ds.width;
}

/** Checks the invariants a consumer relies on (array lengths agree with n and the image shape). */
export function checkDataset(ds: Dataset, what = 'dataset'): void {
  const per = valuesPerImage(ds);
  if (ds.images.length !== ds.n * per) {
    throw new DataError(`${what}: images hold ${ds.images.length} values, expected ${ds.n} x ${ds.channels}x${ds.height}x${ds.width} = ${ds.n * per}`);
  }
  if (ds.labels.length !== ds.n) throw new DataError(`${what}: ${ds.labels.length} labels for ${ds.n} images`);
  if (ds.sourceLabels && ds.sourceLabels.length !== ds.n) throw new DataError(`${what}: ${ds.sourceLabels.length} source labels for ${ds.n} images`);
}

/** The images at `indices`, in that order (copies). */
export function subsetDataset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const per = valuesPerImage(ds);
  const n = indices.length;
  const images = new Float32Array(n * per);
  const labels = new Int32Array(n);
  const source = ds.sourceLabels ? new Int32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    if (!(j >= 0 && j < ds.n)) throw new RangeError(`subsetDataset: index ${j} is outside 0..${ds.n - 1}`);
    images.set(ds.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = ds.labels[j];
    if (source) source[i] = ds.sourceLabels![j];
  }
  return { ...ds, images, labels, n, sourceLabels: source };
}

/** Indices of the samples whose label is in `classes`, in data set order. */
export function indicesOfClasses(labels: Int32Array, classes: readonly number[]): Int32Array {
  const keep = new Set(classes);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (keep.has(labels[i])) out.push(i);
  return Int32Array.from(out);
}

/** The samples of `classes` (in data set order), labels unchanged. */
export function filterClasses(ds: Dataset, classes: readonly number[]): Dataset {
  return subsetDataset(ds, indicesOfClasses(ds.labels, classes));
}

/** Data sets of one image shape, one after another. Class names are kept only when all agree. */
export function concatDatasets(parts: readonly Dataset[]): Dataset {
  if (parts.length === 0) throw new Error('concatDatasets: no data sets given');
  const [first] = parts;
  for (const p of parts) {
    if (p.channels !== first.channels || p.height !== first.height || p.width !== first.width) {
      throw new Error(`concatDatasets: image shape ${p.channels}x${p.height}x${p.width} differs from ${first.channels}x${first.height}x${first.width}`);
    }
  }
  const n = parts.reduce((s, p) => s + p.n, 0);
  const per = valuesPerImage(first);
  const images = new Float32Array(n * per);
  const labels = new Int32Array(n);
  const withSource = parts.every((p) => p.sourceLabels);
  const source = withSource ? new Int32Array(n) : undefined;
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * per);
    labels.set(p.labels, at);
    if (source) source.set(p.sourceLabels!, at);
    at += p.n;
  }
  const names = first.classNames;
  const sameNames = parts.every((p) => p.classNames === names || (names && p.classNames?.join('\n') === names.join('\n')));
  return { images, labels, n, channels: first.channels, height: first.height, width: first.width, classNames: sameNames ? names : undefined, sourceLabels: source };
}

/** Zero-pads every image by `pad` pixels on each side (MNIST 28x28 -> 32x32 with pad 2). */
export function padImages(ds: Dataset, pad: number): Dataset {
  if (pad === 0) return ds;
  const { n, channels: c, height: h, width: w } = ds;
  const H = h + 2 * pad;
  const W = w + 2 * pad;
  const images = new Float32Array(n * c * H * W);
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < h; y++) {
      const src = (plane * h + y) * w;
      images.set(ds.images.subarray(src, src + w), (plane * H + y + pad) * W + pad);
    }
  }
  return { ...ds, images, height: H, width: W };
}

/** Counts per label value (labels 0..max). */
export function classCounts(labels: Int32Array): number[] {
  const counts: number[] = [];
  for (const l of labels) if (l >= 0) counts[l] = (counts[l] ?? 0) + 1;
  return Array.from(counts, (c) => c ?? 0);
}

/**
 * A digest of a data set's pixels and labels (FNV-1a over their bytes, as hex): the same images in
 * the same order give the same digest, so a resumed run can tell that its data files changed.
 */
export function datasetDigest(ds: Pick<Dataset, 'images' | 'labels'>): string {
  let h = 0x811c9dc5;
  const mix = (words: Uint32Array | Int32Array) => {
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  };
  mix(new Uint32Array(ds.images.buffer, ds.images.byteOffset, ds.images.length));
  mix(ds.labels);
  return `${(h >>> 0).toString(16).padStart(8, '0')}-${ds.labels.length}`;
}
