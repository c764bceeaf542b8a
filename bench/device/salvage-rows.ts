// A benchmark call's results, finished or not: bench/run.ts rewrites its --json file (atomically)
// after every row with `complete: false` and the rows it was asked for (`expected`), and once more
// at the end with `complete: true`. A call stopped at its time share (or one that crashed) thus
// leaves every field of the rows it finished (wall time, kernel time, the peers' figures and
// request ids), marked salvaged; the rows it never reached are the expected ones it lacks.
import { existsSync } from 'node:fs';
import { readJson } from './run-child.js';

export interface BenchRow {
  family: string;
  name: string;
  ms?: number;
  wallMs?: number;
  /** The kernels' GPU time of a profiled run and that run's wall time (rows that ask for them). */
  kernelMs?: number;
  kernelWallMs?: number;
  /** The union of those kernels' intervals (overlaps once); absent in files written before it. */
  kernelBusyMs?: number;
  /** Dispatches whose timestamps were not written: the busy time is then no figure to judge. */
  kernelUnwritten?: number;
  /** How many of the model's layers have this shape: a family total sums count x time (absent: 1). */
  count?: number;
  method?: string;
  error?: string;
  note?: string;
  cpu?: { ours?: number; tfjs?: number; torch?: number };
  tfjs?: { ms?: number; ratio?: number; error?: string; method?: string };
  /**
   * tf32Ms: the same request with TF32 on; tf32Off: whether the peer's logged fp32 settings show
   * TF32 off (absent: no log line for the request); tf32Near: fp32 within 10% of TF32 on
   * (torch-cuda.jsonl, joined by torchRequest).
   */
  torch?: { ms?: number; ratio?: number; error?: string; tf32Ms?: number; tf32Off?: boolean; tf32Near?: boolean; fp32Settings?: Record<string, unknown> };
  /** The PyTorch peer's request id for this row (bench/run.ts), with peers.torch.call the log's key. */
  torchRequest?: number;
  /** Which call of the part measured it (the part's `groups`). */
  group?: number;
}

export interface BenchFile {
  adapter: string;
  rows: BenchRow[];
  /** Every row the call was asked for, in order (bench/run.ts; absent in files written before it). */
  expected?: { family: string; name: string }[];
  /** bench/run.ts's last write; false (or absent) when the call did not finish. */
  complete?: boolean;
  /** The call did not finish: the rows are those it wrote before it stopped. */
  salvaged?: boolean;
  peers?: { torch?: { version?: string; call?: string; unavailable?: string }; tfjs?: unknown };
  [k: string]: unknown;
}

/** The JSON a bench call left in `file`, salvaged when it did not finish; null when it left none. */
export function readBenchFile(file: string): BenchFile | null {
  const json = existsSync(file) ? readJson<BenchFile>(file) : null;
  if (!json || !Array.isArray(json.rows) || typeof json.adapter !== 'string') return null;
  return json.complete === true ? json : { ...json, salvaged: true };
}

/** The expected rows a (cut) call has no row for, as 'family name'. */
export function missingRows(json: Pick<BenchFile, 'rows' | 'expected'>): string[] {
  const done = new Set(json.rows.map((r) => `${r.family} ${r.name}`));
  return (json.expected ?? []).map((e) => `${e.family} ${e.name}`).filter((k) => !done.has(k));
}
