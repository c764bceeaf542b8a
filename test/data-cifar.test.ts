// CIFAR-10 / CIFAR-100 binary loaders: record decoding (label bytes, RGB planes), batch order,
// class names, and the errors for truncated, corrupt and missing files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadCifar10, loadCifar100, CIFAR10_CLASS_NAMES } from '../src/data/cifar.js';
import { cifarRecords, put, rejects, removeTempDirs, tempDir } from './data-fixtures.js';

test.after(removeTempDirs);

/** data_batch_b holds labels [b, b+1 mod 10]; test_batch holds [3, 1, 4]. */
function writeCifar10(root: string) {
  const dir = join(root, 'cifar-10-batches-bin');
  const pixels: Uint8Array[] = [];
  for (let b = 1; b <= 5; b++) {
    const r = cifarRecords([[b], [(b + 1) % 10]], b);
    pixels.push(...r.pixels);
    put(dir, `data_batch_${b}.bin`, r.bytes);
  }
  const t = cifarRecords([[3], [1], [4]], 9);
  put(dir, 'test_batch.bin', t.bytes);
  return { dir, pixels, testPixels: t.pixels };
}

test('CIFAR-10: the five batches in order, from the archive folder or its parent', async () => {
  const root = tempDir();
  const { dir, pixels, testPixels } = writeCifar10(root);
  for (const from of [root, dir]) {
    const train = await loadCifar10(from, 'train');
    assert.equal([train.n, train.channels, train.height, train.width], [10, 3, 32, 32]);
    assert.equal(Array.from(train.labels), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    assert.equal(train.classNames, CIFAR10_CLASS_NAMES);
    // Record bytes are R plane, G plane, B plane, rows top to bottom: identical to CHW order.
    assert.equal(
      Array.from(train.images.subarray(7 * 3072, 8 * 3072)),
      Array.from(pixels[7], (b) => Math.fround(b / 255)),
    );
  }
  const t = await loadCifar10(root, 'test');
  assert.equal(Array.from(t.labels), [3, 1, 4]);
  assert.is(t.images[2 * 3072 + 1024 + 33], Math.fround(testPixels[2][1024 + 33] / 255));
});

test('CIFAR-10: class names from batches.meta.txt when present', async () => {
  const root = tempDir();
  const { dir } = writeCifar10(root);
  const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
  put(dir, 'batches.meta.txt', names.join('\n') + '\n\n');
  assert.equal((await loadCifar10(root, 'test')).classNames, names);
});

test('CIFAR-10: truncated, corrupt-label, empty and missing batches name the file', async () => {
  const root = tempDir();
  const { dir } = writeCifar10(root);
  const r = cifarRecords([[1], [2]]);
  put(dir, 'data_batch_3.bin', r.bytes.subarray(0, 3073 + 1000));
  await rejects(() => loadCifar10(root, 'train'), /^data_batch_3\.bin: 4073 bytes is not a whole number of 3073-byte CIFAR-10 records .*1 records and 1000 bytes left over; the file is truncated/);
  // Cut on a record boundary: whole records, fewer than its siblings'.
  put(dir, 'data_batch_3.bin', r.bytes.subarray(0, 3073));
  await rejects(() => loadCifar10(root, 'train'), /^data_batch_3\.bin: 1 records, the other data batches 2; the file is truncated/);
  put(dir, 'data_batch_3.bin', cifarRecords([[1], [10]]).bytes);
  await rejects(() => loadCifar10(root, 'train'), /^data_batch_3\.bin: record 1 has label 10, outside 0\.\.9; the file is corrupt or not CIFAR-10$/);
  put(dir, 'test_batch.bin', new Uint8Array(0));
  await rejects(() => loadCifar10(root, 'test'), /test_batch\.bin: empty file/);
  const other = tempDir();
  put(other, 'cifar-10-batches-bin/data_batch_1.bin', r.bytes);
  put(other, 'cifar-10-batches-bin/test_batch.bin', r.bytes);
  await rejects(() => loadCifar10(other, 'train'), /no data_batch_2\.bin \(or \.gz\) found; expected the CIFAR-10 binary version/);
  await rejects(() => loadCifar10(join(other, 'missing'), 'test'), /missing: no such file/);
});

test('CIFAR-100: fine labels with coarse ones alongside, names from the label files', async () => {
  const root = tempDir();
  const dir = join(root, 'cifar-100-binary');
  const train = cifarRecords(
    [
      [0, 99],
      [19, 3],
      [7, 42],
    ],
    1,
  );
  put(dir, 'train.bin', train.bytes);
  put(dir, 'test.bin', cifarRecords([[1, 2]], 2).bytes);
  put(dir, 'fine_label_names.txt', Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n'));
  put(dir, 'coarse_label_names.txt', Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\r\n'));
  const ds = await loadCifar100(root, 'train');
  assert.equal(Array.from(ds.labels), [99, 3, 42]);
  assert.equal(Array.from(ds.coarseLabels), [0, 19, 7]);
  assert.is(ds.classNames?.[42], 'fine42');
  assert.is(ds.coarseClassNames?.[19], 'coarse19');
  assert.equal(
    Array.from(ds.images.subarray(3072, 3072 + 5)),
    Array.from(train.pixels[1].subarray(0, 5), (b) => Math.fround(b / 255)),
  );
  assert.is((await loadCifar100(dir, 'test')).n, 1);
});

test('CIFAR-100: a coarse label past 19, a fine label past 99 and a short file are errors', async () => {
  const root = tempDir();
  put(root, 'train.bin', cifarRecords([[20, 1]]).bytes);
  put(root, 'test.bin', cifarRecords([[2, 100]]).bytes);
  await rejects(() => loadCifar100(root, 'train'), /train\.bin: record 0 has label 20, outside 0\.\.19/);
  await rejects(() => loadCifar100(root, 'test'), /test\.bin: record 0 has label 100, outside 0\.\.99/);
  put(
    root,
    'test.bin',
    cifarRecords([
      [2, 1],
      [3, 4],
    ]).bytes.subarray(0, 3074 + 3073),
  );
  await rejects(() => loadCifar100(root, 'test'), /test\.bin: 6147 bytes is not a whole number of 3074-byte CIFAR-100 records \(2 label bytes/);
});

test.run();
