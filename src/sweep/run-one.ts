// One run of a plan, as `gradmix sweep run <plan> --index N` (a worker's child process, a Slurm
// array task, a Kubernetes pod) runs it: refused when its folder holds a run of other settings,
// skipped when finished, claimed with the run lock (so two workers never train the same run, on one
// machine or across machines sharing the folder), resumed from its checkpoint when one is there,
// then trained and evaluated like `gradmix train`.
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { asFlag } from '../train/option-flags.js';
import { dataLabel } from '../train/run-config.js';
import { resolveOptions, type TrainOptions } from '../train/options.js';
import { LOCK_FILE, acquireRunLock, makeFolder, readLockOwner } from '../train/run-lock.js';
import { trainAndEvaluate } from '../train/train-and-evaluate.js';
import { RERUN_TO_CONTINUE } from '../train/epoch-loop.js';
import { runOut, type PlannedRun } from './plan.js';
import { clearFailed, finishedResults } from './run-state.js';
import { checkPlannedSettings } from './run-settings.js';
import { releaseLockOnExit } from './lock-signals.js';

/** Environment variables that carry a task's index: Slurm job arrays, Kubernetes Indexed Jobs. */
export const INDEX_ENV = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX'];
/** The scheduler job a task belongs to (set by the scripts `gradmix sweep slurm|k8s` write). */
export const JOB_ENV = 'GRADMIX_SWEEP_JOB';

/** Another live process holds the run (its lock): not a failure of this worker. */
export class RunClaimedError extends Error {}

export type RunOutcome = 'finished' | 'skipped' | 'interrupted';

export function describeRun(r: PlannedRun): string {
  return `run ${r.index} (${dataLabel({ ...r.options, protocol: r.protocol, split: r.split })}, ${r.method}, seed ${r.seed})`;
}

/**
 * A scheduler's task (Slurm array task, Indexed Job pod) holds its index alone within its job: a
 * lock another host left on the run under the same job (GRADMIX_SWEEP_JOB: the Slurm array job, the
 * Kubernetes Job) is a crashed earlier attempt's (a retried pod has a new name), so it is taken
 * over. A lock of another job, a local pool or a hand-started run may be live: the run lock decides.
 */
export function takeOverForeignLock(out: string, job = process.env[JOB_ENV]): void {
  const file = join(out, LOCK_FILE);
  if (!job) return;
  const owner = readLockOwner(file); // none, or unreadable: the run lock takes it over itself
  if (!owner || owner.host === hostname()) return; // this host's: the run lock checks its process
  if (owner.job !== job) return;
  console.error(`taking over the lock of ${out} left by ${owner.host}: ${job} runs this index in one task at a time, so that attempt is over`);
  rmSync(file, { force: true });
}

/** `schedulerTask`: the index came from the scheduler (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX). */
export async function runPlanned(planFile: string, run: PlannedRun, schedulerTask = false): Promise<RunOutcome> {
  const out = runOut(planFile, run);
  const options = { ...run.options, out, resume: true, evaluate: true, progress: false };
  // A plan edited by hand: every value checked before the GPU starts, named by its flag and the plan.
  let planned: TrainOptions;
  try {
    planned = resolveOptions(options, asFlag);
  } catch (e) {
    throw new Error(`${planFile}: ${describeRun(run)}: ${(e as Error).message}`);
  }
  // A finished run of other settings is not this plan's result: it is neither skipped nor counted.
  const results = finishedResults(out);
  await checkPlannedSettings(out, planned, results, describeRun(run));
  if (results) {
    console.log(`${describeRun(run)}: already finished (${out}/results.json), skipped`);
    return 'skipped';
  }
  makeFolder(out, 'run folder');
  if (schedulerTask) takeOverForeignLock(out);
  // Guarded before the lock is taken: Node listens for a signal only once a listener exists, so a
  // SIGTERM between taking the lock and listening would kill the process with its lock left behind
  // (the guard drops only a lock of this process, so an early signal drops nothing).
  const unguard = releaseLockOnExit(out);
  let release: () => void;
  try {
    release = acquireRunLock(out);
  } catch (e) {
    unguard();
    // The lock's own message says who holds it; a lock of a dead process is taken over above.
    if (/in use by another gradmix run/.test((e as Error).message)) throw new RunClaimedError((e as Error).message);
    throw e;
  }
  try {
    if (finishedResults(out)) return 'skipped'; // finished by its holder while this worker waited for the lock
    clearFailed(out); // a new attempt: the report says held (or, if this one fails too, failed again)
    console.log(`${describeRun(run)}: training in ${out}`);
    // A stopped run continues when the sweep runs again (it resumes by itself): no --resume to give.
    const result = await trainAndEvaluate(options, { log: (line) => console.log(line), continueHint: RERUN_TO_CONTINUE });
    result.dispose();
    if (!result.metrics) return 'interrupted';
    return 'finished';
  } finally {
    release();
    unguard();
  }
}
