// Float64 references for ops that work along one axis (reductions, softmax, slice, concat,
// indexSelect): every tensor is viewed as [outer, len, inner] around the axis, and a row
// function maps the 1-D rows (one per (outer, inner) pair) of the inputs to one output row.
// The axis arithmetic is written again here, not taken from src/ops/launch.ts (normAxis, splitAt),
// so a mistake there cannot move an op and its reference together.
import type { Shape } from '../src/tensor.js';

/** `axis` counted from the front (a negative one from the back, as in PyTorch). */
export function frontAxis(axis: number, rank: number): number {
  const a = axis < 0 ? rank + axis : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`axis-ref: axis ${axis} is outside a rank-${rank} shape`);
  return a;
}

/** [product of the dims before a, dim a, product of the dims after a]. */
function aroundAxis(shape: Shape, a: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < a; i++) outer *= shape[i];
  for (let i = a + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[a], inner];
}

export interface AxisInput {
  data: Float64Array;
  shape: Shape;
}

/**
 * out[o, :, k] = f(rows of each input at (o, k)); every input shares outer and inner, and every
 * output row must have the same length.
 */
export function mapRows(inputs: AxisInput[], axis: number, f: (rows: Float64Array[]) => ArrayLike<number>): Float64Array {
  const a = frontAxis(axis, inputs[0].shape.length);
  const views = inputs.map((x) => aroundAxis(x.shape, a));
  const [outer, , inner] = views[0];
  let out: Float64Array | null = null;
  let outLen = 0;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const rows = inputs.map((x, t) => {
        const len = views[t][1];
        return Float64Array.from({ length: len }, (_, j) => x.data[(o * len + j) * inner + k]);
      });
      const r = f(rows);
      if (!out) {
        outLen = r.length;
        out = new Float64Array(outer * outLen * inner);
      }
      for (let j = 0; j < outLen; j++) out[(o * outLen + j) * inner + k] = r[j];
    }
  }
  return out ?? new Float64Array(0);
}

/** The shape with `axis` resized to `len` (or dropped when len is null). */
export function resizeAxis(shape: Shape, axis: number, len: number | null): number[] {
  const a = frontAxis(axis, shape.length);
  return len === null ? shape.filter((_, i) => i !== a) : shape.map((d, i) => (i === a ? len : d));
}

export function rowMax(row: Float64Array): number {
  return row.reduce((m, v) => Math.max(m, v), -Infinity);
}

/** Index of the first maximum (PyTorch's max(dim) rule for ties). */
export function rowArgmax(row: Float64Array): number {
  let arg = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[arg]) arg = j;
  return arg;
}

export function rowLogsumexp(row: Float64Array): number {
  const m = rowMax(row);
  return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
}

export function rowSum(row: Float64Array): number {
  let s = 0;
  for (let j = 0; j < row.length; j++) s += row[j];
  return s;
}
