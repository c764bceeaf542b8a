// The worker pool of `gradmix sweep run <plan> --adapters/--workers`: one worker slot per adapter
// (or --workers slots), each pulling the next run of the plan that is not finished and starting it
// as a child process (`gradmix sweep run <plan> --index N`, pinned with GRADMIX_ADAPTER), so a crash
// (a lost device, an out-of-memory kill) takes only that run down. A crashed run goes back to the
// queue once, for the next free worker; a second crash marks it failed (sweep-failed.json). A run
// whose folder holds a run of other settings is reported failed at once (run-settings.ts).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFolder } from '../train/run-lock.js';
import { runOut, type PlannedRun } from './plan.js';
import { finishedResults, markFailed } from './run-state.js';
import { INDEX_ENV, JOB_ENV, describeRun } from './run-one.js';
import { plannedRunDiffers } from './run-settings.js';

/** Exit status of `sweep run --index` when another live process holds the run (EX_TEMPFAIL). */
export const CLAIMED_EXIT = 75;
/** Exit status of `sweep run --index` in a pool's child when the run was finished already (nothing trained). */
export const SKIPPED_EXIT = 3;
/** Exit status of `sweep run --index` when the run's folder holds a run of other settings (EX_DATAERR): no retry helps. */
export const OTHER_SETTINGS_EXIT = 65;
/** Set in a pool's children: their worker's name (and that a skipped run exits SKIPPED_EXIT). */
export const WORKER_ENV = 'GRADMIX_SWEEP_WORKER';
/** Exit status of a run stopped by Ctrl-C (its checkpoint saved, or its lock released before or after training). */
const INTERRUPTED_EXIT = 130;
/** Attempts a run gets before it is reported failed: the first, and one retry. */
export const ATTEMPTS = 2;
export const WORKER_LOG = 'sweep-worker.log';

export interface WorkerSlot {
  name: string;
  /** GRADMIX_ADAPTER of its children (undefined: the default adapter). */
  adapter?: string;
}

export interface PoolResult {
  finished: number[];
  skipped: number[];
  /** Runs another process (another machine's worker) held: not run here. */
  elsewhere: number[];
  failed: { index: number; reason: string }[];
  interrupted: boolean;
}

/** bin/gradmix.js, found by walking up from this module (src/sweep/ in a clone, dist/src/sweep/ installed). */
export function gradmixBin(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const bin = join(dir, 'bin', 'gradmix.js');
    if (existsSync(bin)) return bin;
    if (dirname(dir) === dir) throw new Error(`sweep: no bin/gradmix.js above ${fileURLToPath(import.meta.url)}`);
  }
}

/**
 * A child's environment: this one's, pinned to the slot's adapter, without the scheduler's task
 * variables. A pool started inside a Slurm array task or a pod would otherwise hand them on, and a
 * child whose run index happened to equal the task's would count as that scheduler task and take
 * over a lock its job left on another node, although that node may still be training the run.
 */
export function childEnv(slot: WorkerSlot, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, [WORKER_ENV]: slot.name, ...(slot.adapter ? { GRADMIX_ADAPTER: slot.adapter } : {}) };
  for (const name of [...INDEX_ENV, JOB_ENV]) delete out[name];
  return out;
}

/** Runs one run in a child process, its output appended to <run>/sweep-worker.log; resolves with how it ended. */
function runChild(planFile: string, run: PlannedRun, slot: WorkerSlot): Promise<{ code: number | null; signal: string | null; log: string }> {
  const out = runOut(planFile, run);
  makeFolder(out, 'run folder');
  const log = join(out, WORKER_LOG);
  const stream = createWriteStream(log, { flags: 'a' });
  stream.write(`--- ${new Date().toISOString()} worker ${slot.name}${slot.adapter ? ` (adapter ${slot.adapter})` : ''}\n`);
  const env = childEnv(slot);
  const child = spawn(process.execPath, [gradmixBin(), 'sweep', 'run', planFile, '--index', String(run.index)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(stream, { end: false });
  child.stderr.pipe(stream, { end: false });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => stream.end(() => done({ code, signal, log })));
  });
}

export async function runPool(planFile: string, runs: PlannedRun[], slots: WorkerSlot[], log: (line: string) => void = (l) => console.log(l)): Promise<PoolResult> {
  const result: PoolResult = { finished: [], skipped: [], elsewhere: [], failed: [], interrupted: false };
  // A crashed run goes back with the worker it crashed on, so that another worker retries it.
  const queue: { run: PlannedRun; avoid?: string }[] = [];
  for (const r of runs) {
    const out = runOut(planFile, r);
    const results = finishedResults(out);
    const other = await plannedRunDiffers(planFile, r, results);
    // Not this plan's run: no retry helps, and its results must not count as this plan's.
    if (other)
      result.failed.push({ index: r.index, reason: other.unreadable ? `${out}: ${other.differ.join(', ')}` : `${out} holds a run of other settings (${other.source}): ${other.differ.join(', ')}` });
    else if (results) result.skipped.push(r.index);
    else queue.push({ run: r });
  }
  for (const f of result.failed) log(`run ${f.index}: ${f.reason}; not run`);
  if (result.skipped.length) log(`${result.skipped.length} of ${runs.length} run(s) already finished`);
  const attempts = new Map<number, number>();
  // Workers with nothing to take wait while runs are in flight: a crash may put one back.
  let inFlight = 0;
  let wake = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const notify = () => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };
  const take = (slot: WorkerSlot): PlannedRun | undefined => {
    const i = queue.findIndex((q) => q.avoid !== slot.name || slots.length === 1);
    return i < 0 ? undefined : queue.splice(i, 1)[0].run;
  };
  // Ctrl-C reaches the children too (one process group): they save checkpoints; no new run starts.
  const onInterrupt = () => {
    result.interrupted = true;
    notify();
  };
  process.on('SIGINT', onInterrupt);
  const attemptRun = async (slot: WorkerSlot, run: PlannedRun) => {
    const attempt = (attempts.get(run.index) ?? 0) + 1;
    attempts.set(run.index, attempt);
    log(`worker ${slot.name}: ${describeRun(run)}${attempt > 1 ? `, attempt ${attempt}` : ''}`);
    const { code, signal, log: file } = await runChild(planFile, run, slot);
    if (code === 0) {
      result.finished.push(run.index);
      log(`worker ${slot.name}: ${describeRun(run)} finished`);
    } else if (code === SKIPPED_EXIT) {
      result.skipped.push(run.index); // finished meanwhile by another machine's worker: nothing trained here
      log(`worker ${slot.name}: ${describeRun(run)} was finished already, skipped`);
    } else if (code === OTHER_SETTINGS_EXIT) {
      const reason = `its folder holds a run of other settings (log: ${file})`;
      log(`worker ${slot.name}: ${describeRun(run)}: ${reason}; not run`);
      result.failed.push({ index: run.index, reason });
    } else if (code === CLAIMED_EXIT) {
      result.elsewhere.push(run.index);
      log(`worker ${slot.name}: ${describeRun(run)} is held by another process, left to it`);
    } else if (code === INTERRUPTED_EXIT || result.interrupted) {
      result.interrupted = true;
    } else {
      const reason = `${signal ? `killed by ${signal}` : `exit status ${code}`} (log: ${file})`;
      if (attempt < ATTEMPTS) {
        log(`worker ${slot.name}: ${describeRun(run)} crashed, ${reason}; another worker retries it`);
        queue.push({ run, avoid: slot.name });
      } else {
        log(`worker ${slot.name}: ${describeRun(run)} failed again, ${reason}; reported failed`);
        markFailed(runOut(planFile, run), reason, attempt);
        result.failed.push({ index: run.index, reason });
      }
    }
  };
  const worker = async (slot: WorkerSlot) => {
    while (!result.interrupted) {
      const run = take(slot);
      if (!run) {
        if (inFlight === 0 && queue.length === 0) return;
        await changed;
        continue;
      }
      inFlight++;
      try {
        await attemptRun(slot, run);
      } finally {
        inFlight--;
        notify();
      }
    }
  };
  try {
    await Promise.all(slots.map(worker));
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  return result;
}
