// Deterministic host-side tables the corruption kernels read: filter kernels, offsets, resampling
// weights and quantisation tables, each computed in float64 exactly as the library the published
// scripts call (scipy, OpenCV, ImageMagick, Pillow, libjpeg), named in each function's comment.
import { pillowWeights } from '../data/resize.js';

/** Index into [0, n) of `i` on a signal extended by half-sample symmetry (scipy 'reflect': dcba|abcd|dcba). */
export function reflectIndex(i: number, n: number): number {
  const m = ((i % (2 * n)) + 2 * n) % (2 * n);
  return m < n ? m : 2 * n - 1 - m;
}

/** Index into [0, n) of `i` on a signal extended by whole-sample symmetry (OpenCV BORDER_REFLECT_101: dcb|abcd|cba). */
export function reflect101Index(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

export function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** Python's round(): to nearest, ties to even. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * scipy.ndimage.gaussian_filter1d's weights: radius int(truncate * sigma + 0.5), w ~ exp(-x^2 /
 * (2 sigma^2)) normalised. sigma <= 1e-15 is no filter (scipy skips that axis): [1].
 */
export function scipyGaussianWeights(sigma: number, truncate: number): Float64Array {
  if (!(sigma > 1e-15)) return Float64Array.of(1);
  const r = Math.trunc(truncate * sigma + 0.5);
  const w = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-0.5 * ((i - r) / sigma) ** 2));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

/** cv2.getGaussianKernel(ksize, sigma) for sigma > 0. */
function cvGaussianWeights(ksize: number, sigma: number): Float64Array {
  const w = Float64Array.from({ length: ksize }, (_, i) => Math.exp(-((i - (ksize - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

/**
 * The scripts' disk(radius, alias_blur) (defocus blur): an aliased disk X^2 + Y^2 <= r^2 on a
 * 17x17 grid (or (2r+1)^2 past r = 8), normalised, then cv2.GaussianBlur (3x3, or 5x5 past r = 8,
 * sigma alias_blur, BORDER_REFLECT_101). Border rings whose weights sum below 1e-12 (beneath
 * float32 resolution) are trimmed. Returns the square kernel and its radius (side 2r + 1).
 */
export function diskKernel(radius: number, aliasBlur: number): { kernel: Float64Array; radius: number } {
  const L: number[] = [];
  const [lo, ksize] = radius <= 8 ? [-8, 3] : [-radius, 5];
  for (let v = lo; v <= -lo; v++) L.push(v);
  const n = L.length;
  const disk = new Float64Array(n * n);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) disk[y * n + x] = L[x] ** 2 + L[y] ** 2 <= radius ** 2 ? 1 : 0;
  const total = disk.reduce((a, b) => a + b, 0);
  for (let i = 0; i < disk.length; i++) disk[i] /= total;
  const g = cvGaussianWeights(ksize, aliasBlur);
  const r = (ksize - 1) / 2;
  const rows = new Float64Array(n * n);
  const out = new Float64Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += g[k + r] * disk[y * n + reflect101Index(x + k, n)];
      rows[y * n + x] = s;
    }
  }
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += g[k + r] * rows[reflect101Index(y + k, n) * n + x];
      out[y * n + x] = s;
    }
  }
  // Trim rings (the kernel is symmetric about its centre) that carry no float32-visible weight.
  const c = (n - 1) / 2;
  let keep = c;
  const ringWeight = (d: number) => {
    let s = 0;
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (Math.max(Math.abs(y - c), Math.abs(x - c)) === d) s += Math.abs(out[y * n + x]);
    return s;
  };
  while (keep > 0 && ringWeight(keep) < 1e-12) keep--;
  const side = 2 * keep + 1;
  const kernel = new Float64Array(side * side);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) kernel[y * side + x] = out[(y + c - keep) * n + (x + c - keep)];
  return { kernel, radius: keep };
}

/**
 * ImageMagick's MotionBlurImage kernel (effect.c, GetMotionBlurKernel): width 2 ceil(radius) + 1
 * (GetOptimalKernelWidth1D), one-sided Gaussian weights exp(-i^2 / (2 sigma^2)), i = 0..width-1,
 * normalised.
 */
export function motionBlurWeights(radius: number, sigma: number): Float64Array {
  const width = 2 * Math.ceil(radius) + 1;
  const w = Float64Array.from({ length: width }, (_, i) => Math.exp(-(i * i) / (2 * sigma * sigma)));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

/**
 * ImageMagick's motion blur offsets for an angle in degrees: tap i reads the pixel at
 * (x + ceil(i cos a - 0.5), y + ceil(i sin a - 0.5)). Returned as [dx0, dy0, dx1, dy1, ...].
 */
export function motionBlurOffsets(width: number, angleDegrees: number): Int32Array {
  const a = (angleDegrees * Math.PI) / 180;
  const px = width * Math.sin(a);
  const py = width * Math.cos(a);
  const len = Math.hypot(px, py);
  const out = new Int32Array(2 * width);
  for (let i = 0; i < width; i++) {
    out[2 * i] = Math.ceil((i * py) / len - 0.5);
    out[2 * i + 1] = Math.ceil((i * px) / len - 0.5);
  }
  return out;
}

/**
 * numpy.arange(start, stop, step) for floats: ceil((stop - start) / step) values start,
 * start + step, then start + i * delta with delta = (start + step) - start (numpy fills from the
 * first two values, DOUBLE_fill). That delta is not always step: arange(1, 1.26, 0.01)[25] is
 * 1.2500000000000002, and scipy's zoom sizes round(26 * z) then differ (33, not 32).
 */
export function numpyArange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  return Array.from({ length: n }, (_, i) => (i === 1 ? start + step : start + i * delta));
}

/**
 * One axis of the scripts' clipped_zoom(img, z): crop ch = ceil(n / z) centred (top = (n - ch)
 * // 2), scipy.ndimage.zoom it (order 1: output round(ch * z), input coordinate = output index *
 * (ch - 1) / (out - 1)), and keep n from trim = (out - n) // 2. Output index i reads the source at
 * top + (i + trim) * step, linearly interpolated within [top, top + ch - 1].
 */
export interface ZoomAxis {
  top: number;
  ch: number;
  trim: number;
  step: number;
}

export function clippedZoomAxis(n: number, zoom: number): ZoomAxis {
  const ch = Math.ceil(n / zoom);
  const top = Math.floor((n - ch) / 2);
  const out = roundHalfEven(ch * zoom);
  const trim = Math.floor((out - n) / 2);
  return { top, ch, trim, step: out > 1 ? (ch - 1) / (out - 1) : 0 };
}

/**
 * Pillow's resampling weights (Resample.c precompute_coeffs) for the BOX filter from inSize to
 * outSize samples: a dense [outSize, inSize] matrix, each row summing to 1.
 */
export function pilBoxWeights(inSize: number, outSize: number): Float64Array {
  const box = (x: number) => (x > -0.5 && x <= 0.5 ? 1 : 0);
  const { start, taps, weights } = pillowWeights(outSize, inSize, box, 0.5);
  const m = new Float64Array(outSize * inSize);
  for (let xx = 0; xx < outSize; xx++) {
    for (let t = 0; t < taps && start[xx] + t < inSize; t++) m[xx * inSize + start[xx] + t] = weights[xx * taps + t];
  }
  return m;
}

/** A square [n, n] map stored as bands: row i has weights[i * width + k] at column start[i] + k. */
export interface Band {
  n: number;
  width: number;
  start: Int32Array;
  weights: Float64Array;
}

/** The banded form of a dense [n, n] matrix (zero columns outside each row's nonzeros dropped). */
export function toBand(dense: Float64Array, n: number): Band {
  const first = new Int32Array(n);
  const last = new Int32Array(n);
  let width = 1;
  for (let i = 0; i < n; i++) {
    let f = -1;
    let l = -1;
    for (let j = 0; j < n; j++) {
      if (dense[i * n + j] === 0) continue;
      if (f < 0) f = j;
      l = j;
    }
    if (f < 0) {
      f = 0;
      l = 0;
    }
    first[i] = f;
    last[i] = l;
    width = Math.max(width, l - f + 1);
  }
  const start = new Int32Array(n);
  const weights = new Float64Array(n * width);
  for (let i = 0; i < n; i++) {
    start[i] = Math.min(first[i], n - width);
    for (let k = 0; k < width; k++) weights[i * width + k] = dense[i * n + start[i] + k];
  }
  return { n, width, start, weights };
}

/**
 * The scripts' pixelate along one axis: Pillow resize of n samples to int(n * c) (at least 1) and
 * back to n, both with the BOX filter, as one [n, n] band (up . down).
 */
export function pixelateBand(n: number, factor: number): Band {
  const small = Math.max(1, Math.trunc(n * factor));
  const down = pilBoxWeights(n, small);
  const up = pilBoxWeights(small, n);
  const both = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < small; k++) {
      const u = up[i * small + k];
      if (u === 0) continue;
      for (let j = 0; j < n; j++) both[i * n + j] += u * down[k * n + j];
    }
  }
  return toBand(both, n);
}

/** The JPEG standard's (Annex K) luminance and chrominance quantisation tables, row-major. */
const LUMA_BASE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_BASE = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, ...new Array<number>(32).fill(99)];

/**
 * libjpeg's tables at a quality (jcparam.c: jpeg_quality_scaling, jpeg_add_quant_table with
 * force_baseline, as Pillow calls them): scale = q < 50 ? 5000 / q : 200 - 2q, entry =
 * clamp(floor((base * scale + 50) / 100), 1, 255).
 */
export function jpegQuantTables(quality: number): { luma: Float64Array; chroma: Float64Array } {
  const q = Math.min(100, Math.max(1, Math.trunc(quality)));
  const scale = q < 50 ? Math.trunc(5000 / q) : 200 - 2 * q;
  const at = (base: number[]) => Float64Array.from(base, (b) => Math.min(255, Math.max(1, Math.trunc((b * scale + 50) / 100))));
  return { luma: at(LUMA_BASE), chroma: at(CHROMA_BASE) };
}

/** The 8-point orthonormal DCT-II basis: basis[u * 8 + x] = C(u) / 2 * cos((2x + 1) u pi / 16), C(0) = 1/sqrt 2. */
export function dctBasis(): Float64Array {
  return Float64Array.from({ length: 64 }, (_, i) => {
    const u = Math.floor(i / 8);
    const x = i % 8;
    return (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  });
}

/**
 * cv2.getAffineTransform(src, dst) for three point pairs ((x, y) each): the 2x3 M with
 * M [x y 1]^T = dst, and the inverse map that cv2.warpAffine samples with (dst -> src), both as
 * [a, b, c, d, e, f] meaning x' = a x + b y + c, y' = d x + e y + f.
 */
export function affineFromPoints(src: readonly number[], dst: readonly number[]): { forward: number[]; inverse: number[] } {
  // Solve [x y 1] rows against the dst x's and y's (Cramer's rule on the 3x3 system).
  const [x0, y0, x1, y1, x2, y2] = src;
  const det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1);
  if (Math.abs(det) < 1e-12) throw new Error('affineFromPoints: the three source points are collinear');
  const solve = (v0: number, v1: number, v2: number) => [
    (v0 * (y1 - y2) - y0 * (v1 - v2) + (v1 * y2 - v2 * y1)) / det,
    (x0 * (v1 - v2) - v0 * (x1 - x2) + (x1 * v2 - x2 * v1)) / det,
    (x0 * (y1 * v2 - y2 * v1) - y0 * (x1 * v2 - x2 * v1) + v0 * (x1 * y2 - x2 * y1)) / det,
  ];
  const [a, b, c] = solve(dst[0], dst[2], dst[4]);
  const [d, e, f] = solve(dst[1], dst[3], dst[5]);
  const D = a * e - b * d;
  const inverse = [e / D, -b / D, (b * f - c * e) / D, -d / D, a / D, (c * d - a * f) / D];
  return { forward: [a, b, c, d, e, f], inverse };
}
