// The JSON a benchmark run writes (Node's `npm run bench`), versioned so that two runs (two
// machines, two commits, two kernel variants) can be compared by `npm run bench:compare`. No
// Node imports: the browser page writes the same document. Field by field in bench/NOTES.md.
import type { Ceilings } from './ceilings.js';
import type { ResultRow } from './report.js';
import type { TimeOptions, TimingMethod } from './harness.js';

/** Bump when a field changes meaning or is removed (adding optional fields keeps the version). */
export const RESULT_SCHEMA = 'gradmix-bench/2';

export interface BenchRun {
  schema: typeof RESULT_SCHEMA;
  /** Adapter as `gpu().describe()` prints it (vendor / architecture / device / description). */
  adapter: string;
  /** The matmul/conv variant the engine chose for this adapter ('register' or 'tiled'). */
  kernelVariant: string;
  /** gradmix's package.json version and the git commit the run was taken at (null outside a clone). */
  engine: { version: string; commit: string | null; dirty?: boolean };
  /** Where it ran: 'node' (Dawn) or 'browser' (the page's navigator.gpu, with the user agent). */
  runner: { kind: 'node' | 'browser'; userAgent?: string };
  date: string;
  mode: 'quick' | 'full';
  batches: readonly number[];
  widths: readonly number[];
  timing: { method: TimingMethod } & TimeOptions;
  loadAverage?: [number, number];
  /** Free text on the conditions of the run (`npm run bench -- --note '...'`), e.g. a shared machine. */
  note?: string;
  peers: Record<string, { version: string; threadsTried?: number[] } | { unavailable: string }>;
  ceilings: Ceilings;
  skipped: { family: string; reason: string }[];
  /** Per row: `ms` is the median, `spreadMs` half the interquartile range of the same samples. */
  rows: ResultRow[];
}

/**
 * Parses a run document, refusing another schema version with a message that says which (a file
 * written before versioning has no `schema` field: re-run `npm run bench` to get a comparable one).
 */
export function parseRun(text: string, source: string): BenchRun {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${source}: not a benchmark run (expected a JSON object)`);
  const schema = (doc as { schema?: unknown }).schema;
  if (schema !== RESULT_SCHEMA) {
    throw new Error(
      `${source}: schema ${schema === undefined ? '(none: written before results were versioned)' : JSON.stringify(schema)} ` +
        `is not ${RESULT_SCHEMA}, which this compare reads; re-run the benchmark to get a comparable file`,
    );
  }
  const run = doc as BenchRun;
  if (!Array.isArray(run.rows) || typeof run.ceilings?.gflops !== 'number' || typeof run.ceilings?.gbps !== 'number') {
    throw new Error(`${source}: schema ${RESULT_SCHEMA} but no rows array or ceilings (gflops, gbps): the file is incomplete`);
  }
  return run;
}
