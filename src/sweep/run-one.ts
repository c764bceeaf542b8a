// One run of a plan, as `gradmix sweep run <plan> --index N` (a worker's child process, a Slurm
// array task, a Kubernetes pod) runs it: skipped when finished, claimed with the run lock (so two
// workers never train the same run, on one machine or across machines sharing the folder), resumed
// from its checkpoint when one is there, then trained and evaluated like `gradmix train`.
import { trainAndEvaluate } from '../cli/commands.js';
import { checkTrainOptions } from '../cli/option-flags.js';
import { acquireRunLock, makeFolder } from '../train/run-lock.js';
import { runOut, type PlannedRun } from './plan.js';
import { clearFailed, finishedResults } from './run-state.js';

/** Another live process holds the run (its lock): not a failure of this worker. */
export class RunClaimedError extends Error {}

export type RunOutcome = 'finished' | 'skipped' | 'interrupted';

export function describeRun(r: PlannedRun): string {
  return `run ${r.index} (${r.protocol} split ${r.split}, ${r.method}, seed ${r.seed})`;
}

export async function runPlanned(planFile: string, run: PlannedRun): Promise<RunOutcome> {
  const out = runOut(planFile, run);
  const options = { ...run.options, out, resume: true, evaluate: true, progress: false };
  checkTrainOptions(options); // a plan edited by hand: every value checked before the GPU starts
  if (finishedResults(out)) {
    console.log(`${describeRun(run)}: already finished (${out}/results.json), skipped`);
    return 'skipped';
  }
  makeFolder(out, 'run folder');
  let release: () => void;
  try {
    release = acquireRunLock(out);
  } catch (e) {
    // The lock's own message says who holds it; a lock of a dead process is taken over above.
    if (/in use by another gradmix run/.test((e as Error).message)) throw new RunClaimedError((e as Error).message);
    throw e;
  }
  try {
    if (finishedResults(out)) return 'skipped'; // finished by its holder while this worker waited for the lock
    console.log(`${describeRun(run)}: training in ${out}`);
    const metrics = await trainAndEvaluate(options);
    if (!metrics) return 'interrupted';
    clearFailed(out); // a run reported failed that a later worker finished
    return 'finished';
  } finally {
    release();
  }
}
