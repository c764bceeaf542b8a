// What a run's folder says about it: finished (results.json with status 'finished'), held (a run
// lock: a worker trains it now, or one was stopped without releasing it), failed (the worker pool
// gave up on it after its retry: sweep-failed.json), started (its config.json or a checkpoint), or
// not started. Workers skip finished runs; the report reads them all, and also says when a folder
// holds a run of other settings than planned (run-settings.ts).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_FILE } from '../train/epoch-loop.js';
import { LOCK_FILE, readLockOwner, type LockOwner } from '../train/run-lock.js';
import type { OpenSetMetrics } from '../osr/index.js';

export const FAILED_FILE = 'sweep-failed.json';

/** 'other settings' and 'unreadable' (a saved run that cannot be read) need the plan: run-settings.ts. */
export type RunState = 'finished' | 'other settings' | 'unreadable' | 'held' | 'failed' | 'started' | 'not started';

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

/** The holder its run.lock names (pid, host, scheduler job); null without a readable lock. */
export function lockHolder(out: string): LockOwner | null {
  return readLockOwner(join(out, LOCK_FILE));
}

/** A run's state from its files alone. */
export function runState(out: string): Exclude<RunState, 'other settings' | 'unreadable'> {
  if (finishedResults(out)) return 'finished';
  // A run that crashed without releasing its lock (the OOM killer, a driver fault) leaves both
  // files, and the failure says why; a lock taken after the failure was recorded (a new attempt,
  // a resume by hand) is the newer news.
  const holder = lockHolder(out);
  const failure = failureRecord(out);
  if (failure) {
    const at = typeof failure.at === 'string' ? Date.parse(failure.at) : NaN;
    return holder && Date.parse(holder.started) > (Number.isNaN(at) ? -Infinity : at) ? 'held' : 'failed';
  }
  if (holder) return 'held';
  return existsSync(join(out, CHECKPOINT_FILE)) || existsSync(join(out, 'config.json')) ? 'started' : 'not started';
}

/** sweep-failed.json's record: null when there is none, {} when it is there but unreadable. */
function failureRecord(out: string): { reason?: unknown; at?: unknown } | null {
  const file = join(out, FAILED_FILE);
  if (!existsSync(file)) return null;
  try {
    const record: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return record && typeof record === 'object' ? record : {};
  } catch {
    return {};
  }
}

/** Why the pool gave up on the run (sweep-failed.json), or null. */
export function failureOf(out: string): string | null {
  const reason = failureRecord(out)?.reason;
  return typeof reason === 'string' ? reason : null;
}

export function markFailed(out: string, reason: string, attempts: number): void {
  writeFileSync(join(out, FAILED_FILE), JSON.stringify({ reason, attempts, at: new Date().toISOString() }) + '\n');
}

export function clearFailed(out: string): void {
  rmSync(join(out, FAILED_FILE), { force: true });
}
