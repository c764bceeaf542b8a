// Linear probing: top-k accuracy against a direct count, a probe on linearly separable features
// (shifted and scaled far from unit range) reaching ~100% top-1, top-5 above top-1 where classes
// are indistinguishable in groups of three, frozen encoder features, clear input errors,
// dimensions without train spread (dead ReLU channels) kept out of the predictions, and no GPU
// buffer left behind by a probe that fails part-way.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tensor } from '../src/creation.js';
import { SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { augmentPreset } from '../src/augment/index.js';
import { encoderFeatures, inverseSpread, linearProbe, topKAccuracy, trainLinearProbe } from '../src/ssl/probe.js';
import { gpu } from '../runtime/gpu.js';
import type { Dataset } from '../src/data/index.js';
import { read, seeded, setupGpu } from './helpers.js';
import { rejects } from './data-fixtures.js';

const test = suite('probe');
test.before(setupGpu);

test('top-k accuracy counts a row when fewer than k classes beat its label (ties to the lower index)', () => {
  const { rng, seed } = seeded();
  const [n, c] = [50, 7];
  // Logits on a coarse grid, so that ties occur.
  const logits = Float64Array.from({ length: n * c }, () => rng.int(4));
  const labels = Int32Array.from({ length: n }, () => rng.int(c));
  for (const k of [1, 2, 5, 7]) {
    let hits = 0;
    for (let i = 0; i < n; i++) {
      // The label's position when the row is sorted by decreasing logit, stable in class order.
      const order = Array.from({ length: c }, (_, j) => j).sort((a, b) => logits[i * c + b] - logits[i * c + a] || a - b);
      if (order.indexOf(labels[i]) < k) hits++;
    }
    assert.is(topKAccuracy(logits, labels, c, k), hits / n, `k = ${k} (seed ${seed})`);
  }
  // Ranks of the labels: 1, 1 and 2.
  const rows = [0.1, 0.9, 0.5, 0.3, 0.2, 0.8, 0.7, 0.6, 0.1];
  assert.equal(
    [1, 2, 3].map((k) => topKAccuracy(rows, [2, 0, 2], 3, k)),
    [0, 2 / 3, 1],
  );
  assert.throws(() => topKAccuracy([1, 2], [2], 2, 1), /label 2 of row 0 is outside 0..1/);
  assert.throws(() => topKAccuracy([1, 2, 3], [0], 2, 1), /3 logits for 1 rows of 2 classes/);
});

/** n samples per class of Gaussian clusters around `means` (one per class), far from unit scale. */
function clusters(rng: Rng, means: Float64Array[], n: number, noise: number): { features: Float32Array; labels: Int32Array } {
  const d = means[0].length;
  const labels = Int32Array.from({ length: n * means.length }, (_, i) => i % means.length);
  const features = new Float32Array(labels.length * d);
  labels.forEach((y, i) => {
    for (let j = 0; j < d; j++) features[i * d + j] = 40 + 25 * j + 30 * (means[y][j] + noise * rng.normal());
  });
  return { features, labels };
}

async function probeOn(rng: Rng, means: Float64Array[], epochs: number) {
  const d = means[0].length;
  const tr = clusters(rng, means, 40, 0.15);
  const te = clusters(rng, means, 20, 0.15);
  return scope(() =>
    trainLinearProbe({ features: tensor(tr.features, [tr.labels.length, d]), labels: tr.labels }, { features: tensor(te.features, [te.labels.length, d]), labels: te.labels }, means.length, {
      epochs,
      batchSize: 32,
      lr: 0.05,
      seed: 1,
    }),
  );
}

test('a probe on linearly separable features reaches ~100% top-1', async () => {
  const { rng, seed } = seeded();
  const means = Array.from({ length: 7 }, () => Float64Array.from({ length: 9 }, () => rng.normal()));
  const r = await probeOn(rng, means, 15);
  assert.ok(r.top1 >= 0.99, `top-1 ${r.top1} (seed ${seed})`);
  assert.ok(r.trainTop1 >= 0.99, `train top-1 ${r.trainTop1} (seed ${seed})`);
  assert.is(r.top5, 1);
  assert.equal([r.topK, r.numClasses, r.trainImages, r.testImages, r.losses.length], [5, 7, 280, 140, 15]);
  assert.ok(r.losses[14] < r.losses[0] / 5, `loss falls: ${r.losses[0]} -> ${r.losses[14]}`);
});

test('with classes indistinguishable in groups of three, top-1 is about 1/3 and top-5 is 100%', async () => {
  const { rng, seed } = seeded();
  const groups = Array.from({ length: 3 }, () => Float64Array.from({ length: 6 }, () => 2 * rng.normal()));
  const means = Array.from({ length: 9 }, (_, c) => groups[Math.floor(c / 3)]);
  const r = await probeOn(rng, means, 10);
  assert.ok(r.top1 > 0.15 && r.top1 < 0.55, `top-1 ${r.top1} (seed ${seed})`);
  assert.is(r.top5, 1, `top-5 (seed ${seed})`);
});

test('frozen encoder features: raw pooled features, or unit rows with l2; the model keeps its mode', async () => {
  const { rng, seed } = seeded();
  const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1 });
  const n = 5;
  const ds: Dataset = { images: Float32Array.from({ length: n * 32 * 32 }, () => rng.uniform()), labels: Int32Array.from({ length: n }, (_, i) => i % 2), n, channels: 1, height: 32, width: 32 };
  const transform = augmentPreset('mnist');
  const raw = await encoderFeatures(model, ds, transform, { batchSize: 2 });
  const unit = await encoderFeatures(model, ds, transform, { batchSize: 3, features: 'l2' });
  assert.equal(raw.shape, [n, 16]);
  const r = await read(raw);
  const u = await read(unit);
  for (let i = 0; i < n; i++) {
    const row = r.subarray(i * 16, (i + 1) * 16);
    const len = Math.hypot(...row);
    assert.ok(
      row.every((v) => v >= 0),
      'pooled ReLU outputs are non-negative',
    );
    row.forEach((v, j) => assert.ok(Math.abs(u[i * 16 + j] - v / len) < 1e-5, `row ${i} normalised (seed ${seed})`));
  }
  assert.ok(model.training, 'the model is back in train mode');
  const result = await linearProbe(model, { train: ds, test: ds, numClasses: 2 }, transform, { epochs: 2, batchSize: 2 });
  assert.ok(Number.isFinite(result.top1) && result.topK === 2 && result.top5 === 1, JSON.stringify(result));
  for (const t of [raw, unit]) t.dispose();
  model.dispose();
});

test('probe inputs are checked with clear messages', async () => {
  await scope(async () => {
    const f = tensor(new Float32Array(12), [4, 3]);
    const labels = Int32Array.of(0, 1, 0, 1);
    for (const [args, message] of [
      [[{ features: f, labels: Int32Array.of(0, 1) }, { features: f, labels }, 2], /2 train labels for features of shape \[4, 3\]/],
      [[{ features: f, labels }, { features: tensor(new Float32Array(8), [4, 2]), labels }, 2], /do not match the train features' 3 dimensions/],
      [[{ features: f, labels: Int32Array.of(0, 1, 2, 1) }, { features: f, labels }, 2], /train label 2 \(sample 2\) is outside 0..1/],
      [[{ features: f, labels }, { features: f, labels }, 1], /needs at least 2 classes/],
    ] as const) {
      try {
        await trainLinearProbe(...(args as unknown as Parameters<typeof trainLinearProbe>));
        assert.unreachable('should have thrown');
      } catch (e) {
        assert.match((e as Error).message, message);
      }
    }
  });
});

test('a dimension without train spread is standardised to 0: a small test value there cannot decide predictions', async () => {
  // Float32 rounding of a constant (1e-9 next to a median spread of 1) counts as no spread; scale-free otherwise.
  assert.equal(Array.from(inverseSpread([0, 1e-9, 0.5, 1, 2])), [0, 0, 2, 1, 0.5]);
  assert.equal(Array.from(inverseSpread([0, 2e-8, 1e-8])), [0, 5e7, 1e8]);
  assert.equal(Array.from(inverseSpread([0, 0])), [0, 0]);
  // Feature 0 separates the classes, 1 is noise; 2 and 3 are dead on the train images (0, a
  // constant) and small on the test images. Dividing by std + 1e-6 made 0.01 a 1e4 that the
  // dead dimensions' untrained random weights turned into half the predictions.
  const { seed } = seeded();
  const [n, d] = [200, 4];
  const make = (dead: number) => {
    const f = new Float32Array(n * d);
    const y = Int32Array.from({ length: n }, (_, i) => i % 2);
    for (let i = 0; i < n; i++) f.set([(y[i] ? 1 : -1) + 0.1 * Math.sin(i), Math.sin(3 * i), dead, 0.3 + dead], i * d);
    return { f, y };
  };
  const tr = make(0);
  const te = make(0.01);
  await scope(async () => {
    for (const s of [seed, seed + 1]) {
      const r = await trainLinearProbe({ features: tensor(tr.f, [n, d]), labels: tr.y }, { features: tensor(te.f, [n, d]), labels: te.y }, 2, { epochs: 30, batchSize: 20, seed: s });
      assert.is(r.top1, 1, `test top-1 (seed ${s})`);
    }
  });
});

test('a probe that fails part-way leaves no GPU buffer behind', async () => {
  const live = () => gpu().memory().buffersLive;
  const { rng, seed } = seeded();
  const f = tensor(
    Float32Array.from({ length: 24 }, () => rng.normal()),
    [8, 3],
  );
  const labels = Int32Array.from({ length: 8 }, (_, i) => i % 2);
  const before = live();
  // Adam refuses the weight decay after the standardised features and the classifier exist.
  await rejects(() => trainLinearProbe({ features: f, labels }, { features: f, labels }, 2, { weightDecay: -1 }), /invalid weight decay -1/);
  assert.is(live(), before, `trainLinearProbe (seed ${seed})`);
  // An empty test set fails after the train features were extracted.
  const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1 });
  const ds = (count: number): Dataset => ({ images: new Float32Array(count * 32 * 32), labels: Int32Array.from({ length: count }, (_, i) => i % 2), n: count, channels: 1, height: 32, width: 32 });
  const withModel = live();
  await rejects(() => linearProbe(model, { train: ds(4), test: ds(0), numClasses: 2 }, augmentPreset('mnist')), /the data set is empty/);
  assert.is(live(), withModel, 'linearProbe');
  const none = tensor(new Float32Array(0), [0, 3]);
  await rejects(() => trainLinearProbe({ features: f, labels }, { features: none, labels: new Int32Array(0) }, 2), /needs train and test samples, got 8 and 0/);
  none.dispose();
  model.dispose();
  f.dispose();
});

test.run();
