// A row whose kernel variant is autotuned the way the ops tune it (src/ops/kernel-choice.ts): at
// first use per adapter and shape class each candidate is timed and the fastest kept on disk;
// later runs read the choice. The row then times the chosen variant, forced.
import { tuneProblem, type TuneProblem } from '../src/ops/kernel-choice.js';
import type { Work } from './family.js';

/**
 * The work of the variant the autotuner picks for `problem`; `prepare` makes the work of one
 * variant (inputs included). The note names the choice and every candidate's tuning time.
 */
export async function tunedWork<V extends string>(problem: TuneProblem & { candidates: readonly V[] }, prepare: (variant: V) => Work): Promise<Work> {
  const tuned = await tuneProblem(problem);
  const timings = Object.entries(tuned.timings)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(' / ');
  const work = prepare(tuned.choice as V);
  return { ...work, variant: tuned.choice, note: `${tuned.choice} (${tuned.source}${timings ? `: ${timings} ms` : ''})` };
}
