// A plan's run folder may already hold a run of other settings (a folder reused by a rewritten
// plan, a copied folder): its results are not this plan's, and resuming it would fail later on the
// checkpoint's fingerprint. The saved run (config.json, else the checkpoint's metadata) is compared
// with the planned options by the fingerprint a resume checks, and a finished run's results.json
// also by its score and k (evaluation settings, outside the fingerprint but inside the numbers).
import { asFlag, showOption } from '../train/option-flags.js';
import { resolveOptions, type TrainOptions } from '../train/options.js';
import { readRunConfig } from '../train/run-config-file.js';
import { fingerprintDiff } from '../train/training-run.js';
import { existsSync } from 'node:fs';
import { finishedResults, type Results } from './run-state.js';
import { runOut, type PlannedRun } from './plan.js';

/** A planned run's folder holds a run of other settings: stops the worker, names the folder and the settings. */
export class OtherSettingsError extends Error {}

/** A planned run's resolved options; null for a plan edited into bad values (its run fails, naming them). */
export function plannedOptions(planFile: string, run: PlannedRun): TrainOptions | null {
  try {
    return resolveOptions({ ...run.options, out: runOut(planFile, run) }, asFlag);
  } catch {
    return null;
  }
}

/**
 * The settings in which the run saved in `out` differs from `planned` ("--width 4 (the run's width: 2)"),
 * with where they were read; null when the folder holds no run or the same one.
 */
export async function otherSettings(out: string, planned: TrainOptions, results: Results | null = null): Promise<{ source: string; differ: string[] } | null> {
  const saved = await readRunConfig(out, (note) => console.error(`note: ${note}`));
  const differ: string[] = [];
  let source = '';
  if (saved) {
    source = saved.source;
    differ.push(...fingerprintDiff(saved.config as TrainOptions, planned));
  }
  if (results) {
    // k changes the numbers only of the kNN score.
    const keys: ('score' | 'k')[] = planned.score === 'knn' ? ['score', 'k'] : ['score'];
    for (const k of keys) {
      if (results[k] !== undefined && results[k] !== planned[k]) {
        differ.push(`--${k} ${showOption(planned[k])} (the results': ${showOption(results[k])})`);
        source ||= 'results.json';
      }
    }
  }
  return differ.length ? { source, differ } : null;
}

/**
 * How the folder of planned run `run` differs from the plan; null when it holds no run or the same
 * one. A saved run that cannot be read (a damaged checkpoint with no config.json) is a difference
 * too, with why: one bad folder must not stop a whole pool, plan or report.
 */
export async function plannedRunDiffers(
  planFile: string,
  run: PlannedRun,
  results: Results | null = finishedResults(runOut(planFile, run)),
): Promise<{ source: string; differ: string[]; unreadable?: true } | null> {
  const out = runOut(planFile, run);
  const planned = plannedOptions(planFile, run);
  if (!planned || !existsSync(out)) return null;
  try {
    return await otherSettings(out, planned, results);
  } catch (e) {
    return { source: out, differ: [`its saved run cannot be read: ${(e as Error).message}`], unreadable: true };
  }
}

/** Throws an OtherSettingsError when `out` holds a run of other settings than `planned`. */
export async function checkPlannedSettings(out: string, planned: TrainOptions, results: Results | null, what: string): Promise<void> {
  const other = await otherSettings(out, planned, results);
  if (!other) return;
  throw new OtherSettingsError(
    `${what}: ${out} holds a run of other settings (${other.source}): ${other.differ.join(', ')}; its results are not this plan's. Move or delete that folder, or plan the run with its settings`,
  );
}
