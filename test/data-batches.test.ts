// Batch iterator: seeded epoch permutations, coverage, drop-last, resuming mid-epoch, and that
// the next batch is gathered while the consumer awaits (prefetch).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { batches, batchesPerEpoch, epochOrder, type Batch, type BatchOptions } from '../src/data/batches.js';
import type { Dataset } from '../src/data/dataset.js';

/** n images of 2x1x3 whose values encode their index, label = index mod 4. */
function indexDataset(n: number): Dataset {
  const images = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) for (let k = 0; k < 6; k++) images[i * 6 + k] = i + k / 10;
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 4), n, channels: 2, height: 1, width: 3 };
}

async function collect(ds: Dataset, opts: BatchOptions): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of batches(ds, opts)) out.push(b);
  return out;
}

test('epochOrder: a permutation fixed by (seed, epoch), different across epochs and seeds', () => {
  const a = epochOrder(1000, 7, 3);
  assert.equal(
    Array.from(a).sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.equal(a, epochOrder(1000, 7, 3));
  for (const other of [epochOrder(1000, 7, 4), epochOrder(1000, 8, 3)]) {
    const same = a.filter((v, i) => v === other[i]).length;
    assert.ok(same < 20, `${same} of 1000 positions agree`);
  }
  assert.equal(Array.from(epochOrder(1, 0, 0)), [0]);
  assert.equal(epochOrder(0, 0, 0).length, 0);
});

test('one epoch covers every sample once; arrays hold the gathered samples', async () => {
  const ds = indexDataset(23);
  const got = await collect(ds, { batchSize: 5, seed: 11, epoch: 2 });
  assert.equal(
    got.map((b) => b.size),
    [5, 5, 5, 5, 3],
  );
  assert.equal(
    got.map((b) => b.index),
    [0, 1, 2, 3, 4],
  );
  const seen = got.flatMap((b) => Array.from(b.indices));
  assert.equal(seen, Array.from(epochOrder(23, 11, 2)));
  for (const b of got) {
    b.indices.forEach((j, i) => {
      assert.is(b.labels[i], j % 4);
      assert.equal(Array.from(b.images.subarray(i * 6, i * 6 + 6)), Array.from(ds.images.subarray(j * 6, j * 6 + 6)));
    });
    assert.is(b.images.length, b.size * 6);
    assert.is(b.epoch, 2);
  }
});

test('drop-last, no shuffle, and counts', async () => {
  const ds = indexDataset(23);
  const dropped = await collect(ds, { batchSize: 5, dropLast: true });
  assert.equal(
    dropped.map((b) => b.size),
    [5, 5, 5, 5],
  );
  assert.is(batchesPerEpoch(23, 5, true), 4);
  assert.is(batchesPerEpoch(23, 5, false), 5);
  const ordered = await collect(ds, { batchSize: 10, shuffle: false });
  assert.equal(
    ordered.flatMap((b) => Array.from(b.indices)),
    Array.from({ length: 23 }, (_, i) => i),
  );
  const exact = await collect(indexDataset(10), { batchSize: 5, dropLast: true });
  assert.is(exact.length, 2);
});

test('resuming at startBatch gives the tail of the uninterrupted epoch; prefetch depth does not change batches', async () => {
  const ds = indexDataset(40);
  const full = await collect(ds, { batchSize: 6, seed: 5, epoch: 1 });
  const tail = await collect(ds, { batchSize: 6, seed: 5, epoch: 1, startBatch: 4 });
  assert.equal(
    tail.map((b) => Array.from(b.indices)),
    full.slice(4).map((b) => Array.from(b.indices)),
  );
  assert.equal(
    tail.map((b) => b.index),
    [4, 5, 6],
  );
  for (const prefetch of [0, 3]) {
    const other = await collect(ds, { batchSize: 6, seed: 5, epoch: 1, prefetch });
    assert.equal(
      other.map((b) => Array.from(b.images)),
      full.map((b) => Array.from(b.images)),
    );
  }
  assert.is((await collect(ds, { batchSize: 6, startBatch: 7 })).length, 0);
});

test('the next batch is gathered while the consumer awaits its step', async () => {
  // Count label reads: gathering a batch reads each of its labels once.
  let reads = 0;
  const ds = indexDataset(12);
  ds.labels = new Proxy(ds.labels, {
    get(target, key) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  for (const [prefetch, expected] of [
    [1, 4],
    [0, 0],
  ] as const) {
    const it = batches(ds, { batchSize: 4, prefetch });
    await it.next();
    const before = reads;
    await new Promise((r) => setTimeout(r, 5)); // stands in for a GPU step
    assert.is(reads - before, expected, `prefetch ${prefetch}: labels read during the step`);
    await it.return(undefined);
  }
});

test('invalid options are clear errors', async () => {
  const ds = indexDataset(3);
  await collect(ds, { batchSize: 0 }).then(
    () => assert.unreachable('batchSize 0 accepted'),
    (e: Error) => assert.match(e.message, /batchSize 0 must be a positive integer/),
  );
  await collect(ds, { batchSize: 4, dropLast: true }).then(
    () => assert.unreachable('no full batch accepted'),
    (e: Error) => assert.match(e.message, /3 samples make no full batch of 4 with dropLast/),
  );
  await collect(ds, { batchSize: 2, startBatch: 3 }).then(
    () => assert.unreachable('startBatch past the end accepted'),
    (e: Error) => assert.match(e.message, /startBatch 3 is outside 0\.\.2/),
  );
});

test.run();
