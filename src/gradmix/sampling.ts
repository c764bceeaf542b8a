// Host-side randomness of the mixing methods (docs/TRAINING.md section 4), all from a seeded Rng so a run
// is reproducible: derangement partners, GradMix box sides, Beta mixing weights, CutMix boxes.
import type { Rng } from '../random.js';
import { roundHalfEven } from '../augment/params.js';

/**
 * A uniformly random permutation with no fixed point (partner[i] != i), by rejection: shuffle
 * until no image is its own partner (about e = 2.7 shuffles on average). n = 1 has none.
 */
export function derangement(n: number, rng: Rng): Int32Array {
  if (!Number.isInteger(n) || n < 2) {
    throw new Error(`derangement: a batch of ${n} image(s) has no partner other than itself; mixing needs at least 2 images`);
  }
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (;;) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    if (p.every((v, i) => v !== i)) return p;
  }
}

/**
 * The GradMix box side along an axis of n pixels: max(1, round(gamma * n)), at most n, rounding
 * half to even as Python's round() (ties are rare: gamma * n is continuous).
 */
export function boxSide(gamma: number, n: number): number {
  return Math.min(n, Math.max(1, roundHalfEven(gamma * n)));
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 via Gamma(shape + 1) * U^(1/shape). */
export function sampleGamma(shape: number, rng: Rng): number {
  if (!(shape > 0)) throw new Error(`sampleGamma: shape must be positive, got ${shape}`);
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng.uniform();
    return sampleGamma(shape + 1, rng) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.uniform();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(a: number, b: number, rng: Rng): number {
  const x = sampleGamma(a, rng);
  const y = sampleGamma(b, rng);
  // Both underflow to 0 only for tiny shapes; split evenly rather than return NaN.
  return x + y > 0 ? x / (x + y) : 0.5;
}

/** A box as top, left, height, width (pixels; height or width may be 0 for an empty box). */
export type Box = [number, number, number, number];

/**
 * The CutMix paper's box for mixing weight lam: side floor(H * sqrt(1 - lam)) x floor(W *
 * sqrt(1 - lam)), centre uniform over the pixels, top-left at centre - floor(side / 2), then
 * clipped to the image. (The official code spans centre +- floor(side / 2), one pixel short for
 * odd sides; here the unclipped box has exactly the paper's side.)
 */
export function cutmixBox(lam: number, H: number, W: number, rng: Rng): Box {
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.floor(H * ratio);
  const cutW = Math.floor(W * ratio);
  const cy = rng.int(H);
  const cx = rng.int(W);
  const clip = (v: number, n: number) => Math.min(Math.max(v, 0), n);
  const top = clip(cy - Math.floor(cutH / 2), H);
  const left = clip(cx - Math.floor(cutW / 2), W);
  const bottom = clip(cy - Math.floor(cutH / 2) + cutH, H);
  const right = clip(cx - Math.floor(cutW / 2) + cutW, W);
  return [top, left, bottom - top, right - left];
}
