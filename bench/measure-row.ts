// Timing one of our rows and deriving its rates (GFLOP/s, GB/s, fraction of the ceiling, roofline
// placement): shared by the Node runner (bench/run.ts) and the benchmark page (bench/web/).
import { gpu } from '../runtime/gpu.js';
import type { Ceilings } from './ceilings.js';
import { timeOurs, timeWall, type Measurement, type TimeOptions } from './harness.js';
import type { Row } from './family.js';
import type { ResultRow } from './report.js';

export async function measureRow(row: Row, preset: TimeOptions): Promise<{ m: Measurement; note?: string; variant?: string }> {
  const work = await row.setup();
  const timing = { ...preset, ...row.timing };
  try {
    if (work.run) {
      const m = await timeOurs(work.run, timing);
      return { m, note: work.summary?.() ?? work.note, variant: work.variant };
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
