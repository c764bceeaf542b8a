// `gradmix ood` on the user's own images, and the folder checks around it: the in-set is prepared
// as the checkpoint's run prepared its training images (size, channels, resize rule), a folder
// in-set's test/ classes are numbered by train/'s, and --unknown-data may not overlap --data.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataSet } from '../src/data/in-distribution.js';
import { loadFolderOpenSet } from '../src/data/index.js';
import { loadInSet, oodCommand, partialClassesNote, trainedInput } from '../src/cli/ood-command.js';
import { runConfigOf } from '../src/train/run-config.js';
import { train } from '../src/train/train.js';
import { rejects, removeTempDirs, tempDir } from './data-fixtures.js';
import { writeShapesFolder } from './shapes-folder.js';
import { setupGpu } from './helpers.js';

const test = suite('ood on own data');
test.before(setupGpu);
test.after(removeTempDirs);

const KNOWN = ['bars', 'columns', 'disc'] as const;

test("trainedInput: the run's image size and resize rule (a protocol's size, an own-image run's --size)", () => {
  assert.equal(trainedInput(runConfigOf({ protocol: 'tinyimagenet', allClasses: true, imageSize: 32 }, 'x')), { size: 64, antialias: true, padding: 0 });
  assert.equal(trainedInput(runConfigOf({ protocol: 'cifar10' }, 'x')), { size: 32, antialias: true, padding: 0 });
  assert.equal(trainedInput(runConfigOf({ protocol: 'mnist' }, 'x')), { size: 32, antialias: true, padding: 2 });
  assert.equal(trainedInput(runConfigOf({ protocol: 'folder', imageSize: 16, antialias: true }, 'x')), { size: 16, antialias: true, padding: 0 });
  // A run saved before the rule was recorded shrank plainly.
  assert.equal(trainedInput(runConfigOf({ protocol: 'folder', imageSize: 24 }, 'x')), { size: 24, antialias: false, padding: 0 });
  assert.equal(trainedInput(runConfigOf(null, 'x')), { antialias: true, padding: 0 });
});

test("a folder in-set of an MNIST run's checkpoint is fitted inside the run's zero border (28 x 28 padded by 2), not stretched to 32", async () => {
  const root = tempDir();
  writeShapesFolder(join(root, 'train'), { perClass: 2, shapes: KNOWN }); // 20-43 px
  const input = trainedInput(runConfigOf({ protocol: 'mnist-mini' }, 'x'));
  const got = await loadInSet('folder', 'train', root, input, 1);
  const inner = await loadDataSet('folder', 'train', { dataDir: root, folder: { channels: 1, size: [28, 28], antialias: true } });
  assert.equal([got.n, got.channels, got.height, got.width], [6, 1, 32, 32]);
  for (let i = 0; i < got.n; i++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        const want = inside ? inner.images[(i * 28 + y - 2) * 28 + x - 2] : 0;
        if (got.images[(i * 32 + y) * 32 + x] !== want) assert.unreachable(`image ${i} (${x}, ${y}): ${got.images[(i * 32 + y) * 32 + x]}, want ${want}`);
      }
    }
  }
});

test("a folder in-set's test/ classes are numbered by train/'s; a class train/ lacks is refused", async () => {
  const root = tempDir();
  writeShapesFolder(join(root, 'train'), { perClass: 1, shapes: KNOWN });
  writeShapesFolder(join(root, 'test'), { perClass: 1, shapes: ['bars', 'disc'] });
  const folder = { channels: 1, size: [8, 8] } as const;
  const testSet = await loadDataSet('folder', 'test', { dataDir: root, folder });
  assert.equal(Array.from(testSet.labels), [0, 2], 'disc is class 2 in train/, not 1');
  assert.equal(testSet.classNames, [...KNOWN]);
  // An out-set's labels are not read: its test/ keeps its own numbering.
  assert.equal(Array.from((await loadDataSet('folder', 'test', { dataDir: root, folder, unlabelled: true })).labels), [0, 1]);
  writeShapesFolder(join(root, 'test'), { perClass: 1, shapes: ['ring'] });
  await rejects(() => loadDataSet('folder', 'test', { dataDir: root, folder }), new RegExp(`${join(root, 'test')}: class folder ring is not in ${join(root, 'train')} \\(bars, columns, disc\\)`));
});

test('ood --in folder on a checkpoint trained on grey images of varied sizes: loaded as the run loaded them', async () => {
  const data = writeShapesFolder(tempDir(), { perClass: 4, shapes: KNOWN }); // grey, 20-43 px
  const out = tempDir();
  await train({ dataDir: data, known: [...KNOWN], width: 2, batchSize: 8, epochs: 1, imageSize: 16, progress: false, evaluate: false, out });
  const inSet = tempDir();
  writeShapesFolder(join(inSet, 'train'), { perClass: 3, shapes: KNOWN });
  writeShapesFolder(join(inSet, 'test'), { perClass: 2, shapes: KNOWN });
  const rings = writeShapesFolder(join(tempDir(), 'rings'), { perClass: 3, shapes: ['ring'] });
  const results = tempDir();
  const log = console.log;
  console.log = () => undefined;
  try {
    await oodCommand([
      '--checkpoint',
      join(out, 'checkpoint.safetensors'),
      '--in',
      'folder',
      '--data',
      inSet,
      '--ood-sets',
      'folder,mnist-mini',
      '--ood-data',
      `${rings},`,
      '--max-test',
      '6',
      '--out',
      results,
    ]);
  } finally {
    console.log = log;
  }
  const json = JSON.parse(readFileSync(join(results, 'ood.json'), 'utf8'));
  // 1 channel at the run's 16 x 16 (not the CIFAR preset's 3 channels at 32).
  assert.is(json.imageSize, 16);
  assert.equal([json.in.shape, json.in.trainImages, json.in.testImages], ['1x16x16', 9, 6]);
  assert.equal(
    json.out.map((o: { name: string; shape: string }) => [o.name, o.shape]),
    [
      ['rings', '1x16x16'],
      ['mnist-mini', '1x32x32'],
    ],
  );
});

test("the partial-classes note: an own folder's run is told to name every class folder as --known (it has no --all-classes); none when every one was", async () => {
  const data = writeShapesFolder(tempDir(), { perClass: 1, shapes: KNOWN });
  const note = await partialClassesNote('m.safetensors', runConfigOf({ protocol: 'folder', dataDir: data, known: ['bars', 'disc'] }, 'x'));
  assert.ok(note?.includes('(not columns)') && note.includes(`name every class folder of ${data} in gradmix train --known`), note);
  assert.not.match(note!, /--all-classes/);
  assert.is(await partialClassesNote('m.safetensors', runConfigOf({ protocol: 'folder', dataDir: data, known: ['disc', 'bars', 'columns'] }, 'x')), undefined);
  // The folder gone: still the note, without the classes left out.
  const gone = await partialClassesNote('m.safetensors', runConfigOf({ protocol: 'folder', dataDir: join(data, 'gone'), known: ['bars', 'disc'] }, 'x'));
  assert.ok(gone?.includes('name every class folder of') && !gone.includes('(not'), gone);
  // A built-in protocol's run: --all-classes, as before; none after one.
  assert.match((await partialClassesNote('m.safetensors', runConfigOf({ protocol: 'cifar10' }, 'x')))!, /\(gradmix train --all-classes\)$/);
  assert.is(await partialClassesNote('m.safetensors', runConfigOf({ protocol: 'cifar10', allClasses: true }, 'x')), undefined);
});

test('--unknown-data may not lie above or inside --data (its images are read from every sub-folder)', async () => {
  const root = tempDir();
  const data = writeShapesFolder(join(root, 'data'), { perClass: 2 });
  const o = { dataDir: data, known: [...KNOWN], valFraction: 0.5, imageSize: 8 };
  await rejects(() => loadFolderOpenSet({ ...o, unknownDataDir: root }), new RegExp(`--unknown-data ${root} holds the --data folder ${data}`));
  await rejects(() => loadFolderOpenSet({ ...o, unknownDataDir: join(data, 'ring') }), /--unknown-data .*ring lies inside the --data folder/);
  // A folder beside it is fine, even one whose name starts like the data folder's.
  const beside = writeShapesFolder(join(root, 'data-other'), { perClass: 1, shapes: ['ring'] });
  assert.is((await loadFolderOpenSet({ ...o, unknownDataDir: beside })).testUnknown.n, 1);
});

test.run();
