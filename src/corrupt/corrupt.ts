// The corruption entry points: one batch on the GPU (`corrupt`), or a whole data set in batches
// (`corruptDataset`), seeded so that a seed fixes every image whatever the batch size.
//
// The algorithms follow the published scripts (make_cifar_c.py, make_tinyimagenet_c.py in
// github.com/hendrycks/robustness) with their parameter tables (./corruptions.ts). Where a script
// calls a library that cannot run here, or ties itself to 8-bit images or one image size:
//
// | corruption    | the scripts                                     | here                                                   |
// |---------------|-------------------------------------------------|--------------------------------------------------------|
// | (all)         | 8-bit PIL images in, results saved as uint8     | float32 in [0, 1] in and out; no 8-bit rounding, also  |
// |               |                                                 | none in between (glass blur, snow's PNG round trips)   |
// | (all)         | numpy's global Mersenne Twister                 | a seeded Rng (xoshiro128**) on the host, one draw      |
// |               |                                                 | order per image; per-value noise from a counter hash   |
// |               |                                                 | keyed per image (kernels/corrupt_random.wgsl)          |
// | gaussian      | np.random.normal                                | Box-Muller on the hash stream                          |
// | shot          | np.random.poisson                               | numpy's samplers (PTRS from lam 10, multiplication     |
// |               |                                                 | below) on the hash stream, float32                     |
// | impulse       | skimage random_noise 's&p' (per value in        | per value: replaced with probability `amount`, by 1 or |
// |               | current skimage; 0.14 drew a fixed number of    | 0 with probability 1/2 each (current skimage)          |
// |               | coordinates)                                    |                                                        |
// | glass blur    | swap loops over 32 (64) pixels                  | over H and W                                           |
// | motion blur   | ImageMagick MotionBlurImage through Wand        | the same kernel (one-sided Gaussian weights, offsets   |
// |               |                                                 | ceil(i cos a - 1/2), ceil(i sin a - 1/2), edge pixels) |
// | zoom blur,    | clipped_zoom crops ceil(h / z) on both axes,    | each axis by its own length; scipy's zoom (order 1)    |
// | snow          | h = the height                                  | reproduced exactly                                     |
// | snow          | layer through PNG and Wand's motion blur;       | the same steps in float, motion blur as above; grey    |
// |               | cv2 RGB2GRAY                                    | 0.299 R + 0.587 G + 0.114 B (C = 1: the image itself)  |
// | frost         | 6 stored frost photos: one of the first 5,      | 5 procedural ice textures (needles of stretched ridged |
// |               | resized by 0.2 (0.3), a random 32 (64) crop     | gradient noise over a milky haze, blue-white, mean     |
// |               |                                                 | 0.52), a random crop of a 5H x 5W extent; C = 1: luma  |
// | fog           | plasma_fractal(32 or 64)                        | the same diamond-square, side max(32 or 64, the next   |
// |               |                                                 | power of two covering the image)                       |
// | brightness    | skimage rgb2hsv, V += c, hsv2rgb                | x * min(v + c, 1) / v, v = max over channels (the same |
// |               |                                                 | map: rgb is linear in V at fixed H, S)                 |
// | elastic       | IMSIZE 32 (64); cv2.warpAffine (bilinear with   | IMSIZE = min(H, W); exact bilinear; scipy >= 1.6's     |
// |               | 1/32-pixel fixed-point coordinates)             | 'reflect' for map_coordinates                          |
// | pixelate      | two Pillow BOX resizes of 8-bit images          | Pillow's BOX weights in float, one combined pass       |
// | JPEG          | Pillow/libjpeg: integer DCT, fixed-point YCbCr, | float DCT and YCbCr; libjpeg's quality-scaled tables,  |
// |               | 8-bit samples, 4:2:0                            | 4:2:0 by 2x2 means, fancy (triangle) upsampling, edge  |
// |               |                                                 | replication to whole blocks; C = 1: one grey component |
import { tensor } from '../creation.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { valuesPerImage, type Dataset } from '../data/dataset.js';
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
  /**
   * Where `ds` starts in the set the seed is for (default 0): image i gets the draws of image
   * first + i there, e.g. one image of a set with the draws the whole set's corruption gives it.
   */
  first?: number;
}

/** A copy of `ds` with every image corrupted (labels shared). */
export async function corruptDataset(ds: Dataset, name: CorruptionName, severity: number, options: CorruptDatasetOptions = {}): Promise<Dataset> {
  const { seed = 0, batchSize = 256, first = 0 } = options;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`corruptDataset: batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(first) && first >= 0)) throw new Error(`corruptDataset: first must be a non-negative integer, got ${first}`);
  const rng = new Rng(seed);
  // Plans draw image by image (plans.ts): planning the images before ds on the host, in batches
  // to bound their memory, moves rng exactly past their draws.
  const shape = { c: ds.channels, h: ds.height, w: ds.width };
  const table = options.table ?? tableForSize(ds.height, ds.width);
  for (let done = 0; done < first; done += batchSize) planCorruption(name, severity, { b: Math.min(batchSize, first - done), ...shape }, rng, { table });
  const per = valuesPerImage(ds);
  const images = new Float32Array(ds.images.length);
  for (let start = 0; start < ds.n; start += batchSize) {
    const count = Math.min(batchSize, ds.n - start);
    const x = tensor(ds.images.subarray(start * per, (start + count) * per), [count, ds.channels, ds.height, ds.width]);
    try {
      const y = corrupt(x, name, severity, rng, options);
      try {
        images.set((await y.data()) as Float32Array, start * per);
      } finally {
        y.dispose();
      }
    } finally {
      x.dispose();
    }
  }
  return { ...ds, images };
}
