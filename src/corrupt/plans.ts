// Plans: everything a corruption needs besides the images, drawn or computed on the host. The
// random parts come from a seeded Rng (src/random.ts), image by image in batch order (all of
// image i's draws before image i + 1's), so a seed fixes the result whatever the batching.
// Per-value noise is not drawn here: each image gets a 32-bit key, and the kernels expand it
// with a counter-based hash (kernels/corrupt_random.wgsl), so no image-sized array crosses the bus.
//
// Where the scripts tie a size to 32 (CIFAR) or 64 (Tiny-ImageNet) pixels, it is generalised:
// glass blur's swap loops run over H and W; elastic's IMSIZE is min(H, W); clipped_zoom crops
// each axis by its own length (the scripts use the height for both); the fog fractal has the
// table's side or the next power of two covering the image; the frost texture spans 5H x 5W.
import type { Rng } from '../random.js';
import { FOG_MAPSIZE, checkCorruption, severityParams, type CorruptionName, type ParamTable } from './corruptions.js';
import {
  affineFromPoints,
  clippedZoomAxis,
  diskKernel,
  jpegQuantTables,
  motionBlurOffsets,
  motionBlurWeights,
  numpyArange,
  pixelateBand,
  scipyGaussianWeights,
  type Band,
  type ZoomAxis,
} from './tables.js';

export interface ImageShape {
  b: number;
  c: number;
  h: number;
  w: number;
}

export type CorruptionPlan =
  | { name: 'gaussian_noise'; sigma: number; keys: Uint32Array }
  | { name: 'shot_noise'; rate: number; keys: Uint32Array }
  | { name: 'impulse_noise'; amount: number; keys: Uint32Array }
  | { name: 'defocus_blur'; kernel: Float64Array; radius: number }
  /** Gaussian (scipy, mode 'nearest') before and after shuffling pixels: out[p] = blurred[perm[b, p]]. */
  | { name: 'glass_blur'; weights: Float64Array; perm: Int32Array }
  /** ImageMagick motion blur: weights [width], offsets [B, width, 2] (dx, dy). */
  | { name: 'motion_blur'; weights: Float64Array; offsets: Int32Array }
  | { name: 'zoom_blur'; zooms: { y: ZoomAxis; x: ZoomAxis }[] }
  | {
      name: 'snow';
      loc: number;
      scale: number;
      threshold: number;
      zoom: { y: ZoomAxis; x: ZoomAxis };
      blend: number;
      keys: Uint32Array;
      weights: Float64Array;
      offsets: Int32Array;
    }
  /** crops [B, 3]: texture index, top, left. */
  | { name: 'frost'; keep: number; add: number; cell: number; crops: Int32Array }
  /** plasma [B, H, W] in [0, 1]. */
  | { name: 'fog'; amount: number; plasma: Float32Array }
  | { name: 'brightness'; amount: number }
  | { name: 'contrast'; factor: number }
  /** affine [B, 6]: the inverse map (output pixel -> source) of each image's random affine. */
  | { name: 'elastic_transform'; alpha: number; weights: Float64Array; keys: Uint32Array; affine: Float64Array }
  | { name: 'pixelate'; rows: Band; cols: Band }
  | { name: 'jpeg_compression'; quality: number; luma: Float64Array; chroma: Float64Array };

export interface PlanOptions {
  /** Which published severity table (default cifar). */
  table?: ParamTable;
}

/** Frost "photos": the scripts pick one of the first 5 of 6 stored photos (randint(5)). */
export const FROST_TEXTURES = 5;
/** The procedural frost texture spans this many image sizes, as the resized photos do. */
export const FROST_EXTENT = 5;

function checkShape(s: ImageShape): void {
  const ok = [s.b, s.h, s.w].every((d) => Number.isInteger(d) && d >= 1) && (s.c === 1 || s.c === 3);
  if (!ok) throw new Error(`corruption plan: images must be [B, C, H, W] with B, H, W >= 1 and C = 1 or 3, got [${s.b}, ${s.c}, ${s.h}, ${s.w}]`);
}

const keysFor = (b: number, rng: Rng) => Uint32Array.from({ length: b }, () => rng.nextU32());

/**
 * The scripts' glass-blur pixel shuffle as a gather map per image: for each iteration, rows
 * h = H - d .. d + 1 (descending), columns likewise, swap (h, w) with (h + dy, w + dx), dx, dy
 * drawn in that order from randint(-d, d), i.e. -d .. d - 1.
 */
export function glassPermutation(h: number, w: number, maxDelta: number, iterations: number, rng: Rng): Int32Array {
  const perm = Int32Array.from({ length: h * w }, (_, i) => i);
  for (let it = 0; it < iterations; it++) {
    for (let y = h - maxDelta; y > maxDelta; y--) {
      for (let x = w - maxDelta; x > maxDelta; x--) {
        const dx = rng.int(2 * maxDelta) - maxDelta;
        const dy = rng.int(2 * maxDelta) - maxDelta;
        const a = y * w + x;
        const b = (y + dy) * w + (x + dx);
        const t = perm[a];
        perm[a] = perm[b];
        perm[b] = t;
      }
    }
  }
  return perm;
}

/**
 * The scripts' plasma_fractal(mapsize, wibbledecay): diamond-square with wibble starting at 100,
 * each new value = mean-ish of its neighbours (sum / 4) + wibble * U(-wibble, wibble), np.roll
 * wrap-around, then normalised to [0, 1]. mapsize must be a power of two.
 */
export function plasmaFractal(mapsize: number, wibbleDecay: number, rng: Rng): Float64Array {
  const n = mapsize;
  if (!(n >= 2 && (n & (n - 1)) === 0)) throw new Error(`plasmaFractal: mapsize must be a power of two >= 2, got ${n}`);
  const m = new Float64Array(n * n);
  let step = n;
  let wibble = 100;
  const at = (y: number, x: number) => m[y * n + x];
  const wibbled = (sum: number) => sum / 4 + wibble * rng.uniform(-wibble, wibble);
  while (step >= 2) {
    const half = step / 2;
    const g = n / step; // points per axis on this level's grids
    const corner = (i: number, j: number) => at((((i % g) + g) % g) * step, (((j % g) + g) % g) * step);
    const centre = (i: number, j: number) => at((((i % g) + g) % g) * step + half, (((j % g) + g) % g) * step + half);
    // Squares: centre (i, j) = its four corners (np.roll by -1 on both axes).
    for (let i = 0; i < g; i++) {
      for (let j = 0; j < g; j++) m[(i * step + half) * n + j * step + half] = wibbled(corner(i, j) + corner(i + 1, j) + corner(i, j + 1) + corner(i + 1, j + 1));
    }
    // Diamonds on the corner rows: (i*step, j*step + half) = centre(i, j) + centre(i - 1, j) + corner(i, j) + corner(i, j + 1).
    const top = new Float64Array(g * g);
    for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) top[i * g + j] = wibbled(centre(i, j) + centre(i - 1, j) + corner(i, j) + corner(i, j + 1));
    // ... and on the centre rows: (i*step + half, j*step) = centre(i, j) + centre(i, j - 1) + corner(i, j) + corner(i + 1, j).
    const left = new Float64Array(g * g);
    for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) left[i * g + j] = wibbled(centre(i, j) + centre(i, j - 1) + corner(i, j) + corner(i + 1, j));
    for (let i = 0; i < g; i++) {
      for (let j = 0; j < g; j++) {
        m[i * step * n + j * step + half] = top[i * g + j];
        m[(i * step + half) * n + j * step] = left[i * g + j];
      }
    }
    step = half;
    wibble /= wibbleDecay;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return m.map((v) => (v - lo) / (hi - lo));
}

function fogMapsize(table: ParamTable, h: number, w: number): number {
  let n = FOG_MAPSIZE[table];
  while (n < Math.max(h, w)) n *= 2;
  return n;
}

function motionOffsetsFor(b: number, width: number, lo: number, hi: number, rng: Rng): Int32Array {
  const offsets = new Int32Array(b * width * 2);
  for (let i = 0; i < b; i++) offsets.set(motionBlurOffsets(width, rng.uniform(lo, hi)), i * width * 2);
  return offsets;
}

/** Draws and computes the plan of corruption `name` at `severity` for a batch of `shape`. */
export function planCorruption(name: CorruptionName, severity: number, shape: ImageShape, rng: Rng, options: PlanOptions = {}): CorruptionPlan {
  checkCorruption(name);
  checkShape(shape);
  const table = options.table ?? 'cifar';
  const c = severityParams(name, severity, table);
  const num = c as number;
  const tuple = c as readonly number[];
  const { b, h, w } = shape;
  switch (name) {
    case 'gaussian_noise':
      return { name, sigma: num, keys: keysFor(b, rng) };
    case 'shot_noise':
      return { name, rate: num, keys: keysFor(b, rng) };
    case 'impulse_noise':
      return { name, amount: num, keys: keysFor(b, rng) };
    case 'defocus_blur': {
      const { kernel, radius } = diskKernel(tuple[0], tuple[1]);
      return { name, kernel, radius };
    }
    case 'glass_blur': {
      const [sigma, delta, iterations] = tuple;
      const perm = new Int32Array(b * h * w);
      for (let i = 0; i < b; i++) perm.set(glassPermutation(h, w, delta, iterations, rng), i * h * w);
      return { name, weights: scipyGaussianWeights(sigma, 4), perm };
    }
    case 'motion_blur': {
      const weights = motionBlurWeights(tuple[0], tuple[1]);
      return { name, weights, offsets: motionOffsetsFor(b, weights.length, -45, 45, rng) };
    }
    case 'zoom_blur':
      return { name, zooms: numpyArange(1, num, 0.01).map((z) => ({ y: clippedZoomAxis(h, z), x: clippedZoomAxis(w, z) })) };
    case 'snow': {
      const [loc, scale, zoom, threshold, radius, sigma, blend] = tuple;
      const weights = motionBlurWeights(radius, sigma);
      const keys = new Uint32Array(b);
      const offsets = new Int32Array(b * weights.length * 2);
      for (let i = 0; i < b; i++) {
        keys[i] = rng.nextU32();
        offsets.set(motionBlurOffsets(weights.length, rng.uniform(-135, -45)), i * weights.length * 2);
      }
      return { name, loc, scale, threshold, zoom: { y: clippedZoomAxis(h, zoom), x: clippedZoomAxis(w, zoom) }, blend, keys, weights, offsets };
    }
    case 'frost': {
      const crops = new Int32Array(b * 3);
      for (let i = 0; i < b; i++) crops.set([rng.int(FROST_TEXTURES), rng.int((FROST_EXTENT - 1) * h), rng.int((FROST_EXTENT - 1) * w)], 3 * i);
      return { name, keep: tuple[0], add: tuple[1], cell: Math.max(h, w) / 4, crops };
    }
    case 'fog': {
      const n = fogMapsize(table, h, w);
      const plasma = new Float32Array(b * h * w);
      for (let i = 0; i < b; i++) {
        const m = plasmaFractal(n, tuple[1], rng);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) plasma[(i * h + y) * w + x] = m[y * n + x];
      }
      return { name, amount: tuple[0], plasma };
    }
    case 'brightness':
      return { name, amount: num };
    case 'contrast':
      return { name, factor: num };
    case 'elastic_transform': {
      const size = Math.min(h, w);
      const [alpha, sigma, jitter] = tuple.map((v) => v * size);
      // The script's points, as (x, y) pairs for cv2: centre = [H // 2, W // 2], square = min(H, W) // 3.
      const [cy, cx] = [Math.floor(h / 2), Math.floor(w / 2)];
      const s = Math.max(1, Math.floor(size / 3)); // at least 1, so images under 3 pixels still get three distinct points
      const src = [cy + s, cx + s, cy + s, cx - s, cy - s, cx - s];
      const affine = new Float64Array(b * 6);
      const keys = new Uint32Array(b);
      for (let i = 0; i < b; i++) {
        const dst = src.map((v) => Math.fround(v + Math.fround(rng.uniform(-jitter, jitter))));
        affine.set(affineFromPoints(src, dst).inverse, 6 * i);
        keys[i] = rng.nextU32();
      }
      return { name, alpha, weights: scipyGaussianWeights(sigma, 3), keys, affine };
    }
    case 'pixelate':
      return { name, rows: pixelateBand(h, num), cols: pixelateBand(w, num) };
    case 'jpeg_compression':
      return { name, quality: num, ...jpegQuantTables(num) };
  }
}
