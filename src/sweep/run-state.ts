// What a run's folder says about it: finished (results.json with status 'finished'), failed (the
// worker pool gave up on it after its retry: sweep-failed.json), started (a checkpoint to resume),
// or not started. Workers skip finished runs; the report reads all four.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_FILE } from '../train/epoch-loop.js';
import type { OpenSetMetrics } from '../osr/index.js';

export const FAILED_FILE = 'sweep-failed.json';

export type RunState = 'finished' | 'failed' | 'started' | 'not started';

export type Results = OpenSetMetrics & Record<string, unknown>;

/** The run's results.json when it finished; null otherwise (absent, damaged, or not finished). */
export function finishedResults(out: string): Results | null {
  const file = join(out, 'results.json');
  if (!existsSync(file)) return null;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
    return r && r.status === 'finished' && typeof r.auroc === 'number' ? r : null;
  } catch {
    return null; // damaged: the run is rerun, its results.json rewritten
  }
}

export function runState(out: string): RunState {
  if (finishedResults(out)) return 'finished';
  if (existsSync(join(out, FAILED_FILE))) return 'failed';
  return existsSync(join(out, CHECKPOINT_FILE)) ? 'started' : 'not started';
}

export function failureOf(out: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(out, FAILED_FILE), 'utf8')) as { reason: string }).reason;
  } catch {
    return null;
  }
}

export function markFailed(out: string, reason: string, attempts: number): void {
  writeFileSync(join(out, FAILED_FILE), JSON.stringify({ reason, attempts, at: new Date().toISOString() }) + '\n');
}

export function clearFailed(out: string): void {
  rmSync(join(out, FAILED_FILE), { force: true });
}
