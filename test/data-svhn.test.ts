// SVHN: the official MAT v5 layout (column-major X of 32x32x3xN, y with 0 written as 10), plain
// and compressed, the documented .bin conversion, and the errors for bad files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSvhn } from '../src/data/svhn.js';
import { readMat } from '../src/data/mat.js';
import { cifarRecords, matFile, pixelBytes, put, rejects, removeTempDirs, tempDir, type MatVar } from './data-fixtures.js';

test.after(removeTempDirs);

/** Planar (N, C, H, W) pixels and their column-major MATLAB X(row, col, ch, n). */
function svhnArrays(n: number) {
  const planar = pixelBytes(n * 3072, 5);
  const columnMajor = new Uint8Array(n * 3072);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < 3; ch++)
      for (let row = 0; row < 32; row++) for (let col = 0; col < 32; col++) columnMajor[row + 32 * col + 1024 * ch + 3072 * i] = planar[((i * 3 + ch) * 32 + row) * 32 + col];
  return { planar, columnMajor };
}

function svhnMat(n: number, labels: number[], compress: boolean): { bytes: Uint8Array; planar: Uint8Array } {
  const { planar, columnMajor } = svhnArrays(n);
  const vars: MatVar[] = [
    { name: 'X', dims: [32, 32, 3, n], values: columnMajor, type: 'uint8', compress },
    { name: 'y', dims: [n, 1], values: labels, type: 'double', compress },
  ];
  return { bytes: matFile(vars), planar };
}

for (const compress of [false, true]) {
  test(`the official .mat layout (${compress ? 'compressed' : 'plain'} elements): pixels transposed to CHW, 10 read as 0`, async () => {
    const dir = tempDir();
    const { bytes, planar } = svhnMat(3, [10, 1, 9], compress);
    put(dir, 'train_32x32.mat', bytes);
    const ds = await loadSvhn(dir, 'train');
    assert.equal([ds.n, ds.channels, ds.height, ds.width], [3, 3, 32, 32]);
    assert.equal(Array.from(ds.labels), [0, 1, 9]);
    assert.equal(
      Array.from(ds.images),
      Array.from(planar, (b) => Math.fround(b / 255)),
    );
  });
}

test('readMat: short (small-element) and long names, dims and double values', () => {
  const bytes = matFile([
    { name: 'abc', dims: [2, 3], values: [1.5, -2, 3, 4, 5, 6.25], type: 'double', compress: true },
    { name: 'a_longer_name', dims: [1, 1], values: [7], type: 'uint8' },
  ]);
  const arrays = readMat(bytes, 'x.mat');
  assert.equal([...arrays.keys()], ['abc', 'a_longer_name']);
  const a = arrays.get('abc')!;
  assert.equal(a.dims, [2, 3]);
  assert.equal(
    Array.from({ length: a.length }, (_, i) => a.at(i)),
    [1.5, -2, 3, 4, 5, 6.25],
  );
  assert.is(arrays.get('a_longer_name')!.at(0), 7);
});

test('the .bin conversion in CIFAR-10 record layout', async () => {
  const dir = tempDir();
  const r = cifarRecords([[3], [10], [0]], 4);
  put(dir, 'test_32x32.bin', r.bytes);
  const ds = await loadSvhn(dir, 'test');
  assert.equal(Array.from(ds.labels), [3, 0, 0]);
  assert.is(ds.images[3072 + 100], Math.fround(r.pixels[1][100] / 255));
});

test('bad SVHN files name the file and the problem', async () => {
  const dir = tempDir();
  await rejects(() => loadSvhn(dir, 'train'), /no train_32x32\.mat or train_32x32\.bin/);
  const { bytes } = svhnMat(2, [1, 2], true);
  put(dir, 'train_32x32.mat', bytes.subarray(0, bytes.length - 100));
  await rejects(() => loadSvhn(dir, 'train'), /train_32x32\.mat: truncated MAT-file/);
  put(dir, 'train_32x32.mat', new TextEncoder().encode('MATLAB 7.3 MAT-file, Platform: GLNXA64'.padEnd(200, ' ')));
  await rejects(() => loadSvhn(dir, 'train'), /train_32x32\.mat: MAT-file v7\.3 \(HDF5\) is not supported/);
  // A Level 5 file whose header text names a writer with 7.3 in its version reads as usual.
  const octave = svhnMat(2, [1, 2], true).bytes.slice();
  octave.set(new TextEncoder().encode('MATLAB 5.0 MAT-file, written by Octave 7.3.0, 2026-12-05'.padEnd(116, ' ')), 0);
  put(dir, 'train_32x32.mat', octave);
  assert.is((await loadSvhn(dir, 'train')).n, 2);
  put(dir, 'train_32x32.mat', new Uint8Array(300));
  await rejects(() => loadSvhn(dir, 'train'), /train_32x32\.mat: not a MATLAB MAT-file/);
  put(dir, 'train_32x32.mat', svhnMat(2, [1, 11], false).bytes);
  await rejects(() => loadSvhn(dir, 'train'), /train_32x32\.mat: y\(2\) = 11 is not a digit label 1\.\.10/);
  put(dir, 'train_32x32.mat', matFile([{ name: 'X', dims: [2, 2], values: [1, 2, 3, 4], type: 'uint8' }]));
  await rejects(() => loadSvhn(dir, 'train'), /train_32x32\.mat: expected variables X and y \(SVHN format\), found X/);
  put(dir, 'test_32x32.bin', cifarRecords([[11]]).bytes);
  await rejects(() => loadSvhn(dir, 'test'), /test_32x32\.bin: record 0 has label 11, outside 0\.\.9/);
});

test.run();
