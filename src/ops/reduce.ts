// Reductions over one axis (sum, mean, max with first-argmax, logsumexp), forward and backward.
// Kernels: kernels/reduce.wgsl.
import { record } from '../autograd.js';
import { Tensor, type Shape } from '../tensor.js';
import { WG, grid, launch, normAxis, requireFloat, splitAt } from './launch.js';

/** Past this many terms per output with few outputs, sums run in two passes for parallelism. */
const SPLIT_LEN = 4096;
const SPLIT_OUTPUTS = 256;

function reducedShape(shape: Shape, axis: number, keepDims: boolean): Shape {
  return keepDims ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}

/** Uniform parameters of kernels/reduce.wgsl. */
function params(outer: number, len: number, inner: number, scale = 1, chunk = 0) {
  return { outer, len, inner, scale, chunk };
}

function sumRaw(x: Tensor, outer: number, len: number, inner: number, scale: number, shape: Shape): Tensor {
  if (len > SPLIT_LEN && outer * inner < SPLIT_OUTPUTS) {
    // Pass 1 sums chunks of about sqrt(len) terms in parallel, pass 2 sums the chunks.
    const chunk = Math.ceil(Math.sqrt(len));
    const chunks = Math.ceil(len / chunk);
    const partial = Tensor.empty([outer, chunks, inner]);
    launch('reduce.sum_chunks', { tensors: { x, out: partial }, params: params(outer, len, inner, 1, chunk), workgroups: grid(outer * chunks * inner, WG), overrides: { WG } });
    const out = sumRaw(partial, outer, chunks, inner, scale, shape);
    partial.dispose();
    return out;
  }
  const out = Tensor.empty(shape);
  launch('reduce.sum', { tensors: { x, out }, params: params(outer, len, inner, scale), workgroups: grid(outer * inner, WG), overrides: { WG } });
  return out;
}

function expand(g: Tensor, like: Shape, outer: number, len: number, inner: number, scale: number): Tensor {
  const dx = Tensor.empty(like);
  launch('reduce.expand', { tensors: { g, out: dx }, params: params(outer, len, inner, scale), workgroups: grid(outer * len * inner, WG), overrides: { WG } });
  return dx;
}

export function sum(x: Tensor, axis: number, keepDims = false): Tensor {
  requireFloat('sum', x);
  const a = normAxis('sum', axis, x.rank);
  const [outer, len, inner] = splitAt(x.shape, a);
  const out = sumRaw(x, outer, len, inner, 1, reducedShape(x.shape, a, keepDims));
  return record(out, 'sum', [x], (g) => [expand(g, x.shape, outer, len, inner, 1)]);
}

export function mean(x: Tensor, axis: number, keepDims = false): Tensor {
  requireFloat('mean', x);
  const a = normAxis('mean', axis, x.rank);
  const [outer, len, inner] = splitAt(x.shape, a);
  const out = sumRaw(x, outer, len, inner, 1 / len, reducedShape(x.shape, a, keepDims));
  return record(out, 'mean', [x], (g) => [expand(g, x.shape, outer, len, inner, 1 / len)]);
}

/** Sum of every element, as a one-element tensor of shape []. */
export function sumAll(x: Tensor): Tensor {
  requireFloat('sumAll', x);
  const out = sumRaw(x, 1, x.size, 1, 1, []);
  return record(out, 'sumAll', [x], (g) => [expand(g, x.shape, 1, x.size, 1, 1)]);
}

export function meanAll(x: Tensor): Tensor {
  requireFloat('meanAll', x);
  const out = sumRaw(x, 1, x.size, 1, 1 / x.size, []);
  return record(out, 'meanAll', [x], (g) => [expand(g, x.shape, 1, x.size, 1, 1 / x.size)]);
}

/**
 * Maximum along an axis with the index of the first maximal element, or of the first NaN (which
 * is then the maximum); the gradient flows to that element (as PyTorch's max(dim)). The backward
 * pass reads `indices`: dispose it only after.
 */
export function max(x: Tensor, axis: number, keepDims = false): { values: Tensor; indices: Tensor } {
  requireFloat('max', x);
  const a = normAxis('max', axis, x.rank);
  const [outer, len, inner] = splitAt(x.shape, a);
  if (len === 0) throw new Error('max: cannot reduce an empty axis');
  const shape = reducedShape(x.shape, a, keepDims);
  const values = Tensor.empty(shape);
  const indices = Tensor.empty(shape, 'int32');
  launch('reduce.maximum', { tensors: { x, out: values, idx: indices }, params: params(outer, len, inner), workgroups: grid(outer * inner, WG), overrides: { WG } });
  record(values, 'max', [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launch('reduce.scatter_argmax', { tensors: { g, idx_in: indices, out: dx }, params: params(outer, len, inner), workgroups: grid(x.size, WG), overrides: { WG } });
    return [dx];
  });
  return { values, indices };
}

export function logsumexp(x: Tensor, axis: number, keepDims = false): Tensor {
  requireFloat('logsumexp', x);
  const a = normAxis('logsumexp', axis, x.rank);
  const [outer, len, inner] = splitAt(x.shape, a);
  if (len === 0) throw new Error('logsumexp: cannot reduce an empty axis');
  const out = Tensor.empty(reducedShape(x.shape, a, keepDims));
  launch('reduce.logsumexp', { tensors: { x, out }, params: params(outer, len, inner), workgroups: grid(outer * inner, WG), overrides: { WG } });
  return record(out, 'logsumexp', [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launch('reduce.logsumexp_backward', { tensors: { x, g, red: out, out: dx }, params: params(outer, len, inner), workgroups: grid(x.size, WG), overrides: { WG } });
    return [dx];
  });
}
