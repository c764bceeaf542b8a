// TwoNN intrinsic dimension: points on a d-dimensional linear subspace of R^20 give estimates
// near d, and the GPU + candidate-refinement implementation matches a direct float64 transcription
// of Ansuini et al.'s `estimate` (all-pairs distances, sorted rows) on random clouds with
// duplicates and on a subset of a larger set; clear errors for too few points, duplicate-only or
// non-finite features, and an evaluation that reports NaN for it (with a note) and keeps its metrics.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { intrinsicDimension } from '../src/osr/intrinsic-dim.js';
import { evaluateOpenSet } from '../src/osr/evaluate.js';
import { SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import type { Dataset } from '../src/data/index.js';
import { twoNNFit } from '../src/osr/two-nn.js';
import { scope } from '../src/scope.js';
import { seeded, setupGpu, upload } from './helpers.js';
import { rejects } from './data-fixtures.js';

const test = suite('intrinsic-dim');
test.before(setupGpu);

/** n points x = z A, z ~ N(0, I_d), A a random d x D matrix; rounded to float32 as the GPU sees them. */
function subspacePoints(rng: Rng, n: number, d: number, dim: number): Float64Array {
  const a = Array.from({ length: d * dim }, () => rng.normal());
  const x = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: d }, () => rng.normal());
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += z[k] * a[k * dim + j];
      x[i * dim + j] = Math.fround(s);
    }
  }
  return x;
}

/** Ansuini et al.'s estimate(), transcribed: sorted distance rows, drop r1 = 0 and r1 = r2, fit on 90%. */
function referenceTwoNN(x: Float64Array, n: number, dim: number, fraction = 0.9): { dim: number; points: number } {
  const k1: number[] = [];
  const k2: number[] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += (x[i * dim + k] - x[j * dim + k]) ** 2;
      row.push(Math.sqrt(s));
    }
    row.sort((a, b) => a - b); // row[0] is the point itself
    if (row[1] === 0 || row[1] === row[2]) continue;
    k1.push(row[1]);
    k2.push(row[2]);
  }
  const good = k1.length;
  const mu = k1.map((v, i) => k2[i] / v).sort((a, b) => a - b);
  const npoints = Math.floor(good * fraction);
  const xs = mu.slice(0, -2).map(Math.log).slice(0, npoints);
  const ys = mu
    .slice(0, -2)
    .map((_, i) => -Math.log(1 - (i + 1) / good))
    .slice(0, npoints);
  return { dim: xs.reduce((s, v, i) => s + v * ys[i], 0) / xs.reduce((s, v) => s + v * v, 0), points: good };
}

const estimate = (x: Float64Array, n: number, dim: number, maxPoints?: number) => scope(() => intrinsicDimension(upload(x, [n, dim]), { maxPoints }));

for (const d of [2, 5]) {
  test(`points on a ${d}-d subspace of R^20 give an estimate within 10% of ${d}`, async () => {
    const { rng, seed } = seeded();
    // Gaussian points: unbiased; the estimate's spread is about 2.5% of d at n = 4000 (so 10% is 4 sd).
    const n = 4000;
    const x = subspacePoints(rng, n, d, 20);
    const got = await estimate(x, n, 20);
    assert.ok(Math.abs(got.dim - d) < 0.1 * d, `TwoNN estimate ${got.dim.toFixed(3)} for d = ${d} (seed ${seed})`);
    assert.is(got.points, n, 'no point dropped on a continuous cloud');
  });
}

test('matches a direct float64 implementation, with duplicate points dropped', async () => {
  const { rng, seed } = seeded();
  const n = 301;
  const dim = 7;
  // Far from the origin (the implementation must not lose neighbours to float32 rounding there).
  const x = subspacePoints(rng, n, 4, dim).map((v) => Math.fround(v + 1e4));
  // Points 1 and 2 copies of point 0: all three have r1 = 0. Point 3 just beside point 0 has
  // r1 = r2 (to points 0, 1 and 2). All four are dropped.
  x.copyWithin(dim, 0, dim);
  x.copyWithin(2 * dim, 0, dim);
  for (let j = 0; j < dim; j++) x[3 * dim + j] = Math.fround(x[j] + 1e-3 * (j + 1));
  const want = referenceTwoNN(x, n, dim);
  const got = await estimate(x, n, dim);
  assert.ok(want.points <= n - 4, 'the duplicates and their neighbour are dropped by the reference');
  assert.is(got.points, want.points, `points used (seed ${seed})`);
  assert.ok(Math.abs(got.dim - want.dim) < 1e-9 * want.dim, `estimate ${got.dim} vs reference ${want.dim} (seed ${seed})`);
});

test('a subset of a larger set: estimates from maxPoints of the rows', async () => {
  const { rng, seed } = seeded();
  // 1000 of 1400 points: the estimate's spread is ~d / sqrt(points) = 0.1 (with 400 of 700, a seed
  // in CI landed 4 spreads off, at 3.61).
  const x = subspacePoints(rng, 1400, 3, 11);
  const got = await estimate(x, 1400, 11, 1000);
  assert.is(got.points, 1000, `points used (seed ${seed})`);
  assert.ok(Math.abs(got.dim - 3) < 0.5, `estimate ${got.dim} on a 3-d subspace (seed ${seed})`);
});

test('twoNNFit recovers the slope of exact Pareto quantiles in any order, and rejects too few points', () => {
  // mu_i = (1 - i/n)^(-1/d) puts every (log mu_i, -log(1 - F_i)) on the line y = d x; the last
  // mu (F = 1) is never used, so any large value stands in for infinity.
  const n = 50;
  const mu = Array.from({ length: n }, (_, i) => (i + 1 < n ? (1 - (i + 1) / n) ** (-1 / 3.5) : 1e9));
  const shuffled = mu
    .map((v, i) => [v, (i * 37) % n])
    .sort((a, b) => a[1] - b[1])
    .map(([v]) => v);
  const fit = twoNNFit(shuffled);
  assert.ok(Math.abs(fit - 3.5) < 1e-9, `slope ${fit}`);
  assert.throws(() => twoNNFit([1.5, 2]), /too few/);
});

test('clear errors', async () => {
  await scope(async () => {
    await rejects(() => intrinsicDimension(upload([1, 2, 3, 4], [2, 2])), /at least 3 points/);
    await rejects(() => intrinsicDimension(upload([1, 2, 3], [3])), /\[N, D\]/);
    // Every point a duplicate: no ratio is left to fit.
    await rejects(() => intrinsicDimension(upload(new Float64Array(40).fill(0.5), [10, 4])), /only 0 of 10 points have distinct nearest and second-nearest neighbours .*; TwoNN needs at least 3/);
    // A NaN row spread through the centring mean to every point ("0 ratios"); named instead, by
    // its row of the features also when a subset is drawn.
    const cloud = Float64Array.from({ length: 400 }, (_, i) => Math.sin(i * 1.3));
    cloud.fill(NaN, 8, 10);
    await rejects(() => intrinsicDimension(upload(cloud, [100, 4])), /feature row 2 holds NaN; TwoNN needs finite features/);
    await rejects(() => intrinsicDimension(upload(cloud, [100, 4]), { maxPoints: 99 }), /feature row 2 holds NaN/);
  });
});

test('an evaluation whose train features admit no intrinsic dimension reports NaN, with a note, and its metrics', async () => {
  const { rng, seed } = seeded();
  const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1 });
  const images = (labels: number[]): Dataset => ({
    images: Float32Array.from({ length: labels.length * 64 }, () => rng.uniform()),
    labels: Int32Array.from(labels),
    n: labels.length,
    channels: 1,
    height: 8,
    width: 8,
  });
  // Two train images: too few points for TwoNN.
  const data = { protocol: 'test', split: 0, knownClasses: [0, 1], unknownClasses: [2], train: images([0, 1]), testKnown: images([0, 1, 1]), testUnknown: images([-1, -1]) };
  const notes: string[] = [];
  const error = console.error;
  console.error = (m: string) => void notes.push(m);
  try {
    const e = await evaluateOpenSet(model, data, { size: 8, mean: [0.5], std: [0.25] }, { k: 1 });
    assert.ok(Number.isNaN(e.intrinsicDim), `intrinsic dim ${e.intrinsicDim}`);
    assert.ok(e.metrics.auroc >= 0 && e.metrics.auroc <= 1, `AUROC ${e.metrics.auroc} (seed ${seed})`);
    assert.is(JSON.stringify({ intrinsicDim: e.intrinsicDim }), '{"intrinsicDim":null}', 'results.json records it as null');
  } finally {
    console.error = error;
    model.dispose();
  }
  assert.equal(notes, ['note: the intrinsic dimension is NaN: intrinsicDimension: needs at least 3 points, got 2']);
});

test.run();
