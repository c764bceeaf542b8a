// Float64 references of Attentive CutMix's documented rules (docs/TRAINING.md section 4) and a
// stand-in attention network, shared by attentive-cutmix.test.ts and attentive-cutmix-runs.test.ts.
import type { AttentionNet } from '../src/gradmix/attentive-cutmix.js';
import * as ops from '../src/ops/index.js';
import type { Rng } from '../src/random.js';
import type { Tensor } from '../src/tensor.js';
import { randomArray } from './helpers.js';

export type Dims = [number, number, number, number];

/** [start, end) of cell i of an n-pixel axis split into g cells (the documented rule). */
export const span = (i: number, n: number, g: number) => [Math.floor((i * n) / g), Math.floor(((i + 1) * n) / g)];

/** Float64 reference of attentionGrid: channel sum, adaptive average pooling to g x g. */
export function refGrid(feat: Float64Array, [B, F, FH, FW]: Dims, g: number): Float64Array {
  const out = new Float64Array(B * g * g);
  for (let b = 0; b < B; b++) {
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++) {
        const [y0, y1] = [Math.floor((gy * FH) / g), Math.ceil(((gy + 1) * FH) / g)];
        const [x0, x1] = [Math.floor((gx * FW) / g), Math.ceil(((gx + 1) * FW) / g)];
        let s = 0;
        for (let f = 0; f < F; f++) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += feat[((b * F + f) * FH + y) * FW + x];
        out[(b * g + gy) * g + gx] = s / ((y1 - y0) * (x1 - x0));
      }
    }
  }
  return out;
}

/** The k best cells of one grid row: highest score first, ties to the lowest index. */
function refTopK(scores: ArrayLike<number>, k: number): Set<number> {
  const idx = Array.from(scores, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return new Set(idx.slice(0, k));
}

/** Float64 reference of attentivePaste: mixed images, 0/1 cells and weights. */
export function refPaste(x: Float64Array, [B, C, H, W]: Dims, scores: Float64Array, g: number, partner: Int32Array, k: number) {
  const mixed = x.slice();
  const cells = new Float64Array(B * g * g);
  const weights = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const j = partner[b];
    const chosen = refTopK(scores.subarray(j * g * g, (j + 1) * g * g), k);
    for (const c of chosen) {
      cells[b * g * g + c] = 1;
      const [y0, y1] = span(Math.floor(c / g), H, g);
      const [x0, x1] = span(c % g, W, g);
      weights[b] += ((y1 - y0) * (x1 - x0)) / (H * W);
      for (let ch = 0; ch < C; ch++) {
        for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) mixed[((b * C + ch) * H + y) * W + xx] = x[((j * C + ch) * H + y) * W + xx];
      }
    }
  }
  return { mixed, cells, weights };
}

export function randomImages(rng: Rng, dims: Dims): Float64Array {
  return randomArray(rng, dims[0] * dims[1] * dims[2] * dims[3], 0, 1).map(Math.fround);
}

/** A stand-in attention network: its 'feature map' is its input, so the grid is the image's own pooled pixel sum. */
export function identityNet(): AttentionNet & { evalCalls: number } {
  return {
    evalCalls: 0,
    featureMap: (x: Tensor) => ops.clone(x),
    eval() {
      this.evalCalls++;
      return this;
    },
  };
}
