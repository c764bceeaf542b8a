// Open-set scores beyond kNN against float64 references: maximum softmax probability and negative
// entropy (including rows whose softmax underflows), NNO (Mahalanobis distance to the closest
// class mean under the pooled covariance, with the ridge), the scoreTestSets wiring through a
// model's classifier, evaluateOpenSet with every score, and clear errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fitNno, scoreNno, scoreTestSets, softmaxScores, checkScore, SCORES, type ScoreKind } from '../src/osr/scores.js';
import { evaluateOpenSet } from '../src/osr/evaluate.js';
import { extractFeatures } from '../src/osr/features.js';
import { intrinsicDimension } from '../src/osr/intrinsic-dim.js';
import { scoreOpenSet } from '../src/osr/knn.js';
import { SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { tensor } from '../src/creation.js';
import { noGrad } from '../src/autograd.js';
import { resizeNormalize } from '../src/augment/index.js';
import type { Dataset } from '../src/data/index.js';
import { FORWARD_TOL, assertClose, aurocByPairs, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { rejects } from './data-fixtures.js';

const test = suite('scores');
test.before(setupGpu);

/** Float64 softmax per row of logits [n, k]: max probability, sum p log p, first argmax. */
function softmaxReference(logits: ArrayLike<number>, n: number, k: number) {
  const msp: number[] = [];
  const negEntropy: number[] = [];
  const predicted: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: k }, (_, c) => logits[i * k + c]);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    msp.push(Math.exp(Math.max(...logp)));
    negEntropy.push(logp.reduce((s, l) => s + Math.exp(l) * l, 0));
    predicted.push(row.indexOf(m));
  }
  return { msp, negEntropy, predicted };
}

test('msp and negative entropy match float64 softmax, also where probabilities underflow', async () => {
  const { rng, seed } = seeded();
  for (const [n, k] of [
    [1, 1],
    [13, 7],
    [5, 3],
    [40, 20],
  ]) {
    const logits = randomArray(rng, n * k, -6, 6);
    if (n > 1) for (let c = 0; c < k; c++) logits[k + c] = c === 0 ? 200 : -200 + c; // p underflows to 0 in row 1
    const got = await scope(() => softmaxScores(upload(logits, [n, k])));
    const want = softmaxReference(Float32Array.from(logits), n, k);
    assertClose(got.msp, want.msp, FORWARD_TOL, `msp ${n}x${k}`, seed);
    // A one-class softmax has entropy exactly 0: compare absolutely there.
    if (k === 1)
      assert.ok(
        got.negEntropy.every((v) => Math.abs(v) < 1e-7),
        `entropy of one class (seed ${seed})`,
      );
    else assertClose(got.negEntropy, want.negEntropy, FORWARD_TOL, `negative entropy ${n}x${k}`, seed);
    assert.equal([...got.predicted], want.predicted, `predicted ${n}x${k} (seed ${seed})`);
  }
});

/** Solves A X = B for symmetric positive definite A [n, n] by Gauss-Jordan with partial pivoting (float64). */
function inverse(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const pivot = m[c][c];
    for (let j = 0; j < 2 * n; j++) m[c][j] /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row) => row.slice(n));
}

/** Float64 NNO: class means, pooled covariance / N + ridge I, -sqrt(min_c (x-mu_c)^T P (x-mu_c)), argmin. */
function nnoReference(train: Float64Array, labels: number[], test: Float64Array, d: number, k: number, relRidge: number) {
  const n = labels.length;
  const means = Array.from({ length: k }, () => new Float64Array(d));
  const counts = new Float64Array(k);
  labels.forEach((c, i) => {
    counts[c]++;
    for (let j = 0; j < d; j++) means[c][j] += train[i * d + j];
  });
  means.forEach((m, c) => m.forEach((_, j) => (m[j] /= counts[c])));
  const sigma = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  labels.forEach((c, i) => {
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) sigma[a][b] += ((train[i * d + a] - means[c][a]) * (train[i * d + b] - means[c][b])) / n;
  });
  const ridge = (relRidge * sigma.reduce((s, row, i) => s + row[i], 0)) / d;
  sigma.forEach((row, i) => (row[i] += ridge));
  const p = inverse(sigma);
  const scores: number[] = [];
  const predicted: number[] = [];
  const margin: number[] = [];
  for (let i = 0; i < test.length / d; i++) {
    const dist = means.map((m) => {
      const v = Array.from({ length: d }, (_, j) => test[i * d + j] - m[j]);
      return v.reduce((s, vi, a) => s + vi * v.reduce((t, vj, b) => t + p[a][b] * vj, 0), 0);
    });
    const best = dist.indexOf(Math.min(...dist));
    scores.push(-Math.sqrt(dist[best]));
    predicted.push(best);
    margin.push(Math.min(...dist.map((v, c) => (c === best ? Infinity : v - dist[best]))));
  }
  return { scores, predicted, margin, ridge };
}

/** Gaussian features around a random mean per class, with correlated coordinates (float32 values). */
function classFeatures(rng: Rng, labels: number[], d: number, centres: number[][]): Float64Array {
  const mix = Array.from({ length: d * d }, () => rng.normal() * 0.4);
  const x = new Float64Array(labels.length * d);
  labels.forEach((c, i) => {
    const z = Array.from({ length: d }, () => rng.normal());
    for (let a = 0; a < d; a++) {
      let s = centres[c][a] + z[a];
      for (let b = 0; b < d; b++) s += mix[a * d + b] * z[b];
      x[i * d + a] = Math.fround(s);
    }
  });
  return x;
}

test('NNO matches a float64 Mahalanobis reference (odd sizes, correlated features)', async () => {
  const { rng, seed } = seeded();
  for (const [nTrain, nTest, d, k] of [
    [91, 17, 7, 3],
    [40, 1, 1, 2],
    [300, 33, 24, 6],
  ] as const) {
    const labels = Array.from({ length: nTrain }, (_, i) => (i < k ? i : rng.int(k)));
    const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => rng.normal() * 3));
    const train = classFeatures(rng, labels, d, centres);
    const testLabels = Array.from({ length: nTest }, () => rng.int(k));
    const testX = classFeatures(rng, testLabels, d, centres);
    const got = await scope(async () => {
      const fitted = await fitNno(upload(train, [nTrain, d]), labels, k);
      return { ...(await scoreNno(fitted, upload(testX, [nTest, d]))), ridge: fitted.ridge };
    });
    const want = nnoReference(train, labels, testX, d, k, 1e-6);
    const tag = `${nTrain} train, ${nTest} test, D=${d}, K=${k}`;
    assert.ok(Math.abs(got.ridge - want.ridge) <= 1e-6 * want.ridge, `${tag}: ridge ${got.ridge} vs ${want.ridge} (seed ${seed})`);
    assertClose(got.scores, want.scores, FORWARD_TOL, `NNO scores ${tag}`, seed);
    got.predicted.forEach((c, i) => {
      if (want.margin[i] > 1e-3) assert.is(c, want.predicted[i], `${tag}: predicted class of test row ${i} (seed ${seed})`);
    });
  }
});

test('NNO with fewer train samples than dimensions: the ridge keeps the scores finite', async () => {
  const { rng, seed } = seeded();
  const d = 20;
  const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1];
  const train = randomArray(rng, labels.length * d);
  const testX = randomArray(rng, 5 * d);
  const got = await scope(async () => {
    const fitted = await fitNno(upload(train, [labels.length, d]), labels, 3);
    return { ...(await scoreNno(fitted, upload(testX, [5, d]))), ridge: fitted.ridge };
  });
  assert.ok(got.ridge > 0, `ridge ${got.ridge} (seed ${seed})`);
  assert.ok(
    got.scores.every((v) => Number.isFinite(v) && v <= 0),
    `scores ${[...got.scores]} (seed ${seed})`,
  );
  // Off the span of the train samples the distance is large (that variance is only the ridge).
  assert.ok(Math.min(...got.scores.map((v) => -v)) > 10, `distances ${[...got.scores]} (seed ${seed})`);
});

/** A few random 1-channel 8x8 images with labels. */
function tinyDataset(rng: Rng, labels: number[]): Dataset {
  return { images: Float32Array.from({ length: labels.length * 64 }, () => rng.uniform()), labels: Int32Array.from(labels), n: labels.length, channels: 1, height: 8, width: 8 };
}

test("scoreTestSets: msp and entropy from the model's classifier logits, knn as scoreOpenSet", async () => {
  const { rng, seed } = seeded();
  const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1, numClasses: 3 });
  const transform = { size: 8, mean: [0.5], std: [0.25] } as const;
  const train = tinyDataset(rng, [0, 1, 2, 0, 1, 2, 1]);
  const testSets = [tinyDataset(rng, [0, 2, 1, 1, 0]), tinyDataset(rng, [-1, -1, -1])];
  await scope(async () => {
    // Logits by hand: eval mode, classifier on the unnormalised encoder features.
    model.eval();
    const logits = await Promise.all(testSets.map((ds) => read(noGrad(() => model.classify(model.features(resizeNormalize(tensor(ds.images, [ds.n, 1, 8, 8]), transform)))))));
    model.train();
    const feats = (ds: Dataset) => upload(randomArray(rng, ds.n * 5), [ds.n, 5]);
    const ctx = {
      model,
      transform,
      batchSize: 2,
      k: 2,
      numClasses: 3,
      train: { features: feats(train), labels: train.labels },
      tests: testSets.map((data) => ({ data, features: feats(data) })),
    };
    for (const kind of ['msp', 'entropy'] as const) {
      const got = await scoreTestSets(kind, ctx);
      got.forEach((s, t) => {
        const want = softmaxReference(logits[t], testSets[t].n, 3);
        assertClose(s.scores, kind === 'msp' ? want.msp : want.negEntropy, FORWARD_TOL, `${kind} of test set ${t}`, seed);
        assert.equal([...s.predicted], want.predicted, `${kind} predictions of test set ${t} (seed ${seed})`);
      });
    }
    const knn = await scoreTestSets('knn', ctx);
    const direct = await scoreOpenSet(ctx.train.features, train.labels, ctx.tests[0].features, { k: 2, numClasses: 3 });
    assert.equal([...knn[0].scores], [...direct.scores], `knn scores (seed ${seed})`);
    const nno = await scoreTestSets('nno', ctx);
    assert.is(nno.length, 2);
    assert.ok(
      nno.every((s) => s.scores.every(Number.isFinite)),
      `nno scores finite (seed ${seed})`,
    );
  });
});

test('evaluateOpenSet with each score: its scores, predictions and the intrinsic dimension of the train features', async () => {
  const { rng, seed } = seeded();
  const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1, numClasses: 3 });
  const transform = { size: 8, mean: [0.5], std: [0.25] } as const;
  const data = {
    protocol: 'test',
    split: 0,
    knownClasses: [0, 1, 2],
    unknownClasses: [3],
    train: tinyDataset(rng, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]),
    testKnown: tinyDataset(rng, [2, 0, 1, 1, 0]),
    testUnknown: tinyDataset(rng, [-1, -1, -1]),
  };
  const runs = new Map<string, Awaited<ReturnType<typeof evaluateOpenSet>>>();
  for (const score of SCORES) runs.set(score, await evaluateOpenSet(model, data, transform, { k: 2, batchSize: 4, score }));
  const trainF = await extractFeatures(model, data.train, transform);
  const wantDim = (await intrinsicDimension(trainF)).dim;
  const tests = await Promise.all([data.testKnown, data.testUnknown].map(async (ds) => ({ data: ds, features: await extractFeatures(model, ds, transform) })));
  for (const [score, e] of runs) {
    assert.is(e.score, score);
    assert.is(e.intrinsicDim, wantDim, `${score}: intrinsic dimension (seed ${seed})`);
    const want = await scoreTestSets(score as ScoreKind, { model, transform, batchSize: 4, k: 2, numClasses: 3, train: { features: trainF, labels: data.train.labels }, tests });
    assert.equal([...e.scores], [...want[0].scores, ...want[1].scores], `${score}: scores (seed ${seed})`);
    assert.equal([...e.predicted], [...want[0].predicted, ...want[1].predicted], `${score}: predictions (seed ${seed})`);
    // Known first, then unknown (the scores' order checked above): labels of the test sets themselves.
    const known = [...Array<number>(want[0].scores.length).fill(1), ...Array<number>(want[1].scores.length).fill(0)];
    assert.equal([...e.isKnown], known, `${score}: which scores are known`);
    const byPairs = aurocByPairs(e.scores, known);
    assert.ok(Math.abs(e.metrics.auroc - byPairs) < 1e-12, `${score}: AUROC ${e.metrics.auroc}, by pairs ${byPairs}`);
  }
  trainF.dispose();
  for (const t of tests) t.features.dispose();
  const plain = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1 });
  await rejects(() => evaluateOpenSet(plain, data, transform, { score: 'entropy' }), /score 'entropy' needs a classifier/);
  model.dispose();
  plain.dispose();
});

test('clear errors: msp/entropy without a classifier, unknown score, empty class', async () => {
  const plain = new SupConResNet(new Rng(1), { width: 2, inChannels: 1 });
  assert.throws(() => checkScore('msp', plain), /score 'msp' needs a classifier.*--objective ce or ce\+ssl/);
  assert.throws(() => checkScore('entropy', plain), /needs a classifier/);
  assert.throws(() => checkScore('max' as 'msp', plain), /unknown score 'max'; use one of knn, msp, entropy, nno/);
  checkScore('nno', plain);
  await scope(async () => {
    await rejects(() => fitNno(upload([1, 2, 3, 4], [2, 2]), [0, 0], 2), /class 1 has no train samples/);
    await rejects(() => fitNno(upload([1, 2, 3, 4], [2, 2]), [0, 3], 2), /train label 1 is 3/);
    const fitted = await fitNno(upload([1, 2, 3, 5, 2, 2], [3, 2]), [0, 1, 0], 2);
    await rejects(() => scoreNno(fitted, upload([1, 2, 3], [1, 3])), /test features have 3 dimensions, the fitted model 2/);
  });
});

test.run();
