// Two benchmark runs side by side, row by row: B's median over A's, and whether the difference
// stands out of the noise each run recorded. A difference counts when the medians are further
// apart than the two spreads (half interquartile ranges) together, and by at least NOISE_FLOOR
// of A's time (timestamps are quantised, so two steady rows can both show zero spread).
import type { BenchRun } from './schema.js';
import type { ResultRow } from './report.js';

export const NOISE_FLOOR = 0.02;

export type Verdict = 'faster' | 'slower' | 'within noise' | 'only in A' | 'only in B' | 'error';

export interface ComparedRow {
  key: string;
  a?: ResultRow;
  b?: ResultRow;
  /** B's median / A's median: below 1, B is faster. */
  ratio?: number;
  verdict: Verdict;
}

const keyOf = (r: ResultRow) => `${r.family} ${r.name}`;

export function verdictOf(a: { ms: number; spreadMs?: number }, b: { ms: number; spreadMs?: number }): Verdict {
  const noise = Math.max((a.spreadMs ?? 0) + (b.spreadMs ?? 0), NOISE_FLOOR * a.ms);
  if (Math.abs(b.ms - a.ms) <= noise) return 'within noise';
  return b.ms < a.ms ? 'faster' : 'slower';
}

/** Rows of A in A's order, then rows only B has. */
export function compareRuns(a: BenchRun, b: BenchRun): ComparedRow[] {
  const inB = new Map(b.rows.map((r) => [keyOf(r), r]));
  const out: ComparedRow[] = [];
  for (const ra of a.rows) {
    const key = keyOf(ra);
    const rb = inB.get(key);
    inB.delete(key);
    if (!rb) out.push({ key, a: ra, verdict: 'only in A' });
    else if (ra.ms === undefined || rb.ms === undefined) out.push({ key, a: ra, b: rb, verdict: 'error' });
    else out.push({ key, a: ra, b: rb, ratio: rb.ms / ra.ms, verdict: verdictOf({ ms: ra.ms, spreadMs: ra.spreadMs }, { ms: rb.ms, spreadMs: rb.spreadMs }) });
  }
  for (const [key, rb] of inB) out.push({ key, b: rb, verdict: 'only in B' });
  return out;
}

/** Dawn's timestamp rounding (2^16 ns; Node turns it off since 2026-12-05); a median of two samples can fall halfway. */
const DAWN_GRAIN_MS = 65536e-6;

/**
 * Whether a run's GPU-timestamp figures sit on Dawn's 65.5 us grid (every median a multiple of half
 * of it; at least two rows, so a chance hit cannot decide): timestamps were rounded. Undefined when
 * too few rows were timed by timestamps to tell.
 */
export function quantisedTimestamps(run: BenchRun): boolean | undefined {
  const ms = run.rows.filter((r) => r.method === 'gpu-timestamp' && r.ms !== undefined && r.ms > 0).map((r) => r.ms! / (DAWN_GRAIN_MS / 2));
  if (ms.length < 2) return undefined;
  return ms.every((q) => Math.abs(q - Math.round(q)) < 1e-6);
}

/**
 * Why A's and B's figures may not compare like for like: another timing method (the run's or a
 * row's), another runner (a browser rounds its timestamps; Node does not), timestamps rounded in
 * one run only, or the wait pacer sleeping in one run's wall times only. Printed before the rows.
 */
export function timingWarnings(a: BenchRun, b: BenchRun): string[] {
  const out: string[] = [];
  if (a.timing.method !== b.timing.method) out.push(`timing method differs: A ${a.timing.method}, B ${b.timing.method} (GPU queue time against wall time, which adds recording and waiting)`);
  if (a.runner.kind !== b.runner.kind) out.push(`runner differs: A ${a.runner.kind}, B ${b.runner.kind} (a browser rounds GPU timestamps and has no PyTorch peer)`);
  // Node's runs record it (bench/run.ts `timestampQuantized`); older files and pages by their figures.
  const rounded = (r: BenchRun) => (r as BenchRun & { timestampQuantized?: boolean }).timestampQuantized ?? quantisedTimestamps(r);
  const qa = rounded(a);
  const qb = rounded(b);
  if (qa !== undefined && qb !== undefined && qa !== qb) {
    out.push(`timestamp rounding differs: ${qa ? 'A' : 'B'}'s GPU times sit on Dawn's 65.5 us grid, ${qa ? 'B' : 'A'}'s do not (rows under ~1 ms are not comparable)`);
  }
  const inB = new Map(b.rows.map((r) => [keyOf(r), r]));
  const pairs = a.rows.flatMap((ra) => (inB.has(keyOf(ra)) ? [[ra, inB.get(keyOf(ra))!] as const] : []));
  const methods = pairs.filter(([ra, rb]) => ra.method !== undefined && rb.method !== undefined && ra.method !== rb.method);
  if (methods.length) out.push(`${methods.length} row(s) timed by another method in A than in B, e.g. ${keyOf(methods[0][0])}: ${methods[0][0].method} -> ${methods[0][1].method}`);
  const paced = (r: ResultRow) => (r as ResultRow & { paced?: boolean }).paced;
  const pacing = pairs.filter(([ra, rb]) => paced(ra) !== undefined && paced(rb) !== undefined && paced(ra) !== paced(rb));
  if (pacing.length) {
    const [ra] = pacing[0];
    out.push(`${pacing.length} row(s) timed with the wait pacer in ${paced(ra) ? 'A' : 'B'} only (its sleeps land in wall times), e.g. ${keyOf(ra)}`);
  }
  return out;
}

/** Geometric mean of B/A over the rows both timed. */
export function geomeanRatio(rows: readonly ComparedRow[]): number | undefined {
  const rs = rows.filter((r) => r.ratio !== undefined && r.ratio > 0).map((r) => Math.log(r.ratio!));
  return rs.length ? Math.exp(rs.reduce((s, x) => s + x, 0) / rs.length) : undefined;
}

function ms(r: ResultRow | undefined): string {
  if (!r || r.ms === undefined) return '-';
  return `${r.ms.toFixed(3)}${r.spreadMs !== undefined ? ` ±${r.spreadMs.toFixed(3)}` : ''}`;
}

function label(run: BenchRun): string {
  const commit = run.engine.commit ? ` ${run.engine.commit.slice(0, 10)}${run.engine.dirty ? '+dirty' : ''}` : '';
  return `${run.adapter} (${run.runner.kind}, gradmix ${run.engine.version}${commit}, ${run.mode}, variant ${run.kernelVariant}, ${run.date})`;
}

/** The printed comparison: a header naming both runs, one line per row, and a summary. */
export function formatComparison(a: BenchRun, b: BenchRun, rows: readonly ComparedRow[]): string {
  const lines = [
    `A: ${label(a)}`,
    ...(a.note ? [`   ${a.note}`] : []),
    `B: ${label(b)}`,
    ...(b.note ? [`   ${b.note}`] : []),
    ...timingWarnings(a, b).map((w) => `warning: ${w}`),
    `ceilings A: ${a.ceilings.gflops.toFixed(2)} GFLOP/s, ${a.ceilings.gbps.toFixed(2)} GB/s; B: ${b.ceilings.gflops.toFixed(2)} GFLOP/s, ${b.ceilings.gbps.toFixed(2)} GB/s`,
    `${'row'.padEnd(52)} ${'A ms (±spread)'.padStart(18)} ${'B ms (±spread)'.padStart(18)} ${'B/A'.padStart(7)}  verdict       roofline B`,
  ];
  for (const r of rows) {
    const roof = [
      r.b?.roofline ? `${(100 * r.b.roofline.fraction).toFixed(0)}% of the ${r.b.roofline.limit} roof` : '',
      r.a?.variant !== r.b?.variant && r.a && r.b ? `variant ${r.a.variant ?? '-'} -> ${r.b.variant ?? '-'}` : '',
      // Rows meet by name; a name that leaves out a size (e.g. the page's ?size=) can hide another shape.
      r.a && r.b && r.a.shape !== r.b.shape ? `shape ${r.a.shape} -> ${r.b.shape}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    const key = r.key.length > 52 ? r.key.slice(0, 51) + '~' : r.key;
    lines.push(`${key.padEnd(52)} ${ms(r.a).padStart(18)} ${ms(r.b).padStart(18)} ${(r.ratio === undefined ? '-' : r.ratio.toFixed(2) + 'x').padStart(7)}  ${r.verdict.padEnd(13)} ${roof}`);
  }
  const count = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  const g = geomeanRatio(rows);
  lines.push(
    `B is faster on ${count('faster')}, slower on ${count('slower')}, within noise on ${count('within noise')} rows` +
      `${g === undefined ? '' : `; geometric mean B/A ${g.toFixed(3)}x`} (noise: the two spreads together, at least ${100 * NOISE_FLOOR}% of A)`,
  );
  return lines.join('\n');
}
