// The user's own images, end to end: a class-per-folder tree of drawn shapes (any size, grey or
// colour) trained with --known, evaluated from the checkpoint alone, and new images classified by
// `gradmix predict` against the threshold calibrated on held-out known images.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFolderOpenSet, loadImageFolder } from '../src/data/index.js';
import { thresholdAtTpr } from '../src/osr/metrics.js';
import { loadOpenSetModel } from '../src/osr/open-set-file.js';
import { evalCommand, trainCommand } from '../src/cli/commands.js';
import { readSafetensors, writeSafetensors } from '../src/checkpoint/index.js';
import { trainAndEvaluate } from '../src/train/train-and-evaluate.js';
import { train } from '../src/train/train.js';
import { predictCommand } from '../src/cli/predict-command.js';
import { objectivesCommand } from '../src/cli/objectives-command.js';
import { oodCommand } from '../src/cli/ood-command.js';
import { corruptCommand } from '../src/cli/corrupt-command.js';
import { Rng } from '../src/random.js';
import { pngBytes, put, rejects, removeTempDirs, rgbaImage, tempDir } from './data-fixtures.js';
import { writeShapesFolder } from './shapes-folder.js';
import { aurocByPairs, setupGpu } from './helpers.js';

const test = suite('own data');
test.before(setupGpu);
test.after(removeTempDirs);

const KNOWN = ['bars', 'columns', 'disc'];

/** What `fn` prints with console.log, line by line. */
async function printed(fn: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    await fn();
  } finally {
    console.log = log;
  }
  return lines;
}

/** What `fn` prints with console.error, joined. */
async function warned(fn: () => Promise<unknown>): Promise<string> {
  let said = '';
  const error = console.error;
  console.error = (...args: unknown[]) => void (said += `${args.join(' ')}\n`);
  try {
    await fn();
  } finally {
    console.error = error;
  }
  return said;
}

test('channels come from the images: all grey gives 1, all colour 3, a mix is an error naming one of each', async () => {
  const grey = writeShapesFolder(tempDir(), { perClass: 2 });
  const colour = writeShapesFolder(tempDir(), { perClass: 2, colour: true });
  const g = await loadImageFolder(grey, { channels: 'auto', size: [16, 16] });
  const c = await loadImageFolder(colour, { channels: 'auto', size: [16, 16] });
  assert.is(g.channels, 1);
  assert.is(c.channels, 3);
  // Grey auto equals the forced luma conversion (R = G = B makes luma = R).
  const forced = await loadImageFolder(grey, { channels: 1, size: [16, 16] });
  for (let i = 0; i < forced.images.length; i += 97) assert.ok(Math.abs(forced.images[i] - g.images[i]) < 1e-6);
  put(grey, 'ring/colour.png', pngBytes(rgbaImage(20, 20, 3)));
  await rejects(() => loadImageFolder(grey, { channels: 'auto', size: [16, 16] }), /mixed channel counts/, /colour\.png is colour/, /is grey/, /--channels/);
  assert.is((await loadImageFolder(grey, { channels: 3, size: [16, 16] })).channels, 3);
});

test('the folder split: per known class a fixed held-out fraction, the other classes unknown', async () => {
  const root = writeShapesFolder(tempDir(), { perClass: 10 });
  const o = { dataDir: root, known: KNOWN, valFraction: 0.3, imageSize: 24 };
  const data = await loadFolderOpenSet(o);
  assert.is(data.train.n, 3 * 7);
  assert.is(data.testKnown.n, 3 * 3);
  assert.is(data.testUnknown.n, 10);
  assert.equal(data.knownClassNames, KNOWN);
  assert.equal(data.unknownClassNames, ['ring']);
  assert.equal([data.train.channels, data.train.height, data.train.width], [1, 24, 24]);
  for (let c = 0; c < 3; c++) {
    assert.is(data.train.labels.filter((l) => l === c).length, 7);
    assert.is(data.testKnown.labels.filter((l) => l === c).length, 3);
  }
  assert.ok(data.testUnknown.labels.every((l) => l === -1));
  // Held-out images are not training images, and the split does not change between loads.
  const per = 24 * 24;
  const key = (images: Float32Array, i: number) => images.subarray(i * per, (i + 1) * per).join();
  const trainKeys = new Set(Array.from({ length: data.train.n }, (_, i) => key(data.train.images, i)));
  for (let i = 0; i < data.testKnown.n; i++) assert.not.ok(trainKeys.has(key(data.testKnown.images, i)));
  assert.equal((await loadFolderOpenSet(o)).testKnown.images, data.testKnown.images);
  // The order of --known defines the labels: disc's images carry label 0 once it comes first.
  const swapped = await loadFolderOpenSet({ ...o, known: ['disc', 'bars', 'columns'] });
  assert.equal(swapped.knownClassNames, ['disc', 'bars', 'columns']);
  const discImages = new Set(
    [data.train, data.testKnown].flatMap((d) =>
      Array.from({ length: d.n }, (_, i) => i)
        .filter((i) => d.labels[i] === KNOWN.indexOf('disc'))
        .map((i) => key(d.images, i)),
    ),
  );
  const label0 = Array.from({ length: swapped.train.n }, (_, i) => i).filter((i) => swapped.train.labels[i] === 0);
  assert.is(label0.length, 7);
  assert.ok(
    label0.every((i) => discImages.has(key(swapped.train.images, i))),
    "label 0 holds disc's images",
  );
});

test('folder errors name the folder and what is wrong', async () => {
  const root = writeShapesFolder(tempDir(), { perClass: 3 });
  const o = { dataDir: root, known: KNOWN, valFraction: 0.2, imageSize: 16 };
  await rejects(() => loadFolderOpenSet({ ...o, known: ['bars', 'dics'] }), /--known/, /no class folder 'dics'/, /did you mean 'disc'/);
  await rejects(() => loadFolderOpenSet({ ...o, known: ['bars'] }), /at least 2 known classes/);
  await rejects(() => loadFolderOpenSet({ ...o, known: ['bars', 'bars'] }), /named twice/);
  // A class folder without PNG or JPEG images: an unknown class is one too, and the error says so.
  put(root, 'empty/a.gif', 'GIF89a');
  put(root, 'empty/b.txt', 'notes');
  await rejects(
    () => loadFolderOpenSet(o),
    new RegExp(`^${join(root, 'empty')}: no PNG or JPEG images in this class folder \\(2 other file\\(s\\) skipped: only \\.png, \\.jpg and \\.jpeg files are read\\); `),
    new RegExp(`every class folder of ${root} not in --known \\(bars, columns, disc\\) is an unknown class: remove it, or give the unknown classes a folder of their own with --unknown-data`),
  );
  await rejects(() => loadFolderOpenSet({ ...o, known: ['bars', 'empty'] }), /empty: no PNG or JPEG images .*; it is a --known class/);
  // With --unknown-data the folder's other classes are not used: an empty one is passed over.
  const elsewhere = writeShapesFolder(tempDir(), { perClass: 2, shapes: ['ring'] });
  assert.equal((await loadFolderOpenSet({ ...o, unknownDataDir: elsewhere })).unknownClassNames, ['ring']);
  mkdirSync(join(elsewhere, 'blank'));
  await rejects(
    () => loadFolderOpenSet({ ...o, unknownDataDir: elsewhere }),
    new RegExp(`${join(elsewhere, 'blank')}: no PNG or JPEG images in this class folder; every sub-folder of --unknown-data`),
  );
  const single = writeShapesFolder(tempDir(), { perClass: 1 });
  await rejects(() => loadFolderOpenSet({ ...o, dataDir: single }), /bars: 1 image; a known class needs at least 2/);
  const flat = tempDir();
  put(flat, 'x.png', pngBytes(rgbaImage(8, 8)));
  const clean = writeShapesFolder(tempDir(), { perClass: 3 });
  await rejects(() => loadFolderOpenSet({ ...o, dataDir: clean, unknownDataDir: flat }), new RegExp(`${flat}: no sub-folders`));
  await rejects(() => loadFolderOpenSet({ ...o, dataDir: clean, unknownDataDir: clean }), /--unknown-data .* is the --data folder/);
  const overlapping = tempDir();
  put(overlapping, 'disc/0.png', pngBytes(rgbaImage(8, 8)));
  put(overlapping, 'stars/0.png', pngBytes(rgbaImage(8, 8)));
  await rejects(() => loadFolderOpenSet({ ...o, dataDir: clean, unknownDataDir: overlapping }), /class folder disc is also known \(--known\)/);
  await rejects(() => loadFolderOpenSet({ ...o, dataDir: join(root, 'nope') }), /nope: no such file/);
});

test("a run records its data folder absolute, for eval from anywhere; an older run's relative one is named with --data, and still resumes from its own directory", async () => {
  const dir = tempDir();
  writeShapesFolder(join(dir, 'shapes'), { perClass: 6 }); // 15 training images: 2 steps an epoch
  const checkpoint = join(dir, 'run', 'checkpoint.safetensors');
  const here = process.cwd();
  process.chdir(dir);
  try {
    const stop = new AbortController();
    const o = { dataDir: 'shapes', known: KNOWN, width: 2, batchSize: 8, epochs: 2, imageSize: 16, progress: false, evaluate: false, out: 'run' };
    const first = await train(o, { signal: stop.signal, onStep: () => stop.abort() });
    first.model.dispose();
    assert.ok(first.interrupted);
    const absolute = join(process.cwd(), 'shapes');
    assert.is(JSON.parse(readFileSync(join('run', 'config.json'), 'utf8')).dataDir, absolute);
    const { tensors, metadata } = await readSafetensors(checkpoint);
    assert.is(JSON.parse(metadata.config).dataDir, absolute);
    // As an older version recorded it: the folder as typed, in config.json and in the checkpoint.
    const older = (config: string) => JSON.stringify({ ...JSON.parse(config), dataDir: 'shapes' });
    writeFileSync(join('run', 'config.json'), older(readFileSync(join('run', 'config.json'), 'utf8')));
    await writeSafetensors(checkpoint, tensors, { ...metadata, config: older(metadata.config) });
  } finally {
    process.chdir(here);
  }
  await rejects(
    () => evalCommand(['--checkpoint', checkpoint]),
    new RegExp(`^shapes: no such folder; it is the data folder the checkpoint's run recorded, relative to the directory it was trained in \\(here: ${join(here, 'shapes')}\\); pass --data <folder>$`),
  );
  process.chdir(dir);
  try {
    const resumed = await warned(() => printed(() => trainCommand(['--out', 'run', '--resume', '--quiet'])));
    assert.match(resumed, /resuming from run\/checkpoint\.safetensors at epoch 1, batch 1/);
    assert.is(JSON.parse(readFileSync(join('run', 'log.jsonl'), 'utf8').trim().split('\n').pop()!).status, 'finished');
  } finally {
    process.chdir(here);
  }
  // The resumed run recorded the folder absolute: eval works from here.
  const evaluated = await printed(() => evalCommand(['--checkpoint', checkpoint]));
  assert.match(evaluated.join('\n'), /wrote /);
});

test('thresholdAtTpr is the highest threshold that accepts at least the TPR (brute force)', () => {
  const rng = new Rng(7);
  for (const n of [1, 2, 19, 20, 101]) {
    const scores = Float32Array.from({ length: n }, () => Math.round(rng.uniform() * 10) / 10); // ties included
    for (const tpr of [0.5, 0.9, 0.95, 1]) {
      const accepted = (t: number) => scores.filter((s) => s >= t).length / n;
      const best = Math.max(...Array.from(scores).filter((t) => accepted(t) >= tpr - 1e-12));
      assert.is(thresholdAtTpr(scores, tpr), best, `n ${n} tpr ${tpr}`);
    }
  }
  assert.throws(() => thresholdAtTpr([], 0.95), /no known scores/);
  assert.throws(() => thresholdAtTpr([0.5, NaN], 0.95), /not all finite/);
});

test('train --data --known, eval from the checkpoint alone, predict against the calibrated threshold', async () => {
  const root = writeShapesFolder(tempDir(), { perClass: 10, colour: true });
  const out = tempDir();
  // The folder stays locked while the evaluation rewrites the checkpoint and writes results.json.
  let lockedWhileEvaluating = false;
  const logged: string[] = [];
  const log = (line: string) => void (logged.push(line), line.startsWith('evaluating') && (lockedWhileEvaluating = existsSync(join(out, 'run.lock'))));
  const run = await trainAndEvaluate({ dataDir: root, known: KNOWN, width: 2, batchSize: 16, epochs: 2, imageSize: 24, progress: false, out }, { log });
  assert.ok(lockedWhileEvaluating, 'run.lock held during the evaluation');
  // The data is named as the user knows it: the folder and its known classes, no 'split 0'.
  const ran = `your folder ${root} (known: bars, columns, disc)`;
  assert.ok(
    logged.some((l) => l.startsWith(`trained 2 epoch(s) of ${ran}: final epoch loss`)),
    logged.join('\n'),
  );
  assert.not.ok(existsSync(join(out, 'run.lock')), 'and released after it');
  const { metrics, evaluation } = run;
  assert.ok(metrics && evaluation);
  // The AUROC is that of the run's own scores, by its pairwise definition.
  // 2 held-out images of each known class, then the 10 of the unknown one (evaluation order).
  assert.equal([evaluation.counts.testKnown, evaluation.counts.testUnknown], [3 * 2, 10]);
  const known = [...Array<number>(6).fill(1), ...Array<number>(10).fill(0)];
  assert.equal([...evaluation.isKnown], known);
  const byPairs = aurocByPairs(evaluation.scores, known);
  assert.ok(Math.abs(metrics.auroc - byPairs) < 1e-12, `AUROC ${metrics.auroc}, by pairs ${byPairs}`);
  // The library returns what it wrote and the recogniser it stored.
  assert.is(run.files.results, join(out, 'results.json'));
  assert.ok(run.files.roc && existsSync(run.files.roc) && run.files.scores && existsSync(run.files.scores));
  assert.ok(run.recogniser && run.evaluation && run.evaluation.metrics === metrics);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.is(run.recogniser.threshold, results.threshold);
  run.dispose();
  assert.equal(results.knownClasses, KNOWN);
  assert.equal(results.unknownClasses, ['ring']);
  assert.is(results.protocol, 'folder');
  assert.is(results.trainedImages, 3 * 8);
  assert.ok(typeof results.adapter === 'string' && typeof results.version === 'string' && !Number.isNaN(Date.parse(results.time)));
  assert.ok(Number.isFinite(results.threshold));

  // The stored recogniser: threshold calibrated at 95% of the held-out known images.
  const checkpoint = join(out, 'checkpoint.safetensors');
  const recogniser = await loadOpenSetModel(checkpoint);
  assert.is(recogniser.input.antialias, true, 'predict shrinks new images as training did');
  const data = await loadFolderOpenSet({ dataDir: root, known: KNOWN, valFraction: 0.2, imageSize: 24 });
  const heldOut = await recogniser.predict(data.testKnown);
  assert.is(
    recogniser.threshold,
    thresholdAtTpr(
      heldOut.map((p) => p.score),
      0.95,
    ),
  );
  assert.ok(heldOut.filter((p) => p.known).length / heldOut.length >= 0.95);
  assert.is(recogniser.threshold, results.threshold);
  assert.equal([...recogniser.classNames], KNOWN);

  // predict: one JSON line per image, folders searched, the same verdicts as the library.
  const lines = await printed(() => predictCommand(['--checkpoint', checkpoint, join(root, 'ring'), join(root, 'disc', '0.png')]));
  assert.is(lines.length, 11);
  const rows = lines.map((l) => JSON.parse(l));
  assert.is(rows[10].file, join(root, 'disc', '0.png'));
  for (const r of rows) {
    assert.ok(KNOWN.includes(r.class));
    assert.is(r.known, r.score >= r.threshold);
    assert.is(r.threshold, recogniser.threshold);
  }
  const strict = await printed(() => predictCommand(['--checkpoint', checkpoint, '--threshold', '2', join(root, 'disc')]));
  assert.ok(strict.map((l) => JSON.parse(l)).every((r) => r.known === false && r.threshold === 2));
  recogniser.dispose();

  // eval takes the data choice from the checkpoint's config: the same split, the same AUROC.
  const evalOut = tempDir();
  const evaluated = await printed(() => evalCommand(['--checkpoint', checkpoint, '--out', evalOut]));
  assert.is(evaluated[0], `${ran}, 6 known / 10 unknown test images, score knn:`);
  const again = JSON.parse(readFileSync(join(evalOut, 'results.json'), 'utf8'));
  assert.is(again.auroc, results.auroc);
  assert.equal(again.unknownClasses, ['ring']);
});

test('a resume on data files that changed since the checkpoint is refused, naming the checkpoint', async () => {
  const root = writeShapesFolder(tempDir(), { perClass: 4 });
  const out = tempDir();
  const o = { dataDir: root, known: KNOWN, width: 2, batchSize: 8, epochs: 1, imageSize: 16, progress: false, evaluate: false, out };
  await train(o);
  await train({ ...o, resume: true }); // the same data: resumes (and finds the run finished)
  put(root, join('bars', '0.png'), readFileSync(join(root, 'columns', '0.png'))); // a training image of bars replaced
  await rejects(() => train({ ...o, resume: true }), new RegExp(`${join(out, 'checkpoint.safetensors')}: the training images are not the ones this run trained on`), /data files changed/);
});

test('a run saved before the resize rule was recorded resumes with plain shrinking, through the library too', async () => {
  const root = writeShapesFolder(tempDir(), { perClass: 4 }); // 20-40 px images shrunk to 16: the two rules differ
  const out = tempDir();
  const o = { dataDir: root, known: KNOWN, width: 2, batchSize: 8, epochs: 1, imageSize: 16, progress: false, evaluate: false, out };
  await train({ ...o, antialias: false });
  // As an older version wrote it: no resize rule in config.json (read before the checkpoint's copy).
  const configFile = join(out, 'config.json');
  const { antialias, ...older } = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  assert.is(antialias, false);
  writeFileSync(configFile, JSON.stringify(older));
  const resumed = await train({ ...o, resume: true }); // no rule given: the saved run's, not the new default
  assert.is(resumed.options.antialias, false);
  assert.is(resumed.data.antialias, false);
  // A rule given explicitly is the caller's: the images then differ from the checkpoint's, and that is refused.
  await rejects(() => train({ ...o, resume: true, antialias: true }), /the training images are not the ones this run trained on/);
});

test('the other commands on an own-data checkpoint: objectives trains on the folder; ood, corrupt and eval say what they need', async () => {
  const root = writeShapesFolder(tempDir(), { perClass: 6 });
  const out = tempDir();
  await train({ dataDir: root, known: KNOWN, width: 2, batchSize: 8, epochs: 1, imageSize: 16, progress: false, evaluate: false, out });
  const checkpoint = join(out, 'checkpoint.safetensors');

  // objectives: the folder's input (grey 16 x 16 images), one objective here.
  const table = tempDir();
  const said = await printed(() =>
    objectivesCommand(['--data', root, '--known', KNOWN.join(','), '--objectives', 'supcon', '--width', '2', '--batch', '8', '--epochs', '1', '--size', '16', '--quiet', '--out', table]),
  );
  const row = JSON.parse(readFileSync(join(table, 'supcon', 'table1.json'), 'utf8')) as { auroc: { knn?: number } };
  assert.ok(Number.isFinite(row.auroc.knn), said.join('\n'));

  await rejects(() => oodCommand(['--checkpoint', checkpoint, '--ood-sets', 'mnist-mini']), /--in is required: .* was trained on your own image folder/, /--in folder --data DIR/);
  // An in-distribution folder without train/ and test/ would score the gallery's own images.
  await rejects(() => oodCommand(['--checkpoint', checkpoint, '--in', 'folder', '--data', root, '--ood-sets', 'mnist-mini']), /--in folder: .* needs train\/ and test\/ sub-folders/);
  await rejects(() => corruptCommand(['--checkpoint', checkpoint]), /trained on your own image folder; corrupt runs on a protocol's test set/);
  // The held-out images are drawn by class position and fraction: another order or fraction is refused.
  await rejects(() => evalCommand(['--checkpoint', checkpoint, '--known', [...KNOWN].reverse().join(',')]), /--known disc,columns,bars differs from the checkpoint's bars,columns,disc/);
  await rejects(() => evalCommand(['--checkpoint', checkpoint, '--val-fraction', '0.5']), /--val-fraction 0\.5 differs from the checkpoint's 0\.2/);
  // Another protocol: evaluated there, with a note that these are not the classes it trained on.
  const elsewhere = await warned(() => printed(() => evalCommand(['--checkpoint', checkpoint, '--protocol', 'mnist-mini', '--out', tempDir()])));
  assert.match(elsewhere, new RegExp(`note: ${checkpoint} was trained on your folder ${root} \\(known: bars, columns, disc\\); evaluating it on mnist-mini split 0, with other known classes`));
  const other = tempDir();
  await trainAndEvaluate({ protocol: 'mnist-mini', width: 2, batchSize: 8, maxTrain: 16, epochs: 1, progress: false, evaluate: false, out: other });
  await rejects(() => evalCommand(['--checkpoint', join(other, 'checkpoint.safetensors'), '--known', 'a,b']), /--data is required with --known/);
});

test('predict errors: no images, a missing path, a checkpoint without a recogniser', async () => {
  await rejects(() => predictCommand(['--checkpoint', 'x.safetensors']), /give the images/);
  await rejects(() => predictCommand(['--checkpoint', 'x.safetensors', '/nonexistent/a.png']), /\/nonexistent\/a\.png: no such file or folder/);
  const out = tempDir();
  await trainAndEvaluate({ protocol: 'mnist-mini', width: 2, batchSize: 8, maxTrain: 16, epochs: 1, progress: false, evaluate: false, out });
  const root = writeShapesFolder(tempDir(), { perClass: 1 });
  // The advice names the step that stores one: eval --calibrate (plain eval stores nothing).
  const advice = new RegExp(`gradmix eval --calibrate --checkpoint ${join(out, 'checkpoint.safetensors')}$`);
  await rejects(() => predictCommand(['--checkpoint', join(out, 'checkpoint.safetensors'), root]), /holds no open-set recogniser/, /gradmix train/, advice);

  // eval --calibrate stores one (and says so); predict then answers with its threshold.
  const said = await printed(() => evalCommand(['--checkpoint', join(out, 'checkpoint.safetensors'), '--calibrate']));
  assert.ok(existsSync(join(out, 'eval', 'results.json')), "eval writes into eval/ beside the checkpoint, not over the run's results.json");
  const stored = said.find((l) => l.startsWith('open-set threshold'));
  assert.ok(stored && stored.includes(`stored in ${join(out, 'checkpoint.safetensors')}`), said.join('\n'));
  const threshold = Number(/open-set threshold ([-\d.]+)/.exec(stored)![1]);
  const rows = (await printed(() => predictCommand(['--checkpoint', join(out, 'checkpoint.safetensors'), root]))).map((l) => JSON.parse(l) as { threshold: number });
  assert.ok(rows.length > 0 && rows.every((r) => r.threshold.toFixed(4) === threshold.toFixed(4)));
});

test.run();
