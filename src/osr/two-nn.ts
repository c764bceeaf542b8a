// TwoNN's fit (Facco et al. 2017, as Ansuini et al. 2019 apply it; intrinsic-dim.ts has the whole
// estimate): host-only arithmetic, kept apart so that it loads with the module while the GPU
// estimate is fetched on first use (intrinsic-dim-entry.ts).

/** The slope of -log(1 - F(mu)) against log(mu) through the origin (Ansuini et al.'s fit); mu as given (any order). */
export function twoNNFit(mu: ArrayLike<number>, fraction = 0.9): number {
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`twoNNFit: fraction must be in (0, 1], got ${fraction}`);
  const sorted = Float64Array.from(mu).sort();
  const n = sorted.length;
  const used = Math.min(Math.floor(n * fraction), n - 2);
  if (used < 1) throw new Error(`twoNNFit: ${n} ratio(s) are too few for a fit; need at least 3`);
  let xy = 0;
  let xx = 0;
  for (let i = 0; i < used; i++) {
    const x = Math.log(sorted[i]);
    const y = -Math.log(1 - (i + 1) / n);
    xy += x * y;
    xx += x * x;
  }
  return xy / xx;
}
