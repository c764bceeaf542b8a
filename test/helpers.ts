// Shared test machinery: one GPU for the run, poisoned outputs, seeded random inputs (the seed
// is printed with every failure), and the accuracy bars of docs/KERNELS.md section 1.
import * as assert from 'uvu/assert';
import { initGpu } from '../runtime/gpu.js';
import { setPoisonNewTensors, Tensor, type Shape } from '../src/tensor.js';
import { Rng } from '../src/random.js';
import { tensor } from '../src/creation.js';
import { fillInto } from '../src/ops/elementwise.js';

/** Relative L2 error bars (docs/KERNELS.md section 1). */
export const FORWARD_TOL = 1e-4;
export const GRAD_TOL = 1e-3;

let ready: Promise<void> | null = null;

/** Acquires the GPU once and turns on output poisoning (every new float tensor starts as NaN). */
export function setupGpu(): Promise<void> {
  process.env.GRADMIX_AUTOTUNE ??= '0'; // deterministic kernels: every op runs the adapter default
  ready ??= initGpu().then(() => {
    setPoisonNewTensors(true, (t) => fillInto(t, NaN));
  });
  return ready;
}

/** A fresh seed per test unless SEED is set; returned so failures can name it. */
export function seeded(): { rng: Rng; seed: number } {
  const seed = process.env.SEED ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);
  return { rng: new Rng(seed), seed };
}

export function randomArray(rng: Rng, n: number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(lo, hi);
  return a;
}

/** Distinct values in [-1, 1) (a shuffled ladder 2/n apart), so finite differences of a maximum never cross a tie. */
export function distinct(rng: Rng, n: number): Float64Array {
  const v = Float64Array.from({ length: n }, (_, i) => (2 * i) / n - 1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform(0, i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

export function upload(values: ArrayLike<number>, shape: Shape, requiresGrad = false): Tensor {
  return tensor(Float32Array.from(values), shape, { requiresGrad });
}

/** ||got - ref|| / ||ref|| (absolute error when ref is all zeros). */
export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = got[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Asserts shape, no NaN/Inf anywhere (poison catches unwritten elements) and the error bar. */
export function assertClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string, seed?: number): void {
  const tag = seed === undefined ? what : `${what} (seed ${seed})`;
  assert.is(got.length, ref.length, `${tag}: length ${got.length} != ${ref.length}`);
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i]) && Number.isFinite(ref[i])) assert.unreachable(`${tag}: element ${i} is ${got[i]}, reference ${ref[i]}`);
  }
  const err = relativeError(got, ref);
  assert.ok(err < tol, `${tag}: relative error ${err.toExponential(3)} >= ${tol}`);
}

export async function read(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}

/** Pairs (i in pos, j in neg) where i scores higher, ties counting half: the Mann-Whitney count. */
export function pairwiseWins(scores: ArrayLike<number>, pos: (i: number) => boolean, neg: (i: number) => boolean): number {
  let wins = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!pos(i)) continue;
    for (let j = 0; j < scores.length; j++) {
      if (neg(j)) wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins;
}

/** AUROC by its definition (scikit-learn's roc_auc_score): the fraction of (known, unknown) pairs the known wins. */
export function aurocByPairs(scores: ArrayLike<number>, isKnown: ArrayLike<number | boolean>): number {
  const known = (i: number) => Boolean(isKnown[i]);
  let nKnown = 0;
  for (let i = 0; i < scores.length; i++) if (known(i)) nKnown++;
  return pairwiseWins(scores, known, (i) => !known(i)) / (nKnown * (scores.length - nKnown));
}
