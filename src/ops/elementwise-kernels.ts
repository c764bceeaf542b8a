// The launches of kernels/elementwise.wgsl that record no graph: the op codes its OP override
// selects, and fill. Shared by src/ops/elementwise.ts (the differentiable ops) and src/autograd.ts
// (the seed and the sum of gradients), which must not import the ops that import it.
import type { Tensor } from '../tensor.js';
import { WG, grid, launch } from './launch.js';

export const UNARY = {
  copy: 0,
  neg: 1,
  exp: 2,
  log: 3,
  relu: 4,
  addScalar: 5,
  mulScalar: 6,
  rsubScalar: 7,
  rdivScalar: 8,
  sqrt: 9,
  square: 10,
} as const;
export const BINARY = { add: 0, sub: 1, mul: 2, div: 3, gateByPositive: 4 } as const;

/** out = op(a, b), where b repeats over a's leading dimensions when it is smaller (out has a's or b's shape). */
export function launchBinary(op: keyof typeof BINARY, a: Tensor, b: Tensor, out: Tensor): void {
  launch('elementwise.binary', {
    tensors: { a, b, out },
    params: { n: out.size, a_size: Math.max(a.size, 1), b_size: Math.max(b.size, 1), s: 0 },
    workgroups: grid(out.size, WG),
    overrides: { OP: BINARY[op], WG },
  });
}

/** Overwrites every element of an existing tensor with `value`. */
export function fillInto(out: Tensor, value: number): void {
  launch('elementwise.fill', {
    tensors: { out },
    params: { n: out.size, a_size: 1, b_size: 1, s: value },
    workgroups: grid(out.size, WG),
    overrides: { WG },
  });
}
