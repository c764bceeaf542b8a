// Shape ops. reshape is a view on the same storage; permute, transpose, concat, slice and
// indexSelect copy (kernels/layout.wgsl, raw 32-bit words, so int32 tensors work too).
import { record } from '../autograd.js';
import { Tensor, checkShape, formatShape, sizeOf, type Shape } from '../tensor.js';
import { WG, grid, launch, normAxis, splitAt } from './launch.js';

/** A view with a new shape over the same buffer; one dimension may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const holes = shape.filter((d) => d === -1).length;
  let resolved = [...shape];
  if (holes > 1) throw new Error(`reshape: at most one -1 in ${formatShape(shape)}`);
  if (holes === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`);
    resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (sizeOf(resolved) !== x.size) throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)}`);
  checkShape(resolved, 'reshape'); // before the storage is retained ([1.5, 4] has 6 elements too)
  const out = new Tensor(resolved, x.storage.retain(), x.dtype);
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

/** The most dimensions permute handles (two vec4 of shape and strides in the kernel). */
export const MAX_PERMUTE_RANK = 8;
/** The word written where an index is out of range: NaN for float32, -1 for int32. */
const FLOAT_NAN_BITS = 0x7fc00000;
const INT_MINUS_ONE_BITS = 0xffffffff;

const fillFor = (x: Tensor) => (x.dtype === 'float32' ? FLOAT_NAN_BITS : INT_MINUS_ONE_BITS);

/** Uniform parameters of the axis kernels of kernels/layout.wgsl. */
function axisParams(outer: number, srcLen: number, dstLen: number, inner: number, shift = 0, fill = 0) {
  return { outer, src_len: srcLen, dst_len: dstLen, inner, shift, fill };
}

function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** out[o, j, k] = x[o, j - shift, k] over out's [outer, dstLen, inner], `fill` outside x. */
function windowRaw(x: Tensor, shape: Shape, axis: number, shift: number, fill = 0): Tensor {
  const out = Tensor.empty(shape, x.dtype);
  const [outer, dstLen, inner] = splitAt(shape, axis);
  launch('layout.window', {
    tensors: { x, out },
    params: axisParams(outer, x.shape[axis], dstLen, inner, shift, fill),
    workgroups: grid(out.size, WG),
    overrides: { WG },
  });
  return out;
}

/** Dimension d of the output is dimension perm[d] of x (negative entries count from the end). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank) throw new Error(`permute: permutation [${perm.join(', ')}] has ${perm.length} entries for a tensor of rank ${x.rank}`);
  const p = perm.map((a) => normAxis('permute', a, x.rank));
  if (new Set(p).size !== p.length) throw new Error(`permute: [${perm.join(', ')}] repeats an axis; it must be a permutation of 0..${x.rank - 1}`);
  if (x.rank > MAX_PERMUTE_RANK) throw new Error(`permute: rank ${x.rank} exceeds the supported ${MAX_PERMUTE_RANK}`);
  // Moving only size-1 dimensions keeps the element order: a view.
  const moved = p.filter((a) => x.shape[a] !== 1);
  if (moved.every((a, i) => i === 0 || moved[i - 1] < a))
    return reshape(
      x,
      p.map((a) => x.shape[a]),
    );
  const shape = p.map((a) => x.shape[a]);
  const inStrides = stridesOf(x.shape);
  const pad = MAX_PERMUTE_RANK - x.rank;
  const dims = [...new Array<number>(pad).fill(1), ...shape];
  const strides = [...new Array<number>(pad).fill(0), ...p.map((a) => inStrides[a])];
  const out = Tensor.empty(shape, x.dtype);
  launch('layout.permute', {
    tensors: { x, out },
    params: { n: out.size, shape_lo: dims.slice(0, 4), shape_hi: dims.slice(4), stride_lo: strides.slice(0, 4), stride_hi: strides.slice(4) },
    workgroups: grid(out.size, WG),
    overrides: { WG },
  });
  const inverse = new Array<number>(p.length);
  p.forEach((a, d) => (inverse[a] = d));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps axes a and b. */
export function transpose(x: Tensor, a: number, b: number): Tensor {
  const perm = x.shape.map((_, i) => i);
  const na = normAxis('transpose', a, x.rank);
  const nb = normAxis('transpose', b, x.rank);
  perm[na] = nb;
  perm[nb] = na;
  return permute(x, perm);
}

/** x's elements at positions [start, end) along `axis`; negative start/end count from the end. */
export function slice(x: Tensor, axis: number, start: number, end = x.shape[normAxis('slice', axis, x.rank)]): Tensor {
  const a = normAxis('slice', axis, x.rank);
  const len = x.shape[a];
  const s = start < 0 ? start + len : start;
  const e = end < 0 ? end + len : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > len || s > e) {
    throw new Error(`slice: range [${start}, ${end}) is out of bounds for axis ${axis} of length ${len} (shape ${formatShape(x.shape)})`);
  }
  const shape = x.shape.map((d, i) => (i === a ? e - s : d));
  const out = windowRaw(x, shape, a, -s);
  // The gradient is g placed at [s, e) of a zero tensor shaped like x.
  return record(out, 'slice', [x], (g) => [windowRaw(g, x.shape, a, s, 0)]);
}

/** Joins tensors along `axis`; all must share dtype and every other dimension. */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const first = tensors[0];
  const a = normAxis('concat', axis, first.rank);
  for (const [i, t] of tensors.entries()) {
    if (t.dtype !== first.dtype) throw new Error(`concat: tensor ${i} is ${t.dtype}, tensor 0 is ${first.dtype}`);
    if (t.rank !== first.rank || t.shape.some((d, k) => k !== a && d !== first.shape[k])) {
      throw new Error(`concat: tensor ${i} has shape ${formatShape(t.shape)}, incompatible with tensor 0's ${formatShape(first.shape)} along axis ${axis}`);
    }
  }
  const offsets: number[] = [];
  let total = 0;
  for (const t of tensors) {
    offsets.push(total);
    total += t.shape[a];
  }
  const shape = first.shape.map((d, k) => (k === a ? total : d));
  const out = Tensor.empty(shape, first.dtype);
  tensors.forEach((t, i) => {
    const [outer, len, inner] = splitAt(t.shape, a);
    launch('layout.place', {
      tensors: { x: t, out },
      params: axisParams(outer, len, total, inner, offsets[i]),
      workgroups: grid(t.size, WG),
      overrides: { WG },
    });
  });
  // A copy: the caller may reuse its array, and the graph must keep these inputs.
  const inputs = [...tensors];
  return record(out, 'concat', inputs, (g) => inputs.map((t, i) => (t.requiresGrad ? windowRaw(g, t.shape, a, -offsets[i]) : null)));
}

/**
 * out has x's shape with `axis` resized to indices.size: out[..., m, ...] = x[..., indices[m], ...].
 * Indices are int32 and may repeat (their gradients add up). They are not checked on the host
 * (that needs a readback): an index outside [0, x.shape[axis]) yields NaN (float32) or -1 (int32)
 * for its elements and receives no gradient.
 */
export function indexSelect(x: Tensor, axis: number, indices: Tensor): Tensor {
  const a = normAxis('indexSelect', axis, x.rank);
  if (indices.dtype !== 'int32') throw new Error(`indexSelect: indices must be an int32 tensor, got ${indices.dtype}`);
  if (indices.rank !== 1) throw new Error(`indexSelect: indices must be 1-D, got shape ${formatShape(indices.shape)}`);
  const [outer, len, inner] = splitAt(x.shape, a);
  const m = indices.size;
  const shape = x.shape.map((d, k) => (k === a ? m : d));
  const out = Tensor.empty(shape, x.dtype);
  launch('layout.gather', {
    tensors: { x, idx: indices, out },
    params: axisParams(outer, len, m, inner, 0, fillFor(x)),
    workgroups: grid(out.size, WG),
    overrides: { WG },
  });
  return record(out, 'indexSelect', [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launch('layout.gather_backward', {
      tensors: { g, idx: indices, dx },
      params: axisParams(outer, len, m, inner),
      workgroups: grid(x.size, WG),
      overrides: { WG },
    });
    return [dx];
  });
}
