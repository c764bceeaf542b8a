// Rows of a benchmark call that ran out of its time budget: bench/run.ts writes its JSON only at
// the end, but prints each row as it is measured (bench/report.ts's table), so the rows finished
// before the cap are read back from the printed table. Only the table's own figures survive, at
// its precision (ms, TF.js ms, PyTorch ms; a shape longer than its column ends in '~'); the wall
// time, CPU work and notes do not.
import { formatTable } from '../report.js';

export interface SalvagedRow {
  family: string;
  name: string;
  shape: string;
  ms: number;
  tfjs?: { ms: number };
  torch?: { ms: number };
  /** Read from the printed table of a call stopped at its budget. */
  salvaged: true;
}

// The left-aligned text columns of formatTable (family 11, row 38, shape 30 characters, one space
// between); the figures after them are single tokens.
const FAMILY = [0, 11];
const NAME = [12, 50];
const SHAPE = [51, 81];

const figure = (t: string | undefined): number | undefined => (t === undefined || t === '-' || !/^[\d.]+$/.test(t) ? undefined : Number(t));

/** The table rows printed in `output` (null when the table's header is not bench/report.ts's). */
export function salvageRows(output: string): SalvagedRow[] | null {
  const lines = output.split('\n');
  const header = formatTable().header().split('\n')[0];
  const start = lines.findIndex((l) => l === header);
  if (start < 0) return null;
  const rows: SalvagedRow[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.length <= SHAPE[1] || line[FAMILY[1]] !== ' ' || line[NAME[1]] !== ' ') continue;
    const family = line.slice(FAMILY[0], FAMILY[1]).trim();
    if (!/^[a-z][a-z0-9-]*$/.test(family)) continue;
    // ms, GFLOP/s, GB/s, %ceil, cores, tfjs, tfjs ms, torch, torch ms, then the note.
    const [ms, , , , , , tfjsMs, , torchMs] = line.slice(SHAPE[1]).trim().split(/\s+/);
    const oursMs = figure(ms);
    if (oursMs === undefined) continue;
    const tfjs = figure(tfjsMs);
    const torch = figure(torchMs);
    rows.push({
      family,
      name: line.slice(NAME[0], NAME[1]).trim(),
      shape: line.slice(SHAPE[0], SHAPE[1]).trim(),
      ms: oursMs,
      ...(tfjs !== undefined ? { tfjs: { ms: tfjs } } : {}),
      ...(torch !== undefined ? { torch: { ms: torch } } : {}),
      salvaged: true,
    });
  }
  return rows;
}
