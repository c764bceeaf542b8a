// Mini-batches of host arrays for the training and feature loops. The order of an epoch is a
// seeded permutation that depends only on (seed, epoch), so a resumed run sees exactly the
// batches an uninterrupted one would. The next batch is gathered while the consumer awaits its
// GPU step (prefetch): gathering runs on a macrotask, which the event loop reaches while the
// caller is suspended on a GPU promise, so the copy overlaps the device's work.
import { Rng } from '../random.js';
import { valuesPerImage, type Dataset } from './dataset.js';

export interface Batch {
  /** size x C x H x W floats, freshly allocated (safe to keep or hand to an upload). */
  images: Float32Array;
  labels: Int32Array;
  /** Positions of the samples in the data set. */
  indices: Int32Array;
  size: number;
  epoch: number;
  /** Batch number within the epoch. */
  index: number;
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle with a seeded permutation (default true); false keeps data set order. */
  shuffle?: boolean;
  seed?: number;
  epoch?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Skip the first batches of the epoch (resuming mid-epoch). */
  startBatch?: number;
  /** Batches gathered ahead of the consumer (default 1; 0 gathers on demand). */
  prefetch?: number;
}

/** A permutation of 0..n-1 that depends only on seed and epoch (Fisher-Yates with Rng). */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const rng = new Rng((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

export function batchesPerEpoch(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Copies the samples at `indices` into fresh batch arrays. */
export function gatherBatch(ds: Dataset, indices: Int32Array): Pick<Batch, 'images' | 'labels' | 'indices' | 'size'> {
  const per = valuesPerImage(ds);
  const images = new Float32Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(ds.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = ds.labels[j];
  }
  return { images, labels, indices, size: indices.length };
}

/**
 * Runs `fn` on a macrotask: setImmediate where there is one (Node), else a zero-delay timeout
 * (browsers, which lack setImmediate), so the batch iterator runs in both.
 */
const onMacrotask: (fn: () => void) => void = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate ?? ((fn) => setTimeout(fn, 0));

function checkOptions(ds: Dataset, o: BatchOptions): void {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batches: batchSize ${o.batchSize} must be a positive integer`);
  if (o.dropLast && ds.n < o.batchSize) {
    throw new Error(`batches: ${ds.n} samples make no full batch of ${o.batchSize} with dropLast (use a smaller batch)`);
  }
  const start = o.startBatch ?? 0;
  const count = batchesPerEpoch(ds.n, o.batchSize, o.dropLast);
  if (!Number.isInteger(start) || start < 0 || start > count) throw new Error(`batches: startBatch ${start} is outside 0..${count}`);
}

/** The batches of one epoch, each gathered ahead of the consumer. */
export async function* batches(ds: Dataset, opts: BatchOptions): AsyncGenerator<Batch> {
  checkOptions(ds, opts);
  const { batchSize, shuffle = true, seed = 0, epoch = 0, dropLast = false, startBatch = 0, prefetch = 1 } = opts;
  const order = shuffle ? epochOrder(ds.n, seed, epoch) : Int32Array.from({ length: ds.n }, (_, i) => i);
  const count = batchesPerEpoch(ds.n, batchSize, dropLast);
  const make = (index: number): Batch => {
    const indices = order.slice(index * batchSize, Math.min((index + 1) * batchSize, ds.n));
    return { ...gatherBatch(ds, indices), epoch, index };
  };
  const soon = (index: number) =>
    new Promise<Batch>((resolve, reject) =>
      onMacrotask(() => {
        try {
          resolve(make(index));
        } catch (err) {
          reject(err);
        }
      }),
    );
  const ahead: Promise<Batch>[] = [];
  let next = startBatch;
  const fill = () => {
    while (next < count && ahead.length < prefetch) {
      const p = soon(next++);
      p.catch(() => undefined); // a consumer that stops early never awaits it: no unhandled rejection
      ahead.push(p);
    }
  };
  for (let index = startBatch; index < count; index++) {
    fill();
    const batch = ahead.length > 0 ? await ahead.shift()! : make(next++);
    fill(); // queue the following batch before handing this one over
    yield batch;
  }
}
