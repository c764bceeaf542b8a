import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { tensor } from '../src/creation.js';
import { scope } from '../src/scope.js';
import type { Rng } from '../src/random.js';
import { read, seeded, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { mapRows, rowLogsumexp } from './axis-ref.js';

const test = suite('softmax');
test.before(setupGpu);

const SHAPES: number[][] = [[1], [7], [3, 65], [127, 3], [1, 7, 3], [2, 3, 1, 5]];

const refSoftmax = (row: Float64Array) => {
  const lse = rowLogsumexp(row);
  return row.map((v) => Math.exp(v - lse));
};
const refLogSoftmax = (row: Float64Array) => {
  const lse = rowLogsumexp(row);
  return row.map((v) => v - lse);
};

/**
 * rows x cols logits around `offset`, each row starting 100 below the rest: a kernel that shifts
 * by the first element instead of the maximum overflows exp() there.
 */
function farLogits(rng: Rng, rows: number, cols: number, offset: number): Float64Array {
  // The spread around the offset stays small: a row whose largest logit leads by ~16 or more is
  // nearly one-hot, and its gradient, y * (g - sum g y), is then a difference of nearly equal
  // float32 numbers far below the rounding of g (any float32 softmax's, PyTorch's too); that
  // conditioning, not the offset, would decide the relative error (seen at seed 1180042808).
  return Float64Array.from({ length: rows * cols }, (_, i) => offset + (i % cols === 0 ? -100 : rng.uniform(-5, 5)));
}

const family: [string, (x: ops.Tensor, axis: number) => ops.Tensor, (row: Float64Array) => Float64Array][] = [
  ['softmax', ops.softmax, refSoftmax],
  ['logSoftmax', ops.logSoftmax, refLogSoftmax],
];

for (const [name, run, f] of family) {
  test(`${name} over every axis (negative axes too), forward and backward`, async () => {
    for (const shape of SHAPES) {
      for (let a = 0; a < shape.length; a++) {
        for (const axis of [a, a - shape.length]) {
          await checkOp({
            name: `${name} ${JSON.stringify(shape)} axis ${axis}`,
            inputs: [{ shape, lo: -3, hi: 3 }],
            run: (x) => run(x, axis),
            ref: (x) => mapRows([{ data: x, shape }], axis, (rows) => f(rows[0])),
          });
        }
      }
    }
  });

  test(`${name} is stable for logits far from 0`, async () => {
    // Offsets that overflow (or underflow) exp() without the max shift.
    for (const offset of [500, -500, 88]) {
      await checkOp({
        name: `${name} offset ${offset}`,
        inputs: [{ shape: [3, 7], make: (rng) => farLogits(rng, 3, 7, offset) }],
        run: (x) => run(x, -1),
        ref: (x) => mapRows([{ data: x, shape: [3, 7] }], -1, (rows) => f(rows[0])),
      });
    }
  });
}

test('softmax defaults to the last axis and rows sum to 1', async () => {
  await scope(async () => {
    const { rng } = seeded();
    const x = upload(
      Array.from({ length: 12 }, () => rng.uniform(-5, 5)),
      [3, 4],
    );
    const s = await read(ops.softmax(x));
    for (let r = 0; r < 3; r++) assert.ok(Math.abs(s[4 * r] + s[4 * r + 1] + s[4 * r + 2] + s[4 * r + 3] - 1) < 1e-6);
  });
});

/** Labels in [0, c) for n rows. */
function randomLabels(rng: Rng, n: number, c: number): number[] {
  return Array.from({ length: n }, () => rng.int(c));
}

function refCrossEntropyRows(x: Float64Array, labels: number[], c: number): Float64Array {
  return mapRows([{ data: x, shape: [labels.length, c] }], 1, (rows) => [rowLogsumexp(rows[0])]).map((lse, i) => lse - x[i * c + labels[i]]);
}

const CE_SHAPES: [number, number][] = [
  [1, 1],
  [1, 7],
  [7, 3],
  [65, 10],
  [3, 127],
  [5, 2],
];
const reductions: [ops.CrossEntropyReduction, (rows: Float64Array) => Float64Array][] = [
  ['mean', (r) => Float64Array.of(r.reduce((s, v) => s + v, 0) / r.length)],
  ['sum', (r) => Float64Array.of(r.reduce((s, v) => s + v, 0))],
  ['none', (r) => r],
];

for (const [reduction, reduce] of reductions) {
  test(`crossEntropy (${reduction}) forward and backward`, async () => {
    for (const [n, c] of CE_SHAPES) {
      const { rng } = seeded();
      const labels = randomLabels(rng, n, c);
      await checkOp({
        name: `crossEntropy ${reduction} [${n}, ${c}]`,
        inputs: [{ shape: [n, c], lo: -4, hi: 4 }],
        run: (x) => {
          const out = ops.crossEntropy(x, tensor(labels, [n], { dtype: 'int32' }), reduction);
          assert.equal(out.shape, reduction === 'none' ? [n] : []);
          return out;
        },
        ref: (x) => reduce(refCrossEntropyRows(x, labels, c)),
      });
    }
  });
}

test('crossEntropy is stable for large logits', async () => {
  const labels = [0, 3, 5];
  await checkOp({
    name: 'crossEntropy large logits',
    inputs: [{ shape: [3, 6], make: (rng) => farLogits(rng, 3, 6, 300) }],
    run: (x) => ops.crossEntropy(x, tensor(labels, [3], { dtype: 'int32' })),
    ref: (x) => {
      const r = refCrossEntropyRows(x, labels, 6);
      return Float64Array.of((r[0] + r[1] + r[2]) / 3);
    },
  });
});

test('crossEntropy: an out-of-range label gives NaN for its row only, without reading out of bounds', async () => {
  await scope(async () => {
    const x = upload([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3], true);
    const labels = tensor([2, 3, -1], [3], { dtype: 'int32' });
    const perRow = await ops.crossEntropy(x, labels, 'none').data();
    assert.ok(Number.isFinite(perRow[0]));
    assert.ok(Number.isNaN(perRow[1]) && Number.isNaN(perRow[2]), `rows with labels 3 and -1: ${perRow}`);
    const loss = ops.crossEntropy(x, labels);
    assert.ok(Number.isNaN(await loss.item()));
    ops.backward(loss);
    const g = await x.grad!.data();
    assert.ok(g.slice(0, 3).every(Number.isFinite) && g.slice(3).every(Number.isNaN), `gradient: ${g}`);
  });
});

test('crossEntropy: bad shapes and dtypes are clear errors', () => {
  scope(() => {
    const x = ops.zeros([4, 3]);
    const ints = (v: number[], shape: number[]) => tensor(v, shape, { dtype: 'int32' });
    assert.throws(() => ops.crossEntropy(x, ints([0, 1, 2], [3])), /crossEntropy: labels of shape \[3\] do not match logits \[4, 3\]; expected \[4\]/);
    assert.throws(() => ops.crossEntropy(x, ints([0, 1, 2, 0], [2, 2])), /labels of shape \[2, 2\] do not match/);
    assert.throws(() => ops.crossEntropy(x, tensor([0, 1, 2, 0], [4])), /crossEntropy: labels must be an int32 tensor, got float32/);
    assert.throws(() => ops.crossEntropy(ops.zeros([4]), ints([0], [1])), /crossEntropy: logits must be \[N, C\], got shape \[4\]/);
    assert.throws(() => ops.crossEntropy(x, ints([0, 1, 2, 0], [4]), 'avg' as ops.CrossEntropyReduction), /reduction must be/);
    assert.throws(() => ops.softmax(x, 2), /softmax: axis 2 is out of range for a tensor of rank 2/);
    assert.throws(() => ops.logSoftmax(x, -3), /logSoftmax: axis -3 is out of range/);
  });
});

test.run();
