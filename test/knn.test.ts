// GPU kNN open-set scoring against a float64 reference: random unit features on awkward shapes,
// exact ties (grid-valued features whose dot products are exact in float32), classes smaller
// than k, test rows split over several dispatches, and clear errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nextDispatchRows, scoreOpenSet, type OpenSetScores } from '../src/osr/knn.js';
import { scope } from '../src/scope.js';
import { tensor } from '../src/creation.js';
import type { Rng } from '../src/random.js';
import { FORWARD_TOL, assertClose, seeded, setupGpu, upload } from './helpers.js';

const test = suite('knn');
test.before(setupGpu);

interface Reference {
  classSums: Float64Array;
  scores: Float64Array;
  predicted: Int32Array;
  /** Gap between the best and second-best class sum, per test row. */
  margin: Float64Array;
  /**
   * How much each score amplifies relative float32 error in the dot products: with A_c the sum of
   * |dot| over class c's top k, a score best/total moves by (A_best + |score| * sum_c A_c) / |total|
   * per unit of relative error. It is large where the class sums nearly cancel (total near 0).
   */
  scoreCondition: Float64Array;
}

/** Float64 kNN: per class, the sum of the min(k, n_c) largest dot products. */
function reference(train: Float64Array, labels: number[], test: Float64Array, dim: number, k: number, numClasses: number): Reference {
  const nTest = test.length / dim;
  const classSums = new Float64Array(nTest * numClasses);
  const scores = new Float64Array(nTest);
  const predicted = new Int32Array(nTest);
  const margin = new Float64Array(nTest);
  const scoreCondition = new Float64Array(nTest);
  for (let i = 0; i < nTest; i++) {
    const sims: number[][] = Array.from({ length: numClasses }, () => []);
    labels.forEach((c, j) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += test[i * dim + d] * train[j * dim + d];
      sims[c].push(s);
    });
    const topK = sims.map((list) => list.sort((a, b) => b - a).slice(0, k));
    const d = topK.map((top) => top.reduce((a, b) => a + b, 0));
    const magnitude = topK.map((top) => top.reduce((a, b) => a + Math.abs(b), 0));
    d.forEach((v, c) => (classSums[i * numClasses + c] = v));
    const best = d.indexOf(Math.max(...d));
    predicted[i] = best;
    const total = d.reduce((a, b) => a + b, 0);
    scores[i] = d[best] / total;
    scoreCondition[i] = (magnitude[best] + Math.abs(scores[i]) * magnitude.reduce((a, b) => a + b, 0)) / Math.abs(total);
    margin[i] = Math.min(...d.map((v, c) => (c === best ? Infinity : d[best] - v)));
  }
  return { classSums, scores, predicted, margin, scoreCondition };
}

function unitRows(rng: Rng, n: number, dim: number): Float64Array {
  const a = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (a[i * dim + d] = rng.normal()) ** 2;
    for (let d = 0; d < dim; d++) a[i * dim + d] = Math.fround(a[i * dim + d] / Math.sqrt(norm));
  }
  return a;
}

async function runGpu(train: Float64Array, labels: number[], test: Float64Array, dim: number, k: number, numClasses: number, rowsPerDispatch?: number): Promise<OpenSetScores> {
  return scope(() => scoreOpenSet(upload(train, [labels.length, dim]), labels, upload(test, [test.length / dim, dim]), { k, numClasses, rowsPerDispatch }));
}

function checkAgainst(got: OpenSetScores, want: Reference, tag: string): void {
  assertClose(got.classSums, want.classSums, FORWARD_TOL, `${tag} class sums`);
  assertClose(got.scores, want.scores, 1, `${tag} scores`); // shape and finiteness; the bound is per row:
  for (let i = 0; i < want.scores.length; i++) {
    // Judged against the row's own conditioning: a score whose class sums nearly cancel is as
    // uncertain in float32 as the cancellation makes it, however right the kernel is.
    const err = Math.abs(got.scores[i] - want.scores[i]);
    const bound = FORWARD_TOL * want.scoreCondition[i];
    assert.ok(err <= bound, `${tag}: score of test row ${i} off by ${err.toExponential(3)} > ${bound.toExponential(3)} (condition ${want.scoreCondition[i].toExponential(2)})`);
  }
  for (let i = 0; i < want.predicted.length; i++) {
    // float32 may break a near-tie the other way; a clear winner must agree.
    if (want.margin[i] > 1e-5) assert.is(got.predicted[i], want.predicted[i], `${tag}: predicted class of test row ${i}`);
  }
}

test('random unit features, uneven classes (some smaller than k), awkward sizes', async () => {
  const { rng, seed } = seeded();
  const cases = [
    { dim: 7, nTest: 13, k: 3, sizes: [1, 2, 9, 30, 4] },
    { dim: 128, nTest: 70, k: 3, sizes: [40, 3, 17, 25, 2, 60] },
    { dim: 2, nTest: 5, k: 1, sizes: [3, 4] },
    { dim: 33, nTest: 1, k: 5, sizes: [7] },
    { dim: 16, nTest: 9, k: 32, sizes: [50, 31, 33] },
  ];
  for (const { dim, nTest, k, sizes } of cases) {
    const labels = sizes.flatMap((n, c) => Array<number>(n).fill(c)).sort(() => rng.uniform() - 0.5); // classes interleaved
    const train = unitRows(rng, labels.length, dim);
    const testRows = unitRows(rng, nTest, dim);
    const got = await runGpu(train, labels, testRows, dim, k, sizes.length);
    checkAgainst(got, reference(train, labels, testRows, dim, k, sizes.length), `dim ${dim} k ${k} sizes ${sizes} (seed ${seed})`);
  }
});

test('a row whose class sums add up to 0 has no score (NaN), never best / 0 as the GPU divides it', async () => {
  // k 1, classes at (1, 0), (-1, 0) and (0, 1). A test row at (0.5, 0) has sums 0.5, -0.5, 0 (a
  // positive best over a zero total: +Inf on most GPUs); one at (0, 0) has 0 / 0; one at (0.6, 0.8)
  // has a finite score to compare (0.8 / 0.8).
  const got = await runGpu(Float64Array.from([1, 0, -1, 0, 0, 1]), [0, 1, 2], Float64Array.from([0.5, 0, 0, 0, 0.6, 0.8].map(Math.fround)), 2, 1, 3);
  assert.ok(Number.isNaN(got.scores[0]) && Number.isNaN(got.scores[1]), `scores ${Array.from(got.scores)}`);
  assert.is(got.scores[2], 1);
  assert.equal(Array.from(got.predicted), [0, 0, 2]);
});

test('exact ties: duplicate train rows within and across classes', async () => {
  const { rng, seed } = seeded();
  const dim = 5;
  // Entries in {-1, -0.5, 0, 0.5, 1}: every dot product is exact in float32, so ties are exact.
  const gridRow = () => Array.from({ length: dim }, () => (rng.int(5) - 2) / 2);
  const base = Array.from({ length: 6 }, gridRow);
  const labels: number[] = [];
  const rows: number[] = [];
  // Classes 0 and 2 hold the same rows (ties across classes: class 0 must win); class 1 holds
  // each row several times (ties within a class); class 3 has 2 rows < k.
  const add = (c: number, r: number[]) => (labels.push(c), rows.push(...r));
  for (const r of base) add(0, r);
  for (const r of base.slice(0, 3)) for (let t = 0; t < 3; t++) add(1, r);
  for (const r of [...base].reverse()) add(2, r);
  add(3, base[4]);
  add(3, base[5]);
  const train = Float64Array.from(rows);
  const testRows = Float64Array.from([...base.flat(), ...Array.from({ length: 8 }, gridRow).flat()]);
  const want = reference(train, labels, testRows, dim, 3, 4);
  const got = await runGpu(train, labels, testRows, dim, 3, 4);
  const tag = `ties (seed ${seed})`;
  assert.equal(Array.from(got.classSums), Array.from(want.classSums), `${tag}: class sums are exact`);
  assert.equal(Array.from(got.predicted), Array.from(want.predicted), `${tag}: first maximal class wins`);
  for (let i = 0; i < got.predicted.length; i++) assert.ok(got.predicted[i] !== 2, `${tag}: class 2 only ties class 0, which comes first`);
  // Grid features can make a row's class sums add up to exactly 0: its score (x / 0) has no value,
  // whatever the GPU's division by zero gives (WGSL leaves it unspecified), so it is NaN.
  const cancels = Array.from(want.scores.keys()).filter((i) => !Number.isFinite(want.scores[i]));
  for (const i of cancels) assert.ok(Number.isNaN(got.scores[i]), `${tag}: row ${i}'s class sums add up to 0, so its score is NaN, got ${got.scores[i]}`);
  const scored = Array.from(want.scores.keys()).filter((i) => Number.isFinite(want.scores[i]));
  assertClose(
    Float32Array.from(scored, (i) => got.scores[i]),
    Float64Array.from(scored, (i) => want.scores[i]),
    FORWARD_TOL,
    `${tag} scores`,
  );
});

test('test rows split over several dispatches give the same result', async () => {
  const { rng, seed } = seeded();
  const dim = 12;
  const labels = Array.from({ length: 40 }, (_, j) => j % 3);
  const train = unitRows(rng, labels.length, dim);
  const testRows = unitRows(rng, 23, dim);
  const want = reference(train, labels, testRows, dim, 3, 3);
  for (const rowsPerDispatch of [1, 5, 23]) {
    checkAgainst(await runGpu(train, labels, testRows, dim, 3, 3, rowsPerDispatch), want, `${rowsPerDispatch} rows per dispatch (seed ${seed})`);
  }
});

test("on GPUs a dispatch's rows grow by its measured time: fast ones up to 4x, towards the most; slow ones not", () => {
  assert.is(nextDispatchRows(58, 6, 10924), 232, '6 ms (one walk on an idle chip): 4x');
  assert.is(nextDispatchRows(3712, 6, 10924), 10924, 'capped at the most');
  assert.is(nextDispatchRows(1000, 80, 10924), 2500, '80 ms: towards 200 ms');
  assert.is(nextDispatchRows(1000, 100, 10924), 1000, 'at half the target it stays');
  assert.is(nextDispatchRows(1, 99, 10), 2, 'always at least one more row while growing');
  assert.is(nextDispatchRows(7, 0, 10), 10);
});

test('labels may come as an int32 tensor; numClasses defaults to the largest label + 1', async () => {
  const { rng, seed } = seeded();
  const dim = 4;
  const labels = [2, 0, 1, 1, 0, 2, 2];
  const train = unitRows(rng, labels.length, dim);
  const testRows = unitRows(rng, 3, dim);
  const got = await scope(() => scoreOpenSet(upload(train, [7, dim]), tensor(labels, [7], { dtype: 'int32' }), upload(testRows, [3, dim])));
  checkAgainst(got, reference(train, labels, testRows, dim, 3, 3), `int32 labels (seed ${seed})`);
});

test('clear errors', async () => {
  await scope(async () => {
    const train = upload([1, 0, 0, 1, 1, 0], [3, 2]);
    const testRows = upload([1, 0], [1, 2]);
    const rejects = async (p: Promise<unknown>, re: RegExp) => {
      try {
        await p;
      } catch (e) {
        assert.match(String(e), re);
        return;
      }
      assert.unreachable(`expected an error matching ${re}`);
    };
    await rejects(scoreOpenSet(train, [0, 2, 0], testRows, { numClasses: 3 }), /class 1 has no train samples/);
    await rejects(scoreOpenSet(train, [0, 3, 0], testRows, { numClasses: 3 }), /train label 1 is 3; labels must be integers in 0\.\.2/);
    await rejects(scoreOpenSet(train, [0, 1], testRows), /2 train labels for 3 train features/);
    await rejects(scoreOpenSet(train, [0, 1, 0], upload([1, 0, 0], [1, 3])), /test features have 3 dimensions, train features 2/);
    await rejects(scoreOpenSet(train, [0, 1, 0], testRows, { k: 0 }), /k must be an integer in 1\.\.32/);
    await rejects(scoreOpenSet(train, upload([0, 1, 0], [3]), testRows), /train labels must be an int32 tensor/);
  });
});

test.run();
