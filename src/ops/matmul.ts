// Matrix products (batched, with a batch of 1 broadcast) and the linear layer, forward and
// backward. One GEMM kernel family (kernels/matmul.wgsl) serves all of them: transposes are
// pipeline overrides, never copies; the gradient of a broadcast operand sums over the batch
// inside the kernel; the linear layer's bias is the kernel's epilogue. Each product (the
// gradients' included) runs the variant tuned for its shape class on this adapter where one has
// been tuned (kernel-choice.ts), else the adapter's default.
import { isGradEnabled, noGrad, record } from '../autograd.js';
import { gpu } from '../../runtime/gpu.js';
import { Tensor, formatShape, sizeOf, type Shape } from '../tensor.js';
import { launch, requireFloat, sameShape } from './launch.js';
import { reshape } from './shape.js';
import { sum } from './reduce.js';
import { fill } from './elementwise.js';
import { tunedVariant, type TuneProblem } from './kernel-choice.js';

export type MatmulVariant = 'register' | 'tiled' | 'skinny' | 'splitk' | 'blocked';
/** Every variant (tests check each for correctness). */
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['register', 'tiled', 'skinny', 'splitk', 'blocked'];

export interface MatmulOptions {
  /** a is stored [.., K, M] and used transposed. */
  transA?: boolean;
  /** b is stored [.., N, K] and used transposed. */
  transB?: boolean;
  /**
   * Force a kernel variant (tests, benchmarks); the backward pass uses the same. Default: the
   * variant tuned for each product's shape class, else gpu().kernelVariant.
   */
  variant?: MatmulVariant;
}

/**
 * Each variant's entry point in kernels/matmul.wgsl, its output rows x columns per workgroup, and
 * whether the tiled body runs register-blocked (the BLOCKED override).
 */
const KERNEL: Record<MatmulVariant, { name: string; rows: number; cols: number; blocked?: boolean }> = {
  register: { name: 'matmul.register_blocked', rows: 64, cols: 32 },
  tiled: { name: 'matmul.tiled', rows: 64, cols: 64 },
  skinny: { name: 'matmul.skinny', rows: 4, cols: 256 },
  splitk: { name: 'matmul.tiled_splitk', rows: 64, cols: 64, blocked: true },
  blocked: { name: 'matmul.tiled', rows: 64, cols: 64, blocked: true },
};
const MAX_WORKGROUPS = 65535;
/** Products with at most this many rows also try the skinny variant when tuned. */
const SKINNY_MAX_ROWS = 64;
/**
 * Split-K: workgroups wanted in all (about 4 per SM of a 132-SM H200, so every SM has several to
 * hide latency with), the shortest slice of the summed range worth a workgroup (4 steps of the
 * blocked body's 16), and the partial sums' cap in floats (64 MiB).
 */
export const SPLITK_TARGET_GROUPS = 512;
const SPLITK_MIN_SLICE = 64;
const SPLITK_MAX_PARTIAL_FLOATS = 16 << 20;

/**
 * How split-K cuts a product: `slices` slices of `sliceLen` of the summed range (R products of
 * K each, flattened), enough for ~SPLITK_TARGET_GROUPS workgroups with the output tiles, none
 * shorter than SPLITK_MIN_SLICE, within the partials' cap. One slice: a plain blocked product.
 */
export function splitKSlices(p: { M: number; N: number; K: number; z: number; r: number }): { slices: number; sliceLen: number } {
  const total = p.r * p.K;
  const groups = Math.ceil(p.M / 64) * Math.ceil(p.N / 64) * p.z;
  const wanted = Math.min(Math.ceil(SPLITK_TARGET_GROUPS / groups), Math.floor(total / SPLITK_MIN_SLICE), Math.floor(SPLITK_MAX_PARTIAL_FLOATS / (p.z * p.M * p.N)));
  const sliceLen = Math.ceil(total / Math.max(1, wanted));
  return { slices: Math.max(1, Math.ceil(total / Math.max(1, sliceLen))), sliceLen: Math.max(1, sliceLen) };
}

/** One operand of a GEMM: its tensor, whether it is read transposed, and whether it has a batch. */
interface Operand {
  t: Tensor;
  trans: boolean;
  batched: boolean;
}

/** A product's shape, without its data. */
interface GemmShape {
  a: Pick<Operand, 'trans' | 'batched'>;
  b: Pick<Operand, 'trans' | 'batched'>;
  M: number;
  N: number;
  K: number;
  /** Number of batch entries of the product. */
  batch: number;
  /** Sum the batch's products into one [M, N] result instead of keeping them apart. */
  reduce: boolean;
}

interface Gemm extends GemmShape {
  a: Operand;
  b: Operand;
  shape: Shape;
  variant: MatmulVariant;
  /** Added to every row of the result. */
  bias?: Tensor;
}

/** The tuning problem of a product's shape class: candidates, and inputs of its own to time them on. */
function gemmProblem(s: GemmShape): TuneProblem & { candidates: readonly MatmulVariant[] } {
  const { M, N, K, batch, reduce } = s;
  const preferred = gpu().kernelVariant;
  const candidates: MatmulVariant[] = [preferred, preferred === 'register' ? 'tiled' : 'register'];
  if (M <= SKINNY_MAX_ROWS) candidates.push('skinny');
  const [z, r] = reduce ? [1, batch] : [batch, 1];
  // GPU-only candidates: timing workgroup-memory kernels on a CPU rasteriser costs seconds and
  // never wins there (bench/NOTES.md); forcing them still works everywhere.
  const splitk = !gpu().cpuAdapter && splitKSlices({ M, N, K, z, r }).slices > 1;
  if (!gpu().cpuAdapter) candidates.push('blocked');
  if (splitk) candidates.push('splitk');
  return {
    op: 'matmul',
    // Whether split-K is a candidate depends on the exact sizes, not their power-of-two class
    // (K = 100 and K = 128 share k128), so it is part of the key: a class's candidates are then
    // always the same. Keys without it are those stored before, still found.
    dims: { m: M, n: N, k: K, ta: s.a.trans, tb: s.b.trans, ...(z > 1 ? { z } : {}), ...(r > 1 ? { r } : {}), ...(splitk ? { sk: true } : {}) },
    candidates,
    prepare: () => {
      const operand = (o: GemmShape['a'], rows: number, cols: number): Operand => ({ ...o, t: fill([o.batched ? batch : 1, ...(o.trans ? [cols, rows] : [rows, cols])], 0.5) });
      const a = operand(s.a, M, K);
      const b = operand(s.b, K, N);
      return {
        run: (variant) => gemm({ ...s, a, b, shape: [z, M, N], variant: variant as MatmulVariant }),
        dispose: () => [a.t, b.t].forEach((t) => t.dispose()),
      };
    },
  };
}

/** The tuning problem of a plain (2-D) product, for benchmarks and `tune`. */
export function matmulProblem(p: { M: number; N: number; K: number; transA?: boolean; transB?: boolean }): TuneProblem & { candidates: readonly MatmulVariant[] } {
  return gemmProblem({ a: { trans: p.transA ?? false, batched: true }, b: { trans: p.transB ?? false, batched: true }, M: p.M, N: p.N, K: p.K, batch: 1, reduce: false });
}

/** The forced variant, else the one tuned for the product's shape class, else the adapter's default. */
function variantFor(s: GemmShape, forced: MatmulVariant | undefined): MatmulVariant {
  return forced ?? tunedVariant(gemmProblem(s)) ?? gpu().kernelVariant;
}

function gemm(g: Gemm): Tensor {
  const { M, N, K, batch, reduce, variant } = g;
  const z = reduce ? 1 : batch;
  const { name, rows, cols, blocked } = KERNEL[variant];
  const gx = Math.ceil(N / cols);
  const gy = Math.ceil(M / rows);
  if (gx > MAX_WORKGROUPS || gy > MAX_WORKGROUPS || z > MAX_WORKGROUPS) {
    throw new Error(`matmul: output ${formatShape(g.shape)} needs ${gx} x ${gy} x ${z} workgroups, over the limit of ${MAX_WORKGROUPS} per dimension`);
  }
  const aStride = g.a.batched ? M * K : 0;
  const bStride = g.b.batched ? K * N : 0;
  const R = reduce ? batch : 1;
  const { slices, sliceLen } = variant === 'splitk' ? splitKSlices({ M, N, K, z, r: R }) : { slices: 1, sliceLen: R * K };
  if (z * slices > MAX_WORKGROUPS) {
    throw new Error(`matmul: output ${formatShape(g.shape)} in ${slices} split-K slices needs ${z * slices} workgroups along z, over the limit of ${MAX_WORKGROUPS}`);
  }
  // Split-K writes one partial product per slice, summed over the slices afterwards.
  const target = Tensor.empty(slices > 1 ? [slices, z * M * N] : g.shape);
  launch(name, {
    // Without a bias the binding still needs a buffer; the kernel never reads it.
    tensors: { a: g.a.t, b: g.b.t, bias: g.bias ?? g.a.t, out: target },
    params: {
      M,
      N,
      K,
      R,
      a_z: reduce ? 0 : aStride,
      a_r: reduce ? aStride : 0,
      b_z: reduce ? 0 : bStride,
      b_r: reduce ? bStride : 0,
      slices,
      slice_len: sliceLen,
    },
    workgroups: [gx, gy, z * slices],
    overrides: { TA: Number(g.a.trans), TB: Number(g.b.trans), BIAS: Number(g.bias !== undefined), ...(blocked ? { BLOCKED: 1 } : {}) },
  });
  if (slices === 1) return target;
  const summed = noGrad(() => sum(target, 0));
  target.dispose();
  const shaped = reshape(summed, g.shape);
  summed.dispose();
  return shaped;
}

function describe(a: Tensor, b: Tensor, o: MatmulOptions): string {
  return `a ${formatShape(a.shape)}${o.transA ? ' (transposed)' : ''} and b ${formatShape(b.shape)}${o.transB ? ' (transposed)' : ''}`;
}

/** Leading (batch) dimensions of the product: equal on both sides, or one side's total 1. */
function batchShape(a: Tensor, b: Tensor, o: MatmulOptions): Shape {
  const la = a.shape.slice(0, -2);
  const lb = b.shape.slice(0, -2);
  if (sameShape(la, lb)) return la;
  if (sizeOf(la) === 1 && (sizeOf(lb) !== 1 || lb.length > la.length)) return lb;
  if (sizeOf(lb) === 1) return la;
  throw new Error(`matmul: batch dimensions differ: ${describe(a, b, o)}; they must match, or one side's must be 1`);
}

/**
 * a @ b over the last two dimensions: a [.., M, K] (or [.., K, M] with transA), b [.., K, N] (or
 * [.., N, K] with transB), giving [.., M, N]. Leading dimensions must match, or either side may
 * have a batch of 1 (or none), which is broadcast.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  return product(a, b, options);
}

/** matmul plus an optional bias [N] added to every row, recorded as one node. */
function product(a: Tensor, b: Tensor, options: MatmulOptions, bias?: Tensor): Tensor {
  requireFloat('matmul', a, b, ...(bias ? [bias] : []));
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: operands need at least 2 dimensions, got ${describe(a, b, options)}`);
  const [M, K] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : a.shape.slice(-2);
  const [Kb, N] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : b.shape.slice(-2);
  if (K !== Kb) throw new Error(`matmul: inner dimensions differ (${K} vs ${Kb}): ${describe(a, b, options)}`);
  const lead = batchShape(a, b, options);
  const batch = sizeOf(lead);
  const aBatched = sizeOf(a.shape.slice(0, -2)) === batch;
  const bBatched = sizeOf(b.shape.slice(0, -2)) === batch;
  const A: Operand = { t: a, trans: transA, batched: aBatched };
  const B: Operand = { t: b, trans: transB, batched: bBatched };
  const forward = { a: A, b: B, M, N, K, batch, reduce: false };
  const out = gemm({ ...forward, shape: [...lead, M, N], variant: variantFor(forward, options.variant), bias });
  // With G = dOut: d(opA) = G opB^T and d(opB) = opA^T G; a stored transposed takes the transpose
  // of that, written as the product in the other order. An operand broadcast over the batch gets
  // the sum over the batch. Planned now (G's data comes later), so that their variants are chosen
  // with the forward's and a probe forward (autotuneModel) meets them.
  const flip = (x: Operand): Operand => ({ ...x, trans: !x.trans });
  const gradients = (G: Operand) => ({
    da: !a.requiresGrad ? null : transA ? { a: B, b: flip(G), M: K, N: M, K: N, batch, reduce: !aBatched } : { a: G, b: flip(B), M, N: K, K: N, batch, reduce: !aBatched },
    db: !b.requiresGrad ? null : transB ? { a: flip(G), b: A, M: N, N: K, K: M, batch, reduce: !bBatched } : { a: flip(A), b: G, M: K, N, K: M, batch, reduce: !bBatched },
  });
  if (!isGradEnabled()) return out;
  const plan = gradients({ t: out, trans: false, batched: true });
  const daVariant = plan.da && variantFor(plan.da, options.variant);
  const dbVariant = plan.db && variantFor(plan.db, options.variant);
  return record(out, bias ? 'linear' : 'matmul', bias ? [a, b, bias] : [a, b], (g) => {
    const { da, db } = gradients({ t: g, trans: false, batched: true });
    // An input whose requiresGrad was switched on after the forward has no planned variant.
    return [
      da && gemm({ ...da, shape: a.shape, variant: daVariant ?? variantFor(da, options.variant) }),
      db && gemm({ ...db, shape: b.shape, variant: dbVariant ?? variantFor(db, options.variant) }),
      bias?.requiresGrad ? sumRows(g) : null,
    ];
  });
}

/**
 * sum_z opA(z) opB(z) over the batch of both operands (a [Z, M, K], b [Z, K, N], or transposed
 * as in matmul): one [M, N] result, summed inside the kernel. Records no gradient (for backward
 * rules, e.g. a 1x1 convolution's weight gradient).
 */
export function matmulSumBatch(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  requireFloat('matmulSumBatch', a, b);
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  if (a.rank !== 3 || b.rank !== 3 || a.shape[0] !== b.shape[0]) {
    throw new Error(`matmulSumBatch: expected 3-D operands with the same batch, got ${describe(a, b, options)}`);
  }
  const [, M, K] = transA ? [0, a.shape[2], a.shape[1]] : a.shape;
  const [, Kb, N] = transB ? [0, b.shape[2], b.shape[1]] : b.shape;
  if (K !== Kb) throw new Error(`matmulSumBatch: inner dimensions differ (${K} vs ${Kb}): ${describe(a, b, options)}`);
  const s: GemmShape = { a: { trans: transA, batched: true }, b: { trans: transB, batched: true }, M, N, K, batch: a.shape[0], reduce: true };
  return gemm({ ...s, a: { t: a, ...s.a }, b: { t: b, ...s.b }, shape: [M, N], variant: variantFor(s, options.variant) });
}

/** The sum of g [.., N] over all leading dimensions: [N]. */
function sumRows(g: Tensor): Tensor {
  const rows = reshape(g, [-1, g.shape[g.rank - 1]]);
  const out = sum(rows, 0);
  rows.dispose();
  return out;
}

/**
 * The fully connected layer y = x W^T + bias (PyTorch's nn.Linear): x [.., in], weight [out, in],
 * bias [out]. The bias is fused into the product; its gradient is the sum over the rows.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor, options: Pick<MatmulOptions, 'variant'> = {}): Tensor {
  if (x.rank < 2 || weight.rank !== 2) {
    throw new Error(`linear: expected x [.., in] and weight [out, in], got x ${formatShape(x.shape)} and weight ${formatShape(weight.shape)}`);
  }
  const inX = x.shape[x.rank - 1];
  const [outW, inW] = weight.shape;
  if (inX !== inW) throw new Error(`linear: x ${formatShape(x.shape)} has ${inX} input features, weight ${formatShape(weight.shape)} expects ${inW}`);
  if (bias && !sameShape(bias.shape, [outW])) {
    throw new Error(`linear: bias has shape ${formatShape(bias.shape)}, expected [${outW}] for weight ${formatShape(weight.shape)}`);
  }
  return product(x, weight, { transB: true, variant: options.variant }, bias);
}
