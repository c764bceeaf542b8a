// conv2d (NCHW, dilation 1, groups 1, optional bias) with PyTorch semantics, forward and both
// gradients. Kernels: kernels/conv2d.wgsl, in a register-blocked and a workgroup-tiled variant
// each; and for 1x1 kernels without padding, 'gemm': the convolution as batched matrix products
// (matmul.ts) on the input subsampled by the stride (kernels/subsample.wgsl). Each pass runs the
// variant tuned for its shape class on this adapter where one has been tuned (kernel-choice.ts),
// else gpu().kernelVariant, unless a variant is forced.
import { gpu } from '../../runtime/gpu.js';
import { isGradEnabled, noGrad, record } from '../autograd.js';
import { Tensor, formatShape } from '../tensor.js';
import { grid, launch, requireFloat, WG } from './launch.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';
import { fill } from './elementwise.js';
import { matmul, matmulSumBatch, SPLITK_TARGET_GROUPS } from './matmul.js';
import { tunedVariant, type TuneProblem } from './kernel-choice.js';

export type ConvVariant = 'register' | 'tiled' | 'gemm' | 'blocked';
/** Every variant (tests check each for correctness; 'gemm' only where it applies, see gemmApplies). */
export const CONV_VARIANTS: readonly ConvVariant[] = ['register', 'tiled', 'gemm', 'blocked'];
/** The variants run by the workgroup-memory GEMM entry points (conv2d.*_tiled), 'blocked' with its BLOCKED override. */
type GemmFamily = 'tiled' | 'blocked';
const isGemmFamily = (v: ConvVariant): v is GemmFamily => v === 'tiled' || v === 'blocked';
const gemmOverrides = (g: ConvGeometry, family: GemmFamily) => ({ ...shapeOverrides(g), ...(family === 'blocked' ? { BLOCKED: 1 } : {}) });
export type ConvPass = 'forward' | 'input-grad' | 'weight-grad';

export interface Conv2dOptions {
  /** Stride, one number for both axes or [h, w] (default 1). */
  stride?: number | readonly [number, number];
  /** Zero padding on each side, one number or [h, w] (default 0). */
  padding?: number | readonly [number, number];
  /** Force a kernel variant for all three passes (tests, benchmarks); default: tuned, else gpu().kernelVariant. */
  variant?: ConvVariant;
}

/** Everything the kernels need to know about one convolution. */
export interface ConvGeometry {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  oh: number;
  ow: number;
}

/** Threads per workgroup of the register kernels (their WG override). */
const REGISTER_WG = 64;
/** Taps per output channel the register weight-gradient kernel holds (TAPS_MAX in the WGSL). */
const REGISTER_MAX_TAPS = 16;
/** Output tile of the tiled kernels (BM x BN in the WGSL). */
const TILE = 64;
/** Scratch for weight-gradient partial sums is capped at this many floats (64 MiB). */
const MAX_PARTIAL_FLOATS = 16 << 20;

/** One integer >= min, or a [h, w] pair of them, as [h, w] (conv and pooling sizes). */
export function pair(op: string, what: string, v: number | readonly [number, number], min: number): [number, number] {
  const [a, b] = typeof v === 'number' ? [v, v] : v;
  for (const d of [a, b]) {
    if (!Number.isInteger(d) || d < min) throw new Error(`${op}: ${what} must be an integer >= ${min} (or a pair of them), got ${JSON.stringify(v)}`);
  }
  return [a, b];
}

/** Checks shapes and works out the output size, floor((H + 2p - k) / s) + 1. */
export function convGeometry(x: Tensor, w: Tensor, options: Conv2dOptions = {}): ConvGeometry {
  if (x.rank !== 4) throw new Error(`conv2d: input must be [batch, channels, height, width], got shape ${formatShape(x.shape)}`);
  if (w.rank !== 4) throw new Error(`conv2d: weight must be [out_channels, in_channels, kh, kw], got shape ${formatShape(w.shape)}`);
  const [batch, cin, h, wd] = x.shape;
  const [cout, wcin, kh, kw] = w.shape;
  if (cin !== wcin) throw new Error(`conv2d: input has ${cin} channels, weight expects ${wcin}`);
  const [sh, sw] = pair('conv2d', 'stride', options.stride ?? 1, 1);
  const [ph, pw] = pair('conv2d', 'padding', options.padding ?? 0, 0);
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((wd + 2 * pw - kw) / sw) + 1;
  if (kh < 1 || kw < 1 || oh < 1 || ow < 1) {
    throw new Error(`conv2d: a ${kh}x${kw} kernel with padding ${ph},${pw} does not fit a ${h}x${wd} input`);
  }
  return { batch, cin, h, w: wd, cout, kh, kw, sh, sw, ph, pw, oh, ow };
}

function params(g: ConvGeometry, chunk = 0) {
  return { batch: g.batch, cin: g.cin, h: g.h, w: g.w, cout: g.cout, oh: g.oh, ow: g.ow, pad_h: g.ph, pad_w: g.pw, chunk };
}

function shapeOverrides(g: ConvGeometry) {
  return { KH: g.kh, KW: g.kw, SH: g.sh, SW: g.sw };
}

const pow2ceil = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * Register tile for a rows x cols output plane: TM = 4 channels by TR x TC = 16 positions, runs
 * of up to 16 columns, stacking rows where the plane is narrower. Measured on lavapipe (3x3,
 * ResNet widths): 4 x 16 beat 8 x 8, 4 x 8, 8 x 16 and 16 x 4 by 1.2-2x, and on 8x8 and 4x4
 * planes 2 x 8 and 4 x 4 positions beat single rows of 8 or 4 by 1.3-1.7x.
 */
function registerTile(rows: number, cols: number): { TM: number; TR: number; TC: number } {
  const TC = Math.min(16, pow2ceil(cols));
  const TR = Math.min(16 / TC, pow2ceil(rows));
  return { TM: 4, TR, TC };
}

/**
 * Register weight gradient, per invocation: TM output channels x CB input channels (all their
 * taps), TC columns unrolled. Measured on lavapipe: 8 channels beat 4 by ~1.5x, 2-4 columns beat
 * 1, 8 or 16; for 1x1 kernels 4 input channels (32 accumulators) beat 2, 8 and 16.
 */
function weightGradTile(g: ConvGeometry): { TM: number; TC: number; CB: number } {
  return { TM: 8, TC: 2, CB: Math.max(1, Math.floor(4 / (g.kh * g.kw))) };
}

/** Workgroups for the tiled GEMM: every (M tile, N tile) pair, folded into 2-D, times z. */
function tiledGroups(m: number, n: number, z = 1): [number, number, number] {
  const [x, y] = grid(Math.ceil(m / TILE) * Math.ceil(n / TILE), 1);
  return [x, y, z];
}

/**
 * The tiled entry points share one GEMM body, so each binds every input; those a kernel does not
 * read are bound to one it does (read-only either way).
 */
function tiledBindings(used: { x?: Tensor; wt?: Tensor; bias?: Tensor | null; dy?: Tensor; out: Tensor }, standIn: Tensor) {
  return { x: used.x ?? standIn, wt: used.wt ?? standIn, bias: used.bias ?? standIn, dy: used.dy ?? standIn, out: used.out };
}

/** Whether the 'gemm' variant can run a pass: a 1x1 kernel without padding (and no bias forward). */
export function gemmApplies(g: ConvGeometry, pass: ConvPass, hasBias = false): boolean {
  return g.kh === 1 && g.kw === 1 && g.ph === 0 && g.pw === 0 && !(pass === 'forward' && hasBias);
}

function requireGemm(g: ConvGeometry, pass: ConvPass, hasBias = false): void {
  if (!gemmApplies(g, pass, hasBias)) {
    throw new Error(`conv2d: variant 'gemm' needs a 1x1 kernel without padding${pass === 'forward' ? ' and no bias' : ''}; got ${g.kh}x${g.kw}, padding ${g.ph},${g.pw}${hasBias ? ', a bias' : ''}`);
  }
}

/** The tuning problem of one pass's shape class: candidates, and inputs of its own to time them on. */
export function convProblem(pass: ConvPass, g: ConvGeometry, hasBias = false): TuneProblem & { candidates: readonly ConvVariant[] } {
  const preferred = gpu().kernelVariant;
  const candidates: ConvVariant[] = [preferred, preferred === 'register' ? 'tiled' : 'register'];
  // GPU only: timing it on a CPU rasteriser costs seconds and never wins there (forcing it works).
  if (!gpu().cpuAdapter) candidates.push('blocked');
  if (gemmApplies(g, pass, hasBias)) candidates.push('gemm');
  return {
    op: `conv2d.${pass}`,
    dims: { b: g.batch, cin: g.cin, hw: g.h * g.w, cout: g.cout, k: `${g.kh}x${g.kw}`, s: `s${g.sh}x${g.sw}`, p: `p${g.ph}x${g.pw}`, ...(hasBias && pass === 'forward' ? { bias: true } : {}) },
    candidates,
    prepare: () => {
      const x = fill([g.batch, g.cin, g.h, g.w], 0.5);
      const w = fill([g.cout, g.cin, g.kh, g.kw], 0.5);
      const bias = hasBias ? fill([g.cout], 0.5) : null;
      const dy = fill([g.batch, g.cout, g.oh, g.ow], 0.5);
      const runs: Record<ConvPass, (v: ConvVariant) => Tensor> = {
        forward: (v) => conv2dForward(x, w, bias, g, v),
        'input-grad': (v) => conv2dInputGrad(dy, w, g, v),
        'weight-grad': (v) => conv2dWeightGrad(dy, x, g, v),
      };
      return { run: (v) => runs[pass](v as ConvVariant), dispose: () => [x, w, dy, bias].forEach((t) => t?.dispose()) };
    },
  };
}

/** The forced variant, else the one tuned for the pass's shape class, else the adapter's default. */
function variantFor(pass: ConvPass, g: ConvGeometry, forced: ConvVariant | undefined, hasBias = false): ConvVariant {
  return forced ?? tunedVariant(convProblem(pass, g, hasBias)) ?? gpu().kernelVariant;
}

/** x [B, C, H, W] at rows and columns 0, SH, 2 SH, ... (the positions a 1x1 kernel without padding reads): [B, C, OH, OW]. */
function subsample(x: Tensor, g: ConvGeometry, channels: number): Tensor {
  if (g.sh === 1 && g.sw === 1) return reshape(x, [g.batch, channels, g.oh, g.ow]);
  const out = Tensor.empty([g.batch, channels, g.oh, g.ow]);
  launch('subsample.gather', {
    tensors: { src: x, dst: out },
    params: { planes: g.batch * channels, h: g.h, w: g.w, oh: g.oh, ow: g.ow },
    workgroups: grid(out.size, WG),
    overrides: { WG, SH: g.sh, SW: g.sw },
  });
  return out;
}

/** The adjoint of subsample: [B, C, OH, OW] placed at the strided positions of a zero [B, C, H, W]. */
function unsubsample(small: Tensor, g: ConvGeometry, channels: number): Tensor {
  if (g.sh === 1 && g.sw === 1 && g.oh === g.h && g.ow === g.w) return reshape(small, [g.batch, channels, g.h, g.w]);
  const out = Tensor.empty([g.batch, channels, g.h, g.w]);
  launch('subsample.scatter', {
    tensors: { src: small, dst: out },
    params: { planes: g.batch * channels, h: g.h, w: g.w, oh: g.oh, ow: g.ow },
    workgroups: grid(out.size, WG),
    overrides: { WG, SH: g.sh, SW: g.sw },
  });
  return out;
}

/** Runs `fn` and frees the listed temporaries (views included) afterwards. */
function freeing<T>(temps: Tensor[], fn: () => T): T {
  try {
    return fn();
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** 1x1 forward as one batched product: out[b] = W [Cout, Cin] @ xs[b] [Cin, OH*OW]. */
function forwardGemm(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const xs = subsample(x, g, g.cin);
  const x3 = reshape(xs, [g.batch, g.cin, g.oh * g.ow]);
  const w2 = reshape(w, [g.cout, g.cin]);
  return freeing([xs, x3, w2], () => {
    const y = noGrad(() => matmul(w2, x3));
    return freeing([y], () => reshape(y, [g.batch, g.cout, g.oh, g.ow]));
  });
}

/** 1x1 input gradient: W^T @ dy[b], scattered back to the strided positions. */
function inputGradGemm(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const dy3 = reshape(dy, [g.batch, g.cout, g.oh * g.ow]);
  const w2 = reshape(w, [g.cout, g.cin]);
  return freeing([dy3, w2], () => {
    const dxs = noGrad(() => matmul(w2, dy3, { transA: true }));
    return freeing([dxs], () => unsubsample(dxs, g, g.cin));
  });
}

/** 1x1 weight gradient: sum_b dy[b] [Cout, P] @ xs[b]^T, the batch summed inside one product. */
function weightGradGemm(dy: Tensor, x: Tensor, g: ConvGeometry): Tensor {
  const xs = subsample(x, g, g.cin);
  const x3 = reshape(xs, [g.batch, g.cin, g.oh * g.ow]);
  const dy3 = reshape(dy, [g.batch, g.cout, g.oh * g.ow]);
  return freeing([xs, x3, dy3], () => {
    const dw = matmulSumBatch(dy3, x3, { transB: true });
    return freeing([dw], () => reshape(dw, [g.cout, g.cin, 1, 1]));
  });
}

/** The forward convolution, without recording a graph edge. */
export function conv2dForward(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, variant: ConvVariant): Tensor {
  if (variant === 'gemm') {
    requireGemm(g, 'forward', bias !== null);
    return forwardGemm(x, w, g);
  }
  const out = Tensor.empty([g.batch, g.cout, g.oh, g.ow]);
  const overrides = { ...shapeOverrides(g), HAS_BIAS: bias ? 1 : 0 };
  if (isGemmFamily(variant)) {
    const tensors = tiledBindings({ x, wt: w, bias, out }, x);
    launch('conv2d.forward_tiled', { tensors, params: params(g), workgroups: tiledGroups(g.cout, g.batch * g.oh * g.ow), overrides: { ...overrides, ...gemmOverrides(g, variant) } });
  } else {
    // Without a bias the kernel never reads that binding; x stands in for it.
    const tensors = { x, wt: w, bias: bias ?? x, out };
    const tile = registerTile(g.oh, g.ow);
    const [gx, gy] = grid(g.batch * Math.ceil(g.oh / tile.TR) * Math.ceil(g.ow / tile.TC), REGISTER_WG);
    launch('conv2d.forward_register', {
      tensors,
      params: params(g),
      workgroups: [gx, gy, Math.ceil(g.cout / tile.TM)],
      overrides: { ...overrides, WG: REGISTER_WG, ...tile },
    });
  }
  return out;
}

/** dL/dx from dL/dout (`dy`). */
export function conv2dInputGrad(dy: Tensor, w: Tensor, g: ConvGeometry, variant: ConvVariant): Tensor {
  if (variant === 'gemm') {
    requireGemm(g, 'input-grad');
    return inputGradGemm(dy, w, g);
  }
  const dx = Tensor.empty([g.batch, g.cin, g.h, g.w]);
  const tensors = { dy, wt: w, out: dx };
  if (isGemmFamily(variant)) {
    launch('conv2d.input_grad_tiled', { tensors: tiledBindings(tensors, dy), params: params(g), workgroups: tiledGroups(g.cin, g.batch * g.h * g.w), overrides: gemmOverrides(g, variant) });
  } else {
    // One sub-problem per stride phase (see the WGSL), each over ceil(H/SH) x ceil(W/SW) positions.
    const rows = Math.ceil(g.h / g.sh);
    const cols = Math.ceil(g.w / g.sw);
    const tile = registerTile(rows, cols);
    const [gx, gy] = grid(g.batch * Math.ceil(rows / tile.TR) * Math.ceil(cols / tile.TC), REGISTER_WG);
    launch('conv2d.input_grad_register', {
      tensors,
      params: params(g),
      workgroups: [gx, gy, Math.ceil(g.cin / tile.TM) * g.sh * g.sw],
      overrides: { ...shapeOverrides(g), WG: REGISTER_WG, ...tile },
    });
  }
  return dx;
}

/**
 * Splits the weight gradient's reduction over the batch*OH output rows into chunks so that
 * enough work runs in parallel: `groupsPerChunk` workgroups (or threads) run per chunk and about
 * `target` are wanted in all, within the scratch cap.
 */
function chunking(g: ConvGeometry, perChunk: number, target: number): { chunk: number; chunks: number } {
  const rows = g.batch * g.oh;
  const weights = g.cout * g.cin * g.kh * g.kw;
  const wanted = Math.min(rows, Math.ceil(target / perChunk), Math.max(1, Math.floor(MAX_PARTIAL_FLOATS / weights)));
  const chunk = Math.ceil(rows / Math.max(1, wanted));
  return { chunk, chunks: Math.ceil(rows / chunk) };
}

/** dL/dw from dL/dout (`dy`) and the forward input: chunked partial sums, then their sum. */
export function conv2dWeightGrad(dy: Tensor, x: Tensor, g: ConvGeometry, variant: ConvVariant): Tensor {
  if (variant === 'gemm') {
    requireGemm(g, 'weight-grad');
    return weightGradGemm(dy, x, g);
  }
  const taps = g.cin * g.kh * g.kw;
  // Kernels too large for the register variant take the tiled one.
  const family: GemmFamily | null = isGemmFamily(variant) ? variant : g.kh * g.kw > REGISTER_MAX_TAPS ? 'tiled' : null;
  let chunk: number;
  let chunks: number;
  let partial: Tensor;
  if (family) {
    const groups = Math.ceil(g.cout / TILE) * Math.ceil(taps / TILE);
    // Split-K over chunks of output rows: the weight gradient has few tiles (64 x 576 at a
    // ResNet18 w64 layer1 conv: 9) and a long K (B*OH*OW), like matmul's split-K.
    ({ chunk, chunks } = chunking(g, groups, SPLITK_TARGET_GROUPS));
    partial = Tensor.empty(chunks === 1 ? [g.cout, g.cin, g.kh, g.kw] : [chunks, g.cout * taps]);
    launch('conv2d.weight_grad_tiled', {
      tensors: tiledBindings({ x, dy, out: partial }, x),
      params: params(g, chunk),
      workgroups: tiledGroups(g.cout, taps, chunks),
      overrides: gemmOverrides(g, family),
    });
  } else {
    const { TM, TC, CB } = weightGradTile(g);
    const coBlocks = Math.ceil(g.cout / TM);
    const threads = Math.ceil(g.cin / CB);
    // A few thousand invocations in all keep every core's SIMD lanes busy.
    ({ chunk, chunks } = chunking(g, threads * coBlocks, 4096));
    partial = Tensor.empty(chunks === 1 ? [g.cout, g.cin, g.kh, g.kw] : [chunks, g.cout * taps]);
    const [gx, gy] = grid(threads, REGISTER_WG);
    launch('conv2d.weight_grad_register', {
      tensors: { x, dy, out: partial },
      params: params(g, chunk),
      workgroups: [gx, gy, coBlocks * chunks],
      overrides: { ...shapeOverrides(g), WG: REGISTER_WG, TM, TC, CB },
    });
  }
  if (chunks === 1) return partial;
  const summed = sum(partial, 0);
  const dw = reshape(summed, [g.cout, g.cin, g.kh, g.kw]);
  partial.dispose();
  summed.dispose();
  return dw;
}

/** dL/dbias: dy summed over batch and positions. */
function biasGrad(dy: Tensor, g: ConvGeometry): Tensor {
  const rows = reshape(dy, [g.batch, g.cout, g.oh * g.ow]);
  const perImage = sum(rows, 2);
  const db = sum(perImage, 0);
  rows.dispose();
  perImage.dispose();
  return db;
}

/**
 * 2-D convolution of x [B, Cin, H, W] with w [Cout, Cin, kh, kw] (+ bias [Cout]), PyTorch's
 * Conv2d semantics: output [B, Cout, floor((H + 2p - kh)/s) + 1, floor((W + 2p - kw)/s) + 1].
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  requireFloat('conv2d', x, w, ...(bias ? [bias] : []));
  const g = convGeometry(x, w, options);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.cout)) {
    throw new Error(`conv2d: bias has shape ${formatShape(bias.shape)}, expected [${g.cout}] (one per output channel)`);
  }
  const forced = options.variant;
  const out = conv2dForward(x, w, bias, g, variantFor('forward', g, forced, bias !== null));
  if (!isGradEnabled()) return out;
  // The gradients' variants are chosen now, so that a probe forward (autotuneModel) meets them.
  const inputGrad = x.requiresGrad ? variantFor('input-grad', g, forced) : null;
  const weightGrad = w.requiresGrad ? variantFor('weight-grad', g, forced) : null;
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(out, 'conv2d', inputs, (dy) => [
    x.requiresGrad ? conv2dInputGrad(dy, w, g, inputGrad ?? variantFor('input-grad', g, forced)) : null,
    w.requiresGrad ? conv2dWeightGrad(dy, x, g, weightGrad ?? variantFor('weight-grad', g, forced)) : null,
    bias?.requiresGrad ? biasGrad(dy, g) : null,
  ]);
}
