// The corruption entry points: one batch on the GPU (`corrupt`), or a whole data set in batches
// (`corruptDataset`), seeded so that a seed fixes every image whatever the batch size.
import { tensor } from '../creation.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { valuesPerImage, type Dataset } from '../data/index.js';
import { checkCorruption, checkSeverity, tableForSize, type CorruptionName, type ParamTable } from './corruptions.js';
import { planCorruption } from './plans.js';
import { applyPlan } from './apply.js';

export interface CorruptOptions {
  /** The published severity table (default: by image size, `tiny` from 48 pixels, else `cifar`). */
  table?: ParamTable;
}

/** Corrupts images x [B, C, H, W] in [0, 1] (C = 1 or 3) with `name` at severity 1..5. */
export function corrupt(x: Tensor, name: CorruptionName, severity: number, rng: Rng, options: CorruptOptions = {}): Tensor {
  const [b, c, h, w] = x.shape;
  const table = options.table ?? tableForSize(h, w);
  return applyPlan(x, planCorruption(checkCorruption(name), checkSeverity(severity), { b, c, h, w }, rng, { table }));
}

export interface CorruptDatasetOptions extends CorruptOptions {
  seed?: number;
  /** Images per GPU batch (default 256). */
  batchSize?: number;
}

/** A copy of `ds` with every image corrupted (labels shared). */
export async function corruptDataset(ds: Dataset, name: CorruptionName, severity: number, options: CorruptDatasetOptions = {}): Promise<Dataset> {
  const { seed = 0, batchSize = 256 } = options;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`corruptDataset: batchSize must be a positive integer, got ${batchSize}`);
  const rng = new Rng(seed);
  const per = valuesPerImage(ds);
  const images = new Float32Array(ds.images.length);
  for (let start = 0; start < ds.n; start += batchSize) {
    const count = Math.min(batchSize, ds.n - start);
    const x = tensor(ds.images.subarray(start * per, (start + count) * per), [count, ds.channels, ds.height, ds.width]);
    const y = corrupt(x, name, severity, rng, options);
    images.set((await y.data()) as Float32Array, start * per);
    x.dispose();
    y.dispose();
  }
  return { ...ds, images };
}
