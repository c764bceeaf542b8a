// Device ceilings, measured in the same run as everything else: the best GEMM GFLOP/s over a few
// register-block / workgroup shapes of an ideal-layout kernel (bench/ceilings.wgsl) and the
// engine's own matmul variants, and the best copy bandwidth (shader copy, copyBufferToBuffer).
// Every other figure of the benchmark is printed as a fraction of these. Also the queue time of
// one small dispatch, which bounds every row made of several small dispatches.
import { readFileSync } from 'node:fs';
import { gpu, grid } from '../runtime/gpu.js';
import { registerKernelSource } from '../runtime/kernel-spec.js';
import { randn } from '../src/creation.js';
import { Rng } from '../src/random.js';
import { Tensor } from '../src/tensor.js';
import { matmul, type MatmulVariant } from '../src/ops/matmul.js';
import { FORWARD_TOL, relativeError } from '../test/helpers.js';
import { timeOurs, type Measurement, type TimeOptions } from './harness.js';

export interface CeilingEntry {
  name: string;
  ms: number;
  rate: number;
}

export interface Ceilings {
  /** Best GEMM GFLOP/s and which kernel reached it. */
  gflops: number;
  gemmBest: string;
  /** Best copy bandwidth of a shader in GB/s (bytes read + bytes written per second). */
  gbps: number;
  copyBest: string;
  /** copyBufferToBuffer's bandwidth: the memory system's, which no kernel reaches on a CPU rasteriser. */
  memcpyGbps: number;
  /** Queue time per dispatch of a one-workgroup kernel, back to back in one pass: the floor of any row. */
  dispatchUs: number;
  /** What the timing method reports for no work at all (timestamp bracket or submit + drain). */
  floorMs: number;
  gemmSize: number;
  copyBytes: number;
  entries: { gemm: CeilingEntry[]; copy: CeilingEntry[] };
}

/** The ideal-layout GEMM entry points and the register block (rows x cols) each keeps. */
const GEMM_KERNELS = [
  { entry: 'gemm_4x4', rows: 4, cols: 4 },
  { entry: 'gemm_8x4', rows: 8, cols: 4 },
  { entry: 'gemm_4x8', rows: 4, cols: 8 },
] as const;
const WORKGROUP_SHAPES: readonly [number, number][] = [
  [8, 8],
  [16, 4],
  [16, 16],
];
const MEMCPY = 'copyBufferToBuffer';
// 'blocked' is the GPU body (register blocks over workgroup tiles): on a GPU it should set the engine's best figure.
const ENGINE_VARIANTS: readonly MatmulVariant[] = ['register', 'tiled', 'blocked'];

let registered: Promise<void> | null = null;
function registerCeilingKernels(): Promise<void> {
  registered ??= registerKernelSource('ceilings', readFileSync(new URL('./ceilings.wgsl', import.meta.url), 'utf8'));
  return registered;
}

function entryOf(name: string, m: Measurement, work: number): CeilingEntry {
  return { name, ms: m.ms, rate: work / m.ms / 1e6 };
}

async function gemmCeiling(n: number, timing: TimeOptions): Promise<CeilingEntry[]> {
  const rng = new Rng(7);
  const a = randn([n, n], rng);
  const b = randn([n, n], rng);
  const out = Tensor.empty([n, n]);
  const flops = 2 * n ** 3;
  const entries: CeilingEntry[] = [];
  try {
    // A ceiling from a wrong kernel would be worthless: each variant's result is checked.
    const expected = await reference(a, b);
    for (const k of GEMM_KERNELS) {
      for (const [wx, wy] of WORKGROUP_SHAPES) {
        const workgroups = [Math.ceil(n / (k.cols * wx)), Math.ceil(n / (k.rows * wy))] as const;
        const m = await timeOurs(
          () =>
            gpu().dispatch(`ceilings.${k.entry}`, {
              bindings: { at: a.buffer, b: b.buffer, out: out.buffer },
              params: { M: n, N: n, K: n, n: 0 },
              workgroups: [workgroups[0], workgroups[1]],
              overrides: { WGX: wx, WGY: wy },
            }),
          timing,
        );
        const name = `${k.entry} wg${wx}x${wy}`;
        checkClose(name, new Float32Array(await gpu().read(out.buffer, n * n * 4)), expected);
        entries.push(entryOf(name, m, flops));
      }
    }
    for (const variant of ENGINE_VARIANTS) {
      const m = await timeOurs(() => matmul(a, b, { variant }), timing);
      entries.push(entryOf(`engine matmul ${variant}`, m, flops));
    }
  } finally {
    a.dispose();
    b.dispose();
    out.dispose();
  }
  return entries;
}

/** at^T b through the engine's matmul (tested against float64 references in test/). */
async function reference(at: Tensor, b: Tensor): Promise<Float32Array> {
  const ref = matmul(at, b, { transA: true });
  const values = (await ref.data()) as Float32Array;
  ref.dispose();
  return values;
}

function checkClose(name: string, got: Float32Array, want: Float32Array): void {
  const rel = relativeError(got, want);
  if (!(rel < FORWARD_TOL)) throw new Error(`ceilings: ${name} computed a wrong product (relative L2 error ${rel.toExponential(2)})`);
}

async function copyCeiling(bytes: number, timing: TimeOptions): Promise<CeilingEntry[]> {
  const n = bytes / 4;
  // Values do not matter to a copy: an unfilled buffer (JS randn of 1 GiB took ~11 s on the CPU).
  const src = Tensor.empty([n]);
  const dst = Tensor.empty([n]);
  const traffic = 2 * bytes;
  const entries: CeilingEntry[] = [];
  try {
    for (const [entry, perInvocation] of [
      ['copy', 1],
      ['copy_x4', 4],
    ] as const) {
      for (const wg of [64, 256]) {
        const m = await timeOurs(
          () =>
            gpu().dispatch(`ceilings.${entry}`, {
              bindings: { src: src.buffer, dst: dst.buffer },
              params: { M: 0, N: 0, K: 0, n: n / 4 },
              workgroups: grid(n / 4 / perInvocation, wg),
              overrides: { WG: wg },
            }),
          timing,
        );
        entries.push(entryOf(`shader ${entry} wg${wg}`, m, traffic));
      }
    }
    const m = await timeOurs(() => gpu().copy(src.buffer, 0, dst.buffer, 0, bytes), timing);
    entries.push(entryOf(MEMCPY, m, traffic));
  } finally {
    src.dispose();
    dst.dispose();
  }
  return entries;
}

const DISPATCHES = 100;

/** Per-dispatch cost: DISPATCHES one-workgroup copies of 64 floats recorded into one batch. */
async function dispatchOverhead(timing: TimeOptions): Promise<number> {
  const src = randn([64], new Rng(9));
  const dst = Tensor.empty([64]);
  try {
    const m = await timeOurs(() => {
      for (let i = 0; i < DISPATCHES; i++) {
        gpu().dispatch('ceilings.copy', { bindings: { src: src.buffer, dst: dst.buffer }, params: { M: 0, N: 0, K: 0, n: 16 }, workgroups: [1], overrides: { WG: 64 } });
      }
    }, timing);
    return (m.ms * 1000) / DISPATCHES;
  } finally {
    src.dispose();
    dst.dispose();
  }
}

function best(entries: CeilingEntry[]): CeilingEntry {
  return entries.reduce((x, y) => (y.rate > x.rate ? y : x));
}

/**
 * GEMM of `gemmSize`^3 (a multiple of 128) and a copy of `copyBytes` (a multiple of 64). The copy
 * ceiling is the best shader copy, what a kernel can reach; copyBufferToBuffer is reported beside it.
 */
export async function measureCeilings(gemmSize: number, copyBytes: number, timing: TimeOptions): Promise<Ceilings> {
  await registerCeilingKernels();
  const gemm = await gemmCeiling(gemmSize, timing);
  const copy = await copyCeiling(copyBytes, timing);
  const g = best(gemm);
  const c = best(copy.filter((e) => e.name !== MEMCPY));
  const memcpyGbps = copy.find((e) => e.name === MEMCPY)!.rate;
  const dispatchUs = await dispatchOverhead(timing);
  const floorMs = (await timeOurs(() => undefined, timing)).ms;
  return { gflops: g.rate, gemmBest: g.name, gbps: c.rate, copyBest: c.name, memcpyGbps, dispatchUs, floorMs, gemmSize, copyBytes, entries: { gemm, copy } };
}
