// Bilinear resizing of planar C x h x w images with half-pixel centres (align_corners=False), as
// separable per-axis weights: each output pixel is a weighted sum of a run of input pixels along
// one axis, then the other.
//
// Plain (PyTorch's interpolate(mode='bilinear')): two taps, at the nearest input pixels.
// Antialiased (interpolate(..., antialias=True), which is what torchvision's Resize does by
// default, and PIL's BILINEAR): when an axis shrinks by s > 1, the triangle filter is widened to
// s input pixels each side, so every input pixel counts towards the output; plain bilinear would
// read 2 of every s pixels and alias. Growing an axis, both are the same.

export interface AxisWeights {
  /** First input index of output i. */
  start: Int32Array;
  /** Taps per output (every output has the same count; unused taps have weight 0). */
  taps: number;
  /** weights[i * taps + t] multiplies input start[i] + t. */
  weights: Float64Array;
}

function plainWeights(outSize: number, inSize: number): AxisWeights {
  const start = new Int32Array(outSize);
  const weights = new Float64Array(outSize * 2);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const x = Math.max(0, (i + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(x), inSize - 1);
    const frac = Math.fround(x - lo); // the float32 fraction the loaders have always used
    // At the last pixel both taps read it (lo + 1 is past the end): start one earlier, weight 0 first.
    if (lo + 1 < inSize) {
      start[i] = lo;
      weights[2 * i] = 1 - frac;
      weights[2 * i + 1] = frac;
    } else {
      start[i] = Math.max(0, lo - 1);
      weights[2 * i + (lo > 0 ? 1 : 0)] = 1;
    }
  }
  return { start, taps: 2, weights };
}

/**
 * Pillow's resampling weights (Resample.c precompute_coeffs; PyTorch's antialias=True computes the
 * same) from inSize to outSize samples for `filter`, of support `support` (half its width), which
 * is widened by the shrink factor when shrinking. Each output's weights sum to 1.
 */
export function pillowWeights(outSize: number, inSize: number, filter: (x: number) => number, support: number): AxisWeights {
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1);
  const reach = support * stretch;
  const taps = Math.ceil(reach) * 2 + 1;
  const start = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - reach + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + reach + 0.5), inSize);
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const w = filter((j - centre + 0.5) / stretch);
      weights[i * taps + j - lo] = w;
      total += w;
    }
    if (total !== 0) for (let t = 0; t < hi - lo; t++) weights[i * taps + t] /= total;
    start[i] = lo;
  }
  return { start, taps, weights };
}

/** The triangle (bilinear) filter of support 1. */
const triangle = (x: number) => Math.max(0, 1 - Math.abs(x));

function antialiasWeights(outSize: number, inSize: number): AxisWeights {
  return pillowWeights(outSize, inSize, triangle, 1);
}

/** Resizes planar C x h x w to C x H x W (a no-op when the sizes are equal). */
export function resizeBilinear(src: Float32Array, c: number, h: number, w: number, H: number, W: number, antialias = false): Float32Array {
  if (h === H && w === W) return src;
  const axis = antialias ? antialiasWeights : plainWeights;
  const ys = axis(H, h);
  const xs = axis(W, w);
  // Along x first, kept in float64, then along y: the same sums as weighting the four
  // neighbours directly, rounded to float32 once.
  const rows = new Float64Array(c * h * W);
  for (let r = 0; r < c * h; r++) {
    for (let x = 0; x < W; x++) {
      const from = r * w + xs.start[x];
      let sum = 0;
      for (let t = 0; t < xs.taps && xs.start[x] + t < w; t++) sum += src[from + t] * xs.weights[x * xs.taps + t];
      rows[r * W + x] = sum;
    }
  }
  const out = new Float32Array(c * H * W);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let sum = 0;
        for (let t = 0; t < ys.taps && ys.start[y] + t < h; t++) sum += rows[(ch * h + ys.start[y] + t) * W + x] * ys.weights[y * ys.taps + t];
        out[(ch * H + y) * W + x] = sum;
      }
    }
  }
  return out;
}

/** Each of `n` planar images [c, h, w] packed in `src` resized to H x W by resizeBilinear. */
export function resizeEach(src: Float32Array, n: number, c: number, h: number, w: number, H: number, W: number, antialias = false): Float32Array {
  if (h === H && w === W) return src;
  const per = c * h * w;
  const out = new Float32Array(n * c * H * W);
  for (let i = 0; i < n; i++) out.set(resizeBilinear(src.subarray(i * per, (i + 1) * per), c, h, w, H, W, antialias), i * c * H * W);
  return out;
}
