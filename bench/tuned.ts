// A row whose kernel variant is autotuned (runtime/autotune.ts): at first use per adapter and
// shape class each variant is timed and the fastest kept on disk; later runs read the choice.
import { gpu } from '../runtime/gpu.js';
import { shapeClass } from '../runtime/autotune.js';
import { timeOurs } from './harness.js';
import type { BenchConfig, Work } from './family.js';

export type KernelVariant = 'register' | 'tiled';
const VARIANTS: readonly KernelVariant[] = ['register', 'tiled'];

/** The variants, the adapter's default first (what GRADMIX_AUTOTUNE=0 gives). */
export function variantCandidates(): KernelVariant[] {
  const preferred = gpu().kernelVariant;
  return [preferred, ...VARIANTS.filter((v) => v !== preferred)];
}

/**
 * The work of the variant the autotuner picks for `op` at this shape class; `prepare` makes the
 * work of one variant (inputs included), and is called again for the chosen one.
 */
export async function tunedWork(
  cfg: BenchConfig,
  op: string,
  dims: Record<string, number | boolean | string>,
  prepare: (variant: KernelVariant) => Work,
): Promise<Work> {
  const warmed = new Set<KernelVariant>(); // pipelines compile on a variant's first run only
  const tuned = await cfg.autotuner.choose({
    op,
    shapeClass: shapeClass(dims),
    candidates: variantCandidates(),
    nameOf: (v) => v,
    time: async (variant) => {
      const work = prepare(variant);
      try {
        // One timed run per round (after a warm-up in the first); the autotuner keeps the fastest.
        const warmup = warmed.has(variant) ? 0 : 1;
        warmed.add(variant);
        return (await timeOurs(work.run!, { ...cfg.timing, warmup, repeats: 1, minRepeats: 1 })).ms;
      } finally {
        work.dispose();
      }
    },
  });
  const timings = tuned.entry ? Object.entries(tuned.entry.timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' / ') : '';
  const work = prepare(tuned.choice);
  return { ...work, note: `${tuned.choice} (${tuned.source}${timings ? `: ${timings} ms` : ''})` };
}
