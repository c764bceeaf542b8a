// The float64 BatchNorm2d reference (PyTorch semantics) and its inputs, shared by the batch-norm
// tests: plain, with the fused ReLU, and with a residual block's fused add + ReLU.
import type { Rng } from '../src/random.js';
import { randomArray } from './helpers.js';

export type Shape4 = [number, number, number, number];

export interface RefOptions {
  training: boolean;
  momentum?: number;
  eps?: number;
  relu?: boolean;
}

/**
 * Float64 BatchNorm2d; returns the output and the updated running stats. With `residual`, it is
 * added to the normalised value before the ReLU (a residual block's end).
 */
export function bnRef(x: Float64Array, w: Float64Array, b: Float64Array, rm: Float64Array, rv: Float64Array, shape: Shape4, o: RefOptions, residual?: Float64Array) {
  const [B, C, H, W] = shape;
  const hw = H * W;
  const n = B * hw;
  const { momentum = 0.1, eps = 1e-5 } = o;
  const out = new Float64Array(x.length);
  const runningMean = Float64Array.from(rm);
  const runningVar = Float64Array.from(rv);
  for (let c = 0; c < C; c++) {
    const at = (bi: number, s: number) => bi * C * hw + c * hw + s;
    let mean = rm[c];
    let variance = rv[c];
    if (o.training) {
      mean = 0;
      for (let bi = 0; bi < B; bi++) for (let s = 0; s < hw; s++) mean += x[at(bi, s)] / n;
      let m2 = 0;
      for (let bi = 0; bi < B; bi++) for (let s = 0; s < hw; s++) m2 += (x[at(bi, s)] - mean) ** 2;
      variance = m2 / n;
      runningMean[c] = (1 - momentum) * rm[c] + momentum * mean;
      runningVar[c] = (1 - momentum) * rv[c] + momentum * (m2 / (n - 1));
    }
    const invstd = 1 / Math.sqrt(variance + eps);
    for (let bi = 0; bi < B; bi++) {
      for (let s = 0; s < hw; s++) {
        const i = at(bi, s);
        const v = (x[i] - mean) * invstd * w[c] + b[c] + (residual ? residual[i] : 0);
        out[i] = o.relu ? Math.max(v, 0) : v;
      }
    }
  }
  return { out, runningMean, runningVar };
}

export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Inputs of one case: x with a per-channel offset and spread, affine params, running stats. */
export function makeInputs(rng: Rng, shape: Shape4, offset = 0) {
  const C = shape[1];
  const x = randomArray(rng, size(shape), -2, 2).map((v) => Math.fround(v + offset));
  const round = (a: Float64Array) => a.map(Math.fround);
  return {
    x,
    w: round(randomArray(rng, C, 0.5, 1.5)),
    b: round(randomArray(rng, C, -0.5, 0.5)),
    rm: round(randomArray(rng, C, -1, 1)),
    rv: round(randomArray(rng, C, 0.5, 2)),
  };
}
