// The .npy reader and the CIFAR-10-C / Tiny-ImageNet-C loaders on small generated files, their
// errors for bad files, and the robustness evaluation (tables, and accuracies against a direct
// kNN computation on a small random model).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { Rng } from '../src/random.js';
import { SupConResNet } from '../src/nn/index.js';
import { extractFeatures, scoreOpenSet } from '../src/osr/index.js';
import type { Dataset } from '../src/data/index.js';
import { NpyFile, encodeNpy, parseNpyHeader } from '../src/corrupt/npy.js';
import { checkCorruptedSources, corruptedLayout, corruptionsIn, loadCorruptedSet } from '../src/corrupt/corrupted-files.js';
import { evaluateRobustness, filesSource, robustnessTable, summariseRobustness } from '../src/corrupt/robustness.js';
import { setupGpu } from './helpers.js';
import { put, rejects, removeTempDirs, tempDir } from './data-fixtures.js';
import { saveCheckpoint } from '../src/checkpoint/index.js';
import { corruptCommand, scoredImages } from '../src/cli/corrupt-command.js';
import { limitImages } from '../src/data/in-distribution.js';

const test = suite('corrupt-files');
test.before(setupGpu);

test.after(removeTempDirs);

/** A CIFAR-10-C style folder: n images per severity of H x W x C, pixel = (image + 7 row + col + 3 channel) mod 256. */
function writeCifarC(dir: string, n: number, h: number, w: number, c: number, labels: number[], names = ['gaussian_noise', 'fog']): void {
  const total = 5 * n;
  const pixels = new Uint8Array(total * h * w * c);
  for (let i = 0; i < total; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) pixels[((i * h + y) * w + x) * c + k] = (i + 7 * y + x + 3 * k) % 256;
  const shape = c === 1 ? [total, h, w] : [total, h, w, c];
  for (const name of names) writeFileSync(join(dir, `${name}.npy`), encodeNpy(pixels, shape));
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(labels, [labels.length], '<i8'));
}

test('npy headers and rows round-trip for uint8 and int64 arrays', () => {
  const dir = tempDir();
  const values = Array.from({ length: 24 }, (_, i) => (i * 37) % 256);
  writeFileSync(join(dir, 'a.npy'), encodeNpy(values, [2, 3, 4]));
  const f = new NpyFile(join(dir, 'a.npy'));
  assert.equal(f.header.shape, [2, 3, 4]);
  assert.is(f.header.descr, '|u1');
  assert.is(f.header.dataOffset % 64, 0);
  assert.equal(Array.from(f.readRows(1, 1)), values.slice(12));
  f.close();
  const big = [0, 1, -5, 2 ** 40, 9];
  writeFileSync(join(dir, 'b.npy'), encodeNpy(big, [5], '<i8'));
  const g = new NpyFile(join(dir, 'b.npy'));
  assert.equal(Array.from(g.readRows(0, 5)), big);
  g.close();
  const header = parseNpyHeader(encodeNpy([1, 2], [2], '<i4'), 'x.npy');
  assert.equal([header.kind, header.itemSize, header.littleEndian, header.shape], ['i', 4, true, [2]]);
});

test('bad .npy files are clear errors naming the file', () => {
  const dir = tempDir();
  const good = encodeNpy(new Array(12).fill(1), [3, 4]);
  const edit = (from: string, to: string) => Uint8Array.from(Buffer.from(Buffer.from(good).toString('latin1').replace(from, to), 'latin1'));
  const cases: [string, Uint8Array, RegExp][] = [
    ['magic.npy', Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), /magic\.npy: not a \.npy file/],
    ['version.npy', Uint8Array.from([...good.subarray(0, 6), 9, 0, ...good.subarray(8)]), /version 9\.0 is not supported/],
    ['truncated.npy', good.subarray(0, good.length - 3), /truncated: the header promises 12 data bytes.*holds 9/],
    ['fortran.npy', edit("'fortran_order': False", "'fortran_order': True "), /Fortran order/],
    ['float.npy', edit("'|u1'", "'<f4'"), /dtype '<f4' is not supported/],
    ['header.npy', Uint8Array.from([...good.subarray(0, 8), 54, 0, ...new TextEncoder().encode('{garbage}'.padEnd(53) + '\n')]), /unreadable \.npy header/],
  ];
  for (const [name, bytes, pattern] of cases) {
    writeFileSync(join(dir, name), bytes);
    assert.throws(() => new NpyFile(join(dir, name)), pattern, name);
  }
  assert.throws(() => new NpyFile(join(dir, 'missing.npy')), /missing\.npy: cannot open \(no such file\)/);
});

test("the CIFAR-10-C layout: a severity's rows, known classes relabelled, HWC bytes as CHW floats", async () => {
  const dir = tempDir();
  const [n, h, w, c] = [6, 4, 5, 3];
  const perSeverity = [0, 1, 2, 3, 2, 1];
  writeCifarC(
    dir,
    n,
    h,
    w,
    c,
    [0, 1, 2, 3, 4].flatMap(() => perSeverity),
  );
  assert.is(corruptedLayout(dir), 'npy');
  assert.equal(corruptionsIn(dir), ['gaussian_noise', 'fog']);
  const ds = await loadCorruptedSet(dir, 'fog', 3, { classes: [2, 0], expect: { channels: 3, height: 4, width: 5 } });
  // Severity 3 is rows 12..17; classes 2 and 0 are at positions 0, 2, 4 -> labels 1, 0, 0.
  assert.is(ds.n, 3);
  assert.equal(Array.from(ds.labels), [1, 0, 0]);
  assert.equal(Array.from(ds.sourceLabels!), [0, 2, 2]);
  const rows = [12, 14, 16];
  rows.forEach((row, i) => {
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const got = ds.images[((i * c + k) * h + y) * w + x];
          assert.ok(Math.abs(got - ((row + 7 * y + x + 3 * k) % 256) / 255) < 1e-7, `image ${i} channel ${k} (${y}, ${x})`);
        }
  });
  const first = await loadCorruptedSet(dir, 'gaussian_noise', 5, { classes: [1, 2, 3], max: 2 });
  assert.equal(Array.from(first.sourceLabels!), [1, 2]);
  // labels.npy may hold one severity's labels only.
  const grey = tempDir();
  writeCifarC(grey, 4, 3, 3, 1, [1, 0, 1, 1]);
  const g = await loadCorruptedSet(grey, 'gaussian_noise', 2, { classes: [1] });
  assert.equal([g.n, g.channels, Array.from(g.labels)], [3, 1, [0, 0, 0]]);
  assert.ok(Math.abs(g.images[0] - 4 / 255) < 1e-7);
});

test('mismatched CIFAR-10-C files are clear errors', async () => {
  const dir = tempDir();
  writeCifarC(dir, 2, 4, 4, 3, new Array(10).fill(0));
  await rejects(
    () => loadCorruptedSet(dir, 'fog', 1, { classes: [0], expect: { channels: 3, height: 32, width: 32 } }),
    /fog\.npy: images are 4x4 with 3 channel\(s\); the protocol's are 32x32 with 3/,
  );
  await rejects(() => loadCorruptedSet(dir, 'snow', 1, { classes: [0] }), /snow\.npy: cannot open \(no such file\)/);
  writeFileSync(join(dir, 'labels.npy'), encodeNpy([0, 1, 2], [3], '<i8'));
  await rejects(() => loadCorruptedSet(dir, 'fog', 1, { classes: [0] }), /labels\.npy: 3 labels for 10 images in fog\.npy \(expected 10 or 2\)/);
  writeFileSync(join(dir, 'fog.npy'), encodeNpy(new Array(7 * 4).fill(0), [7, 2, 2]));
  await rejects(() => loadCorruptedSet(dir, 'fog', 1, { classes: [0] }), /7 images is not 5 severities of equal size/);
  writeFileSync(join(dir, 'fog.npy'), encodeNpy(new Array(10 * 4).fill(0), [10, 2, 2], '<i4'));
  await rejects(() => loadCorruptedSet(dir, 'fog', 1, { classes: [0] }), /images must be uint8, got dtype '<i4'/);
  const empty = tempDir();
  assert.throws(() => corruptedLayout(empty), /neither labels\.npy \(CIFAR-10-C layout\) nor <corruption>\/<severity>\/ folders/);
  assert.throws(() => corruptedLayout(join(empty, 'nope')), /no such folder/);
});

test('the Tiny-ImageNet-C layout: <corruption>/<severity>/<class>/ image folders', async () => {
  const dir = tempDir();
  const wnids = ['n01', 'n02', 'n03'];
  for (const [k, wnid] of wnids.entries()) {
    const folder = join(dir, 'contrast', '2', wnid);
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 2; i++) {
      const png = new PNG({ width: 3, height: 2 });
      for (let p = 0; p < 6; p++) png.data.set([10 * k + i, 100, 200, 255], 4 * p);
      writeFileSync(join(folder, `img${i}.png`), PNG.sync.write(png));
    }
  }
  assert.is(corruptedLayout(dir), 'folders');
  assert.equal(corruptionsIn(dir), ['contrast']);
  const ds = await loadCorruptedSet(dir, 'contrast', 2, { classes: [2, 0], max: 3 });
  assert.equal([ds.n, ds.channels, ds.height, ds.width], [3, 3, 2, 3]);
  assert.equal(Array.from(ds.sourceLabels!), [0, 0, 2]);
  assert.equal(Array.from(ds.labels), [1, 1, 0]);
  assert.ok(Math.abs(ds.images[2 * 18] - 20 / 255) < 1e-6, "the third image is class 2's first");
  // perClass (a --max-test subset's class mix): the first files of each class, not a few whole classes.
  const mixed = await loadCorruptedSet(dir, 'contrast', 2, { classes: [2, 0], max: 3, perClass: [1, 2] });
  assert.equal(Array.from(mixed.sourceLabels!), [0, 0, 2]);
  const balanced = await loadCorruptedSet(dir, 'contrast', 2, { classes: [2, 0], max: 2, perClass: [1, 1] });
  assert.equal(Array.from(balanced.sourceLabels!), [0, 2]);
  assert.equal(Array.from(balanced.labels), [1, 0]);
  // Every corruption and severity asked for is checked before any work, each missing one named.
  checkCorruptedSources(dir, ['contrast'], [2]);
  assert.throws(
    () => checkCorruptedSources(dir, ['contrast', 'fog'], [2, 3]),
    new RegExp(`^${dir}: missing ${join(dir, 'contrast', '3')}, ${join(dir, 'fog', '2')}, ${join(dir, 'fog', '3')}; choose what is there with --corruptions and --severities$`),
  );
});

test('corrupt --max-test scores the random subset ood --max-test takes, not the first (class-ordered) images', () => {
  const labels = Int32Array.from({ length: 40 }, (_, i) => Math.floor(i / 10)); // 4 classes, class by class
  const ds: Dataset = { images: Float32Array.from({ length: 40 }, (_, i) => i), labels, n: 40, channels: 1, height: 1, width: 1 };
  const { clean, rows } = scoredImages(ds, 8);
  const ood = limitImages(ds, 8);
  assert.equal(Array.from(clean.images), Array.from(ood.images));
  assert.equal(Array.from(clean.labels), Array.from(ood.labels));
  assert.equal(rows, Array.from(clean.images)); // image i holds the value i: rows are the positions
  assert.ok(new Set(clean.labels).size >= 3, `classes ${Array.from(clean.labels)}`);
  assert.ok(scoredImages(ds, undefined).clean === ds && scoredImages(ds, 40).rows === undefined);
});

test('robustness summaries: Fig. 5 averages over types, Table 5 over severities', () => {
  const r = summariseRobustness(0.9, { fog: [0.8, 0.6], snow: [0.7, 0.5] }, ['fog', 'snow'], [1, 3]);
  assert.equal(
    r.perSeverity.map((s) => [s.severity, +s.accuracy.toFixed(6), +s.drop.toFixed(6)]),
    [
      [1, 0.75, 0.15],
      [3, 0.55, 0.35],
    ],
  );
  assert.equal(
    r.perType.map((t) => [t.label, +t.accuracy.toFixed(6), +t.drop.toFixed(6)]),
    [
      ['Fog', 0.7, 0.2],
      ['Snow', 0.6, 0.3],
    ],
  );
  assert.ok(Math.abs(r.mean.accuracy - 0.65) < 1e-12);
  const text = robustnessTable(r);
  assert.match(text, /clean accuracy 90\.00%/);
  assert.match(text, /Fog\s+80\.00\s+60\.00\s+70\.00\s+20\.00/);
  assert.match(text, /all types\s+75\.00\s+55\.00\s+65\.00\s+25\.00/);
  assert.throws(() => summariseRobustness(0.9, { fog: [0.8] }, ['fog'], [1, 2]), /fog has 1 accuracies for 2 severities/);
});

/** Images of k/255 values (so the .npy copy is exact) whose brightness tells the class. */
function bytesDataset(rng: Rng, n: number, classes: number): Dataset {
  const [c, h, w] = [3, 8, 8];
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const images = Float32Array.from({ length: n * c * h * w }, (_, j) => Math.round(255 * (0.15 + 0.3 * labels[Math.floor(j / (c * h * w))] + 0.1 * rng.uniform())) / 255);
  return { images, labels, n, channels: c, height: h, width: w };
}

test("evaluateRobustness: accuracies are the kNN predictions' on each set (files of the clean images give clean accuracy)", async () => {
  const rng = new Rng(4);
  const model = new SupConResNet(rng, { width: 2, inChannels: 3 });
  const transform = { size: 8, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const train = bytesDataset(rng, 12, 3);
  const clean = bytesDataset(rng, 7, 3);
  // Severity s of the files holds the clean images (class c stored as source class 5 + c) for s = 2,
  // and images whose labels are rotated by one class for s = 1 and 3.
  const dir = tempDir();
  const n = clean.n;
  const hwc = new Uint8Array(5 * n * 8 * 8 * 3);
  const labels: number[] = [];
  for (let s = 0; s < 5; s++) {
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < 64; p++) for (let k = 0; k < 3; k++) hwc[((s * n + i) * 64 + p) * 3 + k] = Math.round(255 * clean.images[(i * 3 + k) * 64 + p]);
      labels.push(5 + (s === 1 ? clean.labels[i] : (clean.labels[i] + 1) % 3));
    }
  }
  writeFileSync(join(dir, 'pixelate.npy'), encodeNpy(hwc, [5 * n, 8, 8, 3]));
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(labels, [5 * n], '<i8'));
  const r = await evaluateRobustness(model, train, clean, filesSource(dir, { classes: [5, 6, 7] }), transform, { corruptions: ['pixelate'], severities: [1, 2, 3] });
  // The direct computation.
  const trainF = await extractFeatures(model, train, transform);
  const f = await extractFeatures(model, clean, transform);
  const { predicted } = await scoreOpenSet(trainF, train.labels, f, { k: 3, numClasses: 3 });
  trainF.dispose();
  f.dispose();
  const acc = (shift: number) => Array.from(predicted).filter((p, i) => p === (clean.labels[i] + shift) % 3).length / n;
  assert.ok(acc(0) > acc(1), `the check needs sets that differ (accuracy ${acc(0)} vs ${acc(1)})`);
  assert.ok(Math.abs(r.cleanAccuracy - acc(0)) < 1e-12, `clean ${r.cleanAccuracy} vs ${acc(0)}`);
  assert.equal(
    r.accuracy.pixelate.map((a) => +a.toFixed(9)),
    [acc(1), acc(0), acc(1)].map((a) => +a.toFixed(9)),
  );
  assert.equal([r.count, r.counts.pixelate], [7, [7, 7, 7]]);
  assert.ok(Math.abs(r.perSeverity[1].drop) < 1e-12, 'the unchanged images lose nothing');
  // A set whose labels name none of the known classes is named by corruption and severity.
  await rejects(
    () => evaluateRobustness(model, train, clean, filesSource(dir, { classes: [1] }), transform, { corruptions: ['pixelate'], severities: [4] }),
    /corruption robustness: pixelate severity 4 has no images of the known classes/,
  );
  await rejects(() => evaluateRobustness(model, train, clean, filesSource(dir, { classes: [5] }), transform, { corruptions: ['fog'], severities: [1] }), /^fog severity 1: .*fog\.npy/);
});

test('gradmix corrupt: CIFAR-10-C files of the clean test images keep clean accuracy; generated sets, JSON and picture', async () => {
  // CIFAR-10 with 20 training and 12 test images whose brightness tells the class (so even a random
  // encoder classifies some right); split 0 knows classes 0, 6, 4, 9, 1, 7.
  const rng = new Rng(2);
  const record = (label: number) => Uint8Array.from({ length: 3072 }, () => Math.min(255, 20 + 22 * label + rng.int(16)));
  const records = (labels: number[]) => {
    const pixels = labels.map(record);
    const bytes = new Uint8Array(labels.length * 3073);
    labels.forEach((l, i) => bytes.set([l, ...pixels[i]], i * 3073));
    return { bytes, pixels };
  };
  const root = tempDir();
  for (let b = 1; b <= 5; b++) put(root, `cifar-10-batches-bin/data_batch_${b}.bin`, records(Array.from({ length: 4 }, (_, i) => ((b - 1) * 4 + i) % 10)).bytes);
  const testLabels = Array.from({ length: 12 }, (_, i) => (3 + i) % 10);
  const test_ = records(testLabels);
  put(root, 'cifar-10-batches-bin/test_batch.bin', test_.bytes);
  const checkpoint = join(tempDir(), 'model.safetensors');
  const model = new SupConResNet(new Rng(1), { width: 2, inChannels: 3 });
  await saveCheckpoint(checkpoint, { model: model.stateDict(), metadata: { config: JSON.stringify({ protocol: 'cifar10', split: 0, dataDir: root }) } });
  // CIFAR-10-C layout: every severity of snow and fog is the clean test set (CHW records -> HWC).
  const corrupted = tempDir();
  const hwc = new Uint8Array(5 * 12 * 3072);
  for (let s = 0; s < 5; s++)
    test_.pixels.forEach((px, i) => {
      for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) hwc[((s * 12 + i) * 1024 + p) * 3 + c] = px[c * 1024 + p];
    });
  for (const name of ['fog', 'snow']) writeFileSync(join(corrupted, `${name}.npy`), encodeNpy(hwc, [60, 32, 32, 3]));
  writeFileSync(
    join(corrupted, 'labels.npy'),
    encodeNpy(
      [0, 1, 2, 3, 4].flatMap(() => testLabels),
      [60],
      '<i8',
    ),
  );
  const out = tempDir();
  await corruptCommand(['--checkpoint', checkpoint, '--corrupted', corrupted, '--severities', '1,3', '--out', out, '--quiet']);
  const r = JSON.parse(readFileSync(join(out, 'robustness.json'), 'utf8'));
  assert.equal([r.protocol, r.split, r.count, r.corruptions, r.severities, r.counts.fog], ['cifar10', 0, 7, ['snow', 'fog'], [1, 3], [7, 7]]);
  assert.ok(r.cleanAccuracy > 0, `clean accuracy ${r.cleanAccuracy}`);
  assert.equal(r.accuracy.fog, [r.cleanAccuracy, r.cleanAccuracy]);
  assert.equal(
    r.perSeverity.map((x: { drop: number }) => x.drop),
    [0, 0],
  );
  // --max-test with files: the corrupted images are the clean subset's (same positions in the test set).
  const out1 = tempDir();
  await corruptCommand(['--checkpoint', checkpoint, '--corrupted', corrupted, '--corruptions', 'fog', '--severities', '2', '--max-test', '4', '--out', out1, '--quiet']);
  const m = JSON.parse(readFileSync(join(out1, 'robustness.json'), 'utf8'));
  assert.equal([m.count, m.counts.fog, m.accuracy.fog], [4, [4], [m.cleanAccuracy]]);
  // Generated on the GPU: a subset of corruptions and images, and the picture (15 rows x clean + 5 severities, 3x enlarged).
  const out2 = tempDir();
  await corruptCommand(['--checkpoint', checkpoint, '--corruptions', 'contrast,jpeg_compression', '--severities', '5', '--max-test', '4', '--picture', '3', '--out', out2, '--quiet']);
  const g = JSON.parse(readFileSync(join(out2, 'robustness.json'), 'utf8'));
  assert.equal([g.count, g.corruptions, g.counts.contrast, g.source], [4, ['contrast', 'jpeg_compression'], [4], { generated: { table: 'cifar', seed: 0 } }]);
  const png = PNG.sync.read(readFileSync(join(out2, 'corruptions.png')));
  assert.equal([png.width, png.height], [6 * 96 + 7 * 2, 15 * 96 + 16 * 2]);
  await rejects(() => corruptCommand(['--checkpoint', checkpoint, '--severities', '0']), /--severities must be an integer 1\.\.5, got '0'/);
  await rejects(() => corruptCommand(['--checkpoint', checkpoint, '--corruptions', 'smudge']), /--corruptions: unknown value 'smudge'/);
  await rejects(() => corruptCommand(['--checkpoint', checkpoint, '--table', 'imagenet']), /--table: unknown value 'imagenet', use one of cifar, tiny/);
  await rejects(() => corruptCommand(['--max', '3']), /--checkpoint <file\.safetensors> is required/); // --max: the old name of --max-test
  await rejects(
    () => corruptCommand(['--checkpoint', checkpoint, '--picture', '9', '--max-test', '2', '--corruptions', 'fog', '--severities', '1', '--out', out2]),
    /--picture 9 is outside the 2 known test images/,
  );
});

test.run();
