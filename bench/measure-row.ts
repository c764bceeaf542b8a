// Timing one of our rows and deriving its rates (GFLOP/s, GB/s, fraction of the ceiling, roofline
// placement): shared by the Node runner (bench/run.ts) and the benchmark page (bench/web/).
import { gpu } from '../runtime/gpu.js';
import type { KernelTime } from '../runtime/profiler.js';
import { scope } from '../src/scope.js';
import type { Ceilings } from './ceilings.js';
import { timeOurs, timeWall, type Measurement, type TimeOptions } from './harness.js';
import type { Row } from './family.js';
import type { ResultRow } from './report.js';

/**
 * The kernels' GPU time of one profiled run of `run` (one timed pass per dispatch) and that run's
 * wall time, from its first recorded dispatch to its last kernel's end: their ratio is how busy
 * the GPU was (both from the same run, as profiling slows the kernels and the recording a little);
 * undefined without timestamps.
 */
async function kernelTime(run: () => unknown): Promise<{ kernelMs: number; kernelWallMs: number } | undefined> {
  const g = gpu();
  if (!g.hasTimestamps) return undefined;
  await g.sync();
  g.startProfiling();
  const t0 = performance.now();
  try {
    scope(() => void run());
    await g.sync();
  } catch (e) {
    await g.stopProfiling();
    throw e;
  }
  const kernelWallMs = performance.now() - t0;
  const times: KernelTime[] = await g.stopProfiling();
  return { kernelMs: times.reduce((s, t) => s + t.ms, 0), kernelWallMs };
}

export async function measureRow(row: Row, preset: TimeOptions): Promise<{ m: Measurement; note?: string; variant?: string; kernel?: { kernelMs: number; kernelWallMs: number } }> {
  const work = await row.setup();
  const timing = { ...preset, ...row.timing };
  try {
    if (work.run) {
      const m = await timeOurs(work.run, timing);
      const note = work.summary?.() ?? work.note; // of the timed runs, before the profiled one
      return { m, note, variant: work.variant, ...(row.kernelTime ? { kernel: await kernelTime(work.run) } : {}) };
    }
    if (work.runAsync) {
      const m = await timeWall(work.runAsync, () => gpu().sync(), timing);
      return { m, note: work.summary?.() ?? work.note, variant: work.variant };
    }
    throw new Error(`bench: row ${row.name} has nothing to run`);
  } finally {
    work.dispose();
    await gpu().sync();
  }
}

export function rates(row: Row, ms: number, ceilings: Ceilings): Pick<ResultRow, 'gflops' | 'gbps' | 'fraction'> {
  const gflops = row.flops ? row.flops / ms / 1e6 : undefined;
  const gbps = row.bytes ? row.bytes / ms / 1e6 : undefined;
  const fraction = row.bound === 'compute' ? (gflops !== undefined ? gflops / ceilings.gflops : undefined) : gbps !== undefined ? gbps / ceilings.gbps : undefined;
  return { gflops, gbps, fraction };
}
