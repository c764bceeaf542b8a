// One benchmark row's results and the table they are printed in.
import type { TimingMethod } from './harness.js';
import { formatRoofline, type RooflinePoint } from './roofline.js';

/**
 * A peer's median and ours / theirs: TF.js by GPU queue time on both sides (where both devices
 * have timestamps), PyTorch against our wall clock (with the thread count that was faster).
 */
export type PeerResult = { ms: number; ratio: number; threads?: number; method?: TimingMethod } | { error: string };

export interface ResultRow {
  family: string;
  name: string;
  shape: string;
  flops?: number;
  bytes?: number;
  bound: 'compute' | 'memory';
  ms?: number;
  wallMs?: number;
  /**
   * The GPU's kernel time of one profiled run (one timed pass per dispatch), summed over its
   * dispatches, and that run's wall time, where the row asks for them (Row.kernelTime) and the
   * adapter has timestamps: kernelMs / kernelWallMs is how busy the GPU was (the queue's span
   * counts the GPU's waits for the CPU as busy).
   */
  kernelMs?: number;
  kernelWallMs?: number;
  /** The union of the dispatches' GPU intervals in that run (overlapping ones counted once; <= the span). */
  kernelBusyMs?: number;
  /** Profiled runs the kernel figures were taken from (the one with the median busy fraction). */
  kernelRuns?: number;
  /** Dispatches of those runs whose timestamps the GPU did not write: the busy figure understates. */
  kernelUnwritten?: number;
  /** How many of the model's layers have this shape (conv2d rows): a family total is the sum of count x time. */
  count?: number;
  /** Whether the wait pacer slept while ours was timed (off on GPUs, so its sleeps are not timed). */
  paced?: boolean;
  method?: TimingMethod;
  /** Half the interquartile range of the timed samples (same method as `ms`). */
  spreadMs?: number;
  repeats?: number;
  /** Process CPU time / wall time while it ran. */
  cores?: number;
  gflops?: number;
  gbps?: number;
  /** Of the GEMM ceiling (compute-bound rows) or the copy ceiling (memory-bound rows). */
  fraction?: number;
  /** Placement under the roofline of the run's ceilings (bench/roofline.ts). */
  roofline?: RooflinePoint;
  /** Ours / theirs (see PeerResult): below 1 we are faster. */
  tfjs?: PeerResult;
  torch?: PeerResult;
  /**
   * CPU milliseconds of work per run, which other processes' load does not inflate (Linux): ours
   * and TF.js's recording thread plus every other thread of this process until the queue drains
   * (on a CPU adapter, its rasteriser workers); PyTorch's with one thread (time.thread_time).
   */
  cpu?: { ours: number; tfjs?: number; torch?: number };
  note?: string;
  /** The kernel variant timed, where the row picks one (autotuned matmul and conv rows). */
  variant?: string;
  error?: string;
}

interface Column {
  title: string;
  width: number;
  left?: boolean;
  value: (r: ResultRow) => string;
}

function num(v: number | undefined, digits = 2): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 100) return v.toFixed(1);
  return v.toFixed(digits);
}

function peer(p: PeerResult | undefined): string {
  if (!p) return '-';
  return 'ratio' in p ? `${num(p.ratio)}x` : 'error';
}

const COLUMNS: Column[] = [
  { title: 'family', width: 11, left: true, value: (r) => r.family },
  { title: 'row', width: 38, left: true, value: (r) => r.name },
  { title: 'shape', width: 30, left: true, value: (r) => r.shape },
  { title: 'ms', width: 9, value: (r) => num(r.ms) },
  { title: 'GFLOP/s', width: 8, value: (r) => (r.bound === 'compute' ? num(r.gflops) : '-') },
  { title: 'GB/s', width: 7, value: (r) => (r.bound === 'memory' ? num(r.gbps) : '-') },
  { title: '%ceil', width: 6, value: (r) => (r.fraction === undefined ? '-' : `${(100 * r.fraction).toFixed(0)}%`) },
  { title: 'cores', width: 5, value: (r) => num(r.cores, 1) },
  { title: 'tfjs', width: 7, value: (r) => peer(r.tfjs) },
  { title: 'tfjs ms', width: 8, value: (r) => (r.tfjs && 'ms' in r.tfjs ? num(r.tfjs.ms) : '-') },
  { title: 'torch', width: 7, value: (r) => peer(r.torch) },
  { title: 'torch ms', width: 8, value: (r) => (r.torch && 'ms' in r.torch ? num(r.torch.ms) : '-') },
  // After the peers: the device kit reads the figures before it back from printed tables by position.
  { title: 'roofline', width: 12, value: (r) => formatRoofline(r.roofline ?? null) },
  { title: 'note', width: 0, left: true, value: (r) => (r.error ? `ERROR ${r.error}` : [r.note, cpuNote(r), errorOf('tfjs', r.tfjs), errorOf('torch', r.torch)].filter(Boolean).join('; ')) },
];

/** The load-independent comparison: CPU work per run, ours and ours/theirs. */
function cpuNote(r: ResultRow): string {
  const c = r.cpu;
  if (!c) return '';
  const ratio = (theirs: number | undefined, who: string) => (theirs ? `, ours/${who} ${num(c.ours / theirs)}x` : '');
  return `cpu work ${num(c.ours)} ms${ratio(c.tfjs, 'tfjs')}${ratio(c.torch, 'torch 1 thread')}`;
}

function errorOf(who: string, p: PeerResult | undefined): string {
  return p && 'error' in p ? `${who}: ${p.error}` : '';
}

function cell(c: Column, text: string): string {
  if (c.width === 0) return text;
  const t = text.length > c.width ? text.slice(0, c.width - 1) + '~' : text;
  return c.left ? t.padEnd(c.width) : t.padStart(c.width);
}

/** Header and row lines; peers are 'ours/theirs' ratios (below 1x: we are faster). */
export function formatTable(): { header: () => string; row: (r: ResultRow) => string } {
  return {
    header: () =>
      COLUMNS.map((c) => cell(c, c.title)).join(' ') +
      '\n' +
      '(tfjs: ours/theirs by GPU queue time; torch: our wall clock / theirs; below 1x = we are faster; %ceil: of the GEMM or copy ceiling; roofline: FLOPs/byte, capping roof C(ompute)/M(emory), % of that roof)',
    row: (r) => COLUMNS.map((c) => cell(c, c.value(r))).join(' '),
  };
}
