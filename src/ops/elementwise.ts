// Elementwise ops with broadcasting over leading dimensions, each forward launch beside its
// backward rule. Kernels: kernels/elementwise.wgsl (unary, binary, fill).
import { record } from '../autograd.js';
import { Tensor, formatShape, sizeOf, type Shape } from '../tensor.js';
import { WG, grid, launch, requireFloat, sameShape } from './launch.js';
import { reshape } from './shape.js';
import { sum } from './reduce.js';
import { UNARY, fillInto, launchBinary, type BINARY } from './elementwise-kernels.js';

export { fillInto };

function unaryRaw(op: keyof typeof UNARY, x: Tensor, s = 0): Tensor {
  requireFloat(op, x);
  const out = Tensor.empty(x.shape);
  launch('elementwise.unary', {
    tensors: { x, out },
    params: { n: x.size, a_size: 1, b_size: 1, s },
    workgroups: grid(x.size, WG),
    overrides: { OP: UNARY[op], WG },
  });
  return out;
}

/**
 * The broadcast result shape: equal shapes, or one operand's shape (leading 1s dropped) is a
 * suffix of the other's, so it repeats over the other's leading dimensions. The result has the
 * larger rank, as PyTorch's: [2, 3] with [1, 1, 3] is [1, 2, 3].
 */
export function broadcastShape(op: string, a: Shape, b: Shape): Shape {
  if (sameShape(a, b)) return a;
  const strip = (s: Shape) => s.slice(s.findIndex((d) => d !== 1) < 0 ? s.length : s.findIndex((d) => d !== 1));
  const isSuffix = (small: Shape, big: Shape) => {
    const s = strip(small);
    return s.length <= big.length && s.every((d, i) => d === big[big.length - s.length + i]);
  };
  // small's dimensions beyond big's rank are all 1 (isSuffix dropped them), so they lead the result.
  const widen = (big: Shape, small: Shape) => [...new Array<number>(Math.max(0, small.length - big.length)).fill(1), ...big];
  if (isSuffix(b, a)) return widen(a, b);
  if (isSuffix(a, b)) return widen(b, a);
  throw new Error(`${op}: shape mismatch: cannot broadcast ${formatShape(a)} with ${formatShape(b)} (only over leading dimensions)`);
}

function binaryRaw(op: keyof typeof BINARY, a: Tensor, b: Tensor): Tensor {
  requireFloat(op, a, b);
  const out = Tensor.empty(broadcastShape(op, a.shape, b.shape));
  launchBinary(op, a, b, out);
  return out;
}

/** Sums a broadcast gradient back over the leading dimensions it was repeated along. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const n = sizeOf(shape);
  // Shapes that differ only in leading 1s ([1, 2, 3] to [2, 3]) hold the same elements: a view.
  if (g.size === n) return reshape(g, shape);
  const folded = reshape(g, [g.size / n, n]);
  const s = sum(folded, 0);
  const out = reshape(s, shape);
  folded.dispose();
  s.dispose();
  return out;
}

export function fill(shape: Shape, value: number): Tensor {
  const out = Tensor.empty(shape);
  fillInto(out, value);
  return out;
}

export const zeros = (shape: Shape) => fill(shape, 0);
export const ones = (shape: Shape) => fill(shape, 1);
export const onesLike = (t: Tensor) => fill(t.shape, 1);
export const zerosLike = (t: Tensor) => fill(t.shape, 0);

/** A copy that does not share storage (and does not record a graph edge). */
export function clone(x: Tensor): Tensor {
  return unaryRaw('copy', x);
}

export function add(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw('add', a, b), 'add', [a, b], (g) => [sumToShape(g, a.shape), sumToShape(g, b.shape)]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw('sub', a, b), 'sub', [a, b], (g) => {
    const nb = b.requiresGrad ? unaryRaw('neg', g) : null;
    const gb = nb && sumToShape(nb, b.shape);
    if (nb && gb !== nb) nb.dispose();
    return [sumToShape(g, a.shape), gb];
  });
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw('mul', a, b), 'mul', [a, b], (g) => [a.requiresGrad ? reduced(binaryRaw('mul', g, b), a.shape) : null, b.requiresGrad ? reduced(binaryRaw('mul', g, a), b.shape) : null]);
}

export function div(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw('div', a, b), 'div', [a, b], (g) => {
    const gOverB = binaryRaw('div', g, b);
    let gb: Tensor | null = null;
    if (b.requiresGrad) {
      // d(a/b)/db = -a/b^2 = -(g/b) * (a/b)
      const aOverB = binaryRaw('div', a, b);
      const t = binaryRaw('mul', gOverB, aOverB);
      gb = reduced(unaryRaw('neg', t), b.shape);
      aOverB.dispose();
      t.dispose();
    }
    return [a.requiresGrad ? reduced(gOverB, a.shape) : (gOverB.dispose(), null), gb];
  });
}

/** sumToShape that frees its input when it made a new tensor. */
function reduced(t: Tensor, shape: Shape): Tensor {
  const r = sumToShape(t, shape);
  if (r !== t) t.dispose();
  return r;
}

export function neg(x: Tensor): Tensor {
  return record(unaryRaw('neg', x), 'neg', [x], (g) => [unaryRaw('neg', g)]);
}

export function exp(x: Tensor): Tensor {
  const out = unaryRaw('exp', x);
  return record(out, 'exp', [x], (g) => [binaryRaw('mul', g, out)]);
}

export function log(x: Tensor): Tensor {
  return record(unaryRaw('log', x), 'log', [x], (g) => [binaryRaw('div', g, x)]);
}

export function relu(x: Tensor): Tensor {
  return record(unaryRaw('relu', x), 'relu', [x], (g) => [binaryRaw('gateByPositive', g, x)]);
}

export function sqrt(x: Tensor): Tensor {
  const out = unaryRaw('sqrt', x);
  return record(out, 'sqrt', [x], (g) => {
    const t = binaryRaw('div', g, out);
    const r = unaryRaw('mulScalar', t, 0.5);
    t.dispose();
    return [r];
  });
}

export function square(x: Tensor): Tensor {
  return record(unaryRaw('square', x), 'square', [x], (g) => {
    const t = binaryRaw('mul', g, x);
    const r = unaryRaw('mulScalar', t, 2);
    t.dispose();
    return [r];
  });
}

export function addScalar(x: Tensor, s: number): Tensor {
  return record(unaryRaw('addScalar', x, s), 'addScalar', [x], (g) => [g]);
}

export function mulScalar(x: Tensor, s: number): Tensor {
  return record(unaryRaw('mulScalar', x, s), 'mulScalar', [x], (g) => [unaryRaw('mulScalar', g, s)]);
}

/** s - x */
export function rsubScalar(x: Tensor, s: number): Tensor {
  return record(unaryRaw('rsubScalar', x, s), 'rsubScalar', [x], (g) => [unaryRaw('neg', g)]);
}

/** s / x */
export function rdivScalar(x: Tensor, s: number): Tensor {
  const out = unaryRaw('rdivScalar', x, s);
  return record(out, 'rdivScalar', [x], (g) => {
    // d(s/x)/dx = -s/x^2 = -(s/x)/x
    const t = binaryRaw('div', out, x);
    const m = binaryRaw('mul', g, t);
    const r = unaryRaw('neg', m);
    t.dispose();
    m.dispose();
    return [r];
  });
}

export const subScalar = (x: Tensor, s: number) => addScalar(x, -s);
export const divScalar = (x: Tensor, s: number) => mulScalar(x, 1 / s);
