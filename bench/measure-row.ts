// Timing one of our rows and deriving its rates (GFLOP/s, GB/s, fraction of the ceiling, roofline
// placement): shared by the Node runner (bench/run.ts) and the benchmark page (bench/web/).
import { gpu } from '../runtime/gpu.js';
import { profileBusy, type KernelTime } from '../runtime/profiler.js';
import { scope } from '../src/scope.js';
import type { Ceilings } from './ceilings.js';
import { ourPacing, timeOurs, timeWall, withOurPacing, type Measurement, type TimeOptions } from './harness.js';
import type { Row } from './family.js';
import type { ResultRow } from './report.js';

/** The GPU's busy time over profiled runs of a row (Row.kernelTime); fields land in ResultRow as they are. */
export interface KernelBusy {
  /** The dispatches' GPU times summed (overlapping dispatches count twice: may exceed the span). */
  kernelMs: number;
  /** The union of the dispatches' [begin, end] intervals: the time some kernel ran (at most the span). */
  kernelBusyMs: number;
  /** That run's wall time, from its first recorded dispatch to its last kernel's end. */
  kernelWallMs: number;
  /** Profiled runs; the figures are those of the run with the median kernelBusyMs / kernelWallMs. */
  kernelRuns: number;
  /** Dispatches of those runs whose timestamps the GPU did not write (the busy figure then understates). */
  kernelUnwritten: number;
}

const PROFILED_RUNS = 3;

/**
 * The kernels' GPU time of a profiled run of `run` (one timed pass per dispatch) and that run's
 * wall time: kernelBusyMs / kernelWallMs is how busy the GPU was (both from the same run, as
 * profiling slows the kernels and the recording a little). The run with the median fraction of
 * PROFILED_RUNS; undefined without timestamps. Our pacer is set as for the timed runs, so its
 * sleep does not land in the wall time on a GPU.
 */
async function kernelTime(run: () => unknown, timing: TimeOptions): Promise<KernelBusy | undefined> {
  const g = gpu();
  if (!g.hasTimestamps) return undefined;
  const runs: Omit<KernelBusy, 'kernelRuns' | 'kernelUnwritten'>[] = [];
  let unwritten = 0;
  await withOurPacing(timing, async () => {
    for (let i = 0; i < PROFILED_RUNS; i++) {
      await g.sync();
      await g.startProfiling();
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
      const busy = profileBusy(times);
      unwritten += busy?.unwritten ?? 0;
      const kernelMs = times.reduce((s, t) => s + t.ms, 0);
      runs.push({ kernelMs, kernelBusyMs: busy?.unionMs ?? kernelMs, kernelWallMs });
    }
  });
  runs.sort((a, b) => a.kernelBusyMs / a.kernelWallMs - b.kernelBusyMs / b.kernelWallMs);
  return { ...runs[(runs.length - 1) >> 1], kernelRuns: runs.length, kernelUnwritten: unwritten };
}

export async function measureRow(row: Row, preset: TimeOptions): Promise<{ m: Measurement; note?: string; variant?: string; kernel?: KernelBusy }> {
  const work = await row.setup();
  const timing = { ...preset, ...row.timing };
  try {
    if (work.run) {
      const m = await timeOurs(work.run, timing);
      const note = work.summary?.() ?? work.note; // of the timed runs, before the profiled ones
      return { m, note, variant: work.variant, ...(row.kernelTime ? { kernel: await kernelTime(work.run, timing) } : {}) };
    }
    if (work.runAsync) {
      const m = await timeWall(work.runAsync, () => gpu().sync(), timing, ourPacing());
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
