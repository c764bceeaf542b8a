// A plan's run folder may already hold a run of other settings (a folder reused by a rewritten
// plan, a copied folder): its results are not this plan's, and resuming it would fail later on the
// checkpoint's fingerprint. The saved run (config.json, else the checkpoint's metadata) is compared
// with the planned options by the fingerprint a resume checks, and a finished run's results.json
// also by its score and k (evaluation settings, outside the fingerprint but inside the numbers).
import { asFlag, flagOf } from '../train/option-flags.js';
import { resolveOptions, type TrainOptions } from '../train/options.js';
import { readRunConfig } from '../train/run-config-file.js';
import { checkpointFingerprint } from '../train/training-run.js';
import type { Results } from './run-state.js';
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

const show = (v: unknown) => (v === undefined ? 'the default' : Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * The settings in which the run saved in `out` differs from `planned` ("--width 4 (the run's: 2)"),
 * with where they were read; null when the folder holds no run or the same one.
 */
export async function otherSettings(out: string, planned: TrainOptions, results: Results | null = null): Promise<{ source: string; differ: string[] } | null> {
  const saved = await readRunConfig(out, (note) => console.error(`note: ${note}`));
  const differ: string[] = [];
  let source = '';
  if (saved) {
    source = saved.source;
    const before = JSON.parse(checkpointFingerprint(saved.config as TrainOptions)) as Record<string, unknown>;
    const now = JSON.parse(checkpointFingerprint(planned)) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(before), ...Object.keys(now)])) {
      if (JSON.stringify(before[k]) !== JSON.stringify(now[k])) differ.push(`--${flagOf(k)} ${show(now[k])} (the run's: ${show(before[k])})`);
    }
  }
  if (results) {
    // k changes the numbers only of the kNN score.
    const keys: ('score' | 'k')[] = planned.score === 'knn' ? ['score', 'k'] : ['score'];
    for (const k of keys) {
      if (results[k] !== undefined && results[k] !== planned[k]) {
        differ.push(`--${k} ${show(planned[k])} (the results': ${show(results[k])})`);
        source ||= 'results.json';
      }
    }
  }
  return differ.length ? { source, differ } : null;
}

/** Throws an OtherSettingsError when `out` holds a run of other settings than `planned`. */
export async function checkPlannedSettings(out: string, planned: TrainOptions, results: Results | null, what: string): Promise<void> {
  const other = await otherSettings(out, planned, results);
  if (!other) return;
  throw new OtherSettingsError(
    `${what}: ${out} holds a run of other settings (${other.source}): ${other.differ.join(', ')}; its results are not this plan's. Move or delete that folder, or plan the run with its settings`,
  );
}
