import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { normAxis, splitAt } from '../src/ops/launch.js';
import * as ops from '../src/ops/index.js';
import { gpu } from '../runtime/gpu.js';
import { tensor } from '../src/creation.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, assertClose, distinct, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { mapRows, resizeAxis, rowArgmax, rowLogsumexp, rowMax, rowSum } from './axis-ref.js';

const test = suite('reduce');
test.before(setupGpu);

const SHAPES: number[][] = [[1], [7], [3, 65], [127, 3], [1, 7, 3], [2, 3, 1, 5]];

type AxisOp = (x: ops.Tensor, axis: number, keepDims: boolean) => ops.Tensor;
const reductions: [string, AxisOp, (row: Float64Array) => number][] = [
  ['sum', ops.sum, rowSum],
  ['mean', ops.mean, (row) => rowSum(row) / row.length],
  ['max', (x, axis, keepDims) => ops.max(x, axis, keepDims).values, rowMax],
  ['logsumexp', ops.logsumexp, rowLogsumexp],
];

/** Every axis of every shape, named both ways (3 and -1), with keepDims on for negative axes. */
function* everyAxis(): Generator<{ shape: number[]; axis: number; keepDims: boolean }> {
  for (const shape of SHAPES) {
    for (let a = 0; a < shape.length; a++) {
      yield { shape, axis: a, keepDims: false };
      yield { shape, axis: a - shape.length, keepDims: true };
    }
  }
}

for (const [name, run, f] of reductions) {
  test(`${name} over every axis (negative axes, keepDims), forward and backward`, async () => {
    for (const { shape, axis, keepDims } of everyAxis()) {
      const want = resizeAxis(shape, axis, keepDims ? 1 : null);
      await checkOp({
        name: `${name} ${JSON.stringify(shape)} axis ${axis} keepDims ${keepDims}`,
        // max's inputs have no near ties: a tie closer than the finite-difference step splits the
        // reference gradient (seed 1607863028: two values 8e-7 apart in a row of [127, 3]).
        inputs: [{ shape, lo: -2, hi: 2, make: name === 'max' ? (rng, n) => distinct(rng, n).map((v) => 2 * v) : undefined }],
        run: (x) => {
          const out = run(x, axis, keepDims);
          assert.equal(out.shape, want, `${name} ${JSON.stringify(shape)} axis ${axis}: output shape`);
          return out;
        },
        ref: (x) => mapRows([{ data: x, shape }], axis, (rows) => [f(rows[0])]),
      });
    }
  });
}

test('max indices are the first argmax on every axis', async () => {
  for (const { shape, axis, keepDims } of everyAxis()) {
    const { rng, seed } = seeded();
    const x = randomArray(
      rng,
      shape.reduce((a, b) => a * b, 1),
    ).map(Math.fround);
    await scope(async () => {
      const { indices } = ops.max(upload(x, shape), axis, keepDims);
      assert.is(indices.dtype, 'int32');
      assert.equal(indices.shape, resizeAxis(shape, axis, keepDims ? 1 : null));
      const want = mapRows([{ data: x, shape }], axis, (rows) => [rowArgmax(rows[0])]);
      assert.equal(Array.from(await indices.data()), Array.from(want), `max indices ${JSON.stringify(shape)} axis ${axis} (seed ${seed})`);
    });
  }
});

test('max with ties: index and gradient go to the first maximum', async () => {
  await scope(async () => {
    // Rows: a tie in the middle, all equal, a tie at the ends, a single maximum last.
    const x = upload([1, 3, 3, 2, 5, 5, 5, 5, -1, -2, -3, -1, 0, 0, 0, 1], [4, 4], true);
    const { values, indices } = ops.max(x, 1);
    assert.equal(Array.from(await values.data()), [3, 5, -1, 1]);
    assert.equal(Array.from(await indices.data()), [1, 0, 0, 3]);
    ops.backward(ops.sumAll(values));
    assert.equal(Array.from(await x.grad!.data()), [0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    // Along axis 0 (strided rows): column 0 ties rows 1 and 2, column 1 rows 0 and 1, column 2 all.
    const y = upload([1, 7, 4, 2, 7, 4, 2, 0, 4], [3, 3], true);
    const m = ops.max(y, 0);
    assert.equal(Array.from(await m.indices.data()), [1, 0, 0]);
    ops.backward(ops.sumAll(m.values));
    assert.equal(Array.from(await y.grad!.data()), [0, 1, 1, 1, 0, 0, 0, 0, 0]);
  });
});

test("max propagates NaN as PyTorch's: the first NaN is the value and the index, wherever it is", async () => {
  await scope(async () => {
    // Rows: NaN first, in the middle (before the largest), last, two NaNs, no NaN, NaN beside +inf.
    const N = NaN;
    const x = upload([N, 1, 9, 2, 1, N, 9, 2, 1, 9, 2, N, 9, N, 1, N, 1, 9, 2, 3, Infinity, N, 1, 2], [6, 4], true);
    const { values, indices } = ops.max(x, 1);
    assert.equal(Array.from(await values.data()), [N, N, N, N, 9, N]);
    assert.equal(Array.from(await indices.data()), [0, 1, 3, 1, 1, 1]);
    ops.backward(ops.sumAll(values));
    const onehot = [0, 1, 3, 1, 1, 1].flatMap((j) => [0, 1, 2, 3].map((k) => Number(k === j)));
    assert.equal(Array.from(await x.grad!.data()), onehot);
    // Along axis 0 (strided): NaN in row 2 of column 0, none in column 1.
    const y = upload([1, 5, 2, 6, N, 7], [3, 2]);
    const m = ops.max(y, 0);
    assert.equal(Array.from(await m.values.data()), [N, 7]);
    assert.equal(Array.from(await m.indices.data()), [2, 2]);
  });
});

test('logsumexp is stable for large and very negative inputs', async () => {
  await scope(async () => {
    const rows = [
      [1000, 1000.5, 999],
      [-1000, -1001, -999.25],
      [88, 89, 90],
    ];
    const x = upload(rows.flat(), [3, 3]);
    const got = await read(ops.logsumexp(x, 1));
    assertClose(
      got,
      rows.map((r) => rowLogsumexp(Float64Array.from(r))),
      FORWARD_TOL,
      'logsumexp of large values',
    );
  });
});

test('logsumexp of rows with infinities follows PyTorch', async () => {
  await scope(async () => {
    const x = upload([-Infinity, -Infinity, -Infinity, -Infinity, Infinity, 2, -Infinity, 0, 1], [3, 3]);
    const got = Array.from(await ops.logsumexp(x, 1).data());
    assert.equal(got.slice(0, 2), [-Infinity, Infinity]);
    assert.ok(Math.abs(got[2] - Math.log(1 + Math.E)) < 1e-6, `finite row with a -inf entry: ${got[2]}`);
  });
});

test('sumAll and meanAll, including long vectors summed in two passes', async () => {
  for (const shape of [[1], [3, 7], [4097], [3, 1700]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    for (const [name, run, scale] of [
      ['sumAll', ops.sumAll, 1],
      ['meanAll', ops.meanAll, 1 / n],
    ] as const) {
      await checkOp({
        name: `${name} ${JSON.stringify(shape)}`,
        inputs: [{ shape }],
        run: (x) => {
          const out = run(x);
          assert.equal(out.shape, []);
          return out;
        },
        ref: (x) => Float64Array.of(rowSum(x) * scale),
      });
    }
  }
  // A long positive vector: naive float32 accumulation drifts, two passes stay within the bar.
  await checkOp({ name: 'sumAll [100003]', inputs: [{ shape: [100003], lo: 0, hi: 1 }], run: ops.sumAll, ref: (x) => Float64Array.of(rowSum(x)), forwardOnly: true });
  await checkOp({ name: 'meanAll [100003]', inputs: [{ shape: [100003], lo: 0, hi: 1 }], run: ops.meanAll, ref: (x) => Float64Array.of(rowSum(x) / x.length), forwardOnly: true });
});

test('long reductions with few outputs take the two-pass path, on any axis', async () => {
  const cases: [number[], number][] = [
    [[4500, 3], 0],
    [[2, 4200, 1], 1],
    [[2, 4100, 3], -2],
  ];
  for (const [shape, axis] of cases) {
    for (const [name, run, scale] of [
      ['sum', ops.sum, 1],
      ['mean', ops.mean, 1 / shape.at(axis)!],
    ] as const) {
      let dispatches = 0;
      await checkOp({
        name: `${name} ${JSON.stringify(shape)} axis ${axis}`,
        inputs: [{ shape }],
        run: (x) => {
          const before = gpu().dispatchCount;
          const y = run(x, axis, false);
          dispatches = gpu().dispatchCount - before;
          return y;
        },
        ref: (x) => mapRows([{ data: x, shape }], axis, (rows) => [rowSum(rows[0]) * scale]),
        forwardOnly: true,
      });
      // Counted inside the op: one pass is the output's poisoning and the sum (2); two passes add
      // the partial sums' poisoning and their kernel (4). (mean's scaling may add one more.)
      assert.ok(dispatches >= 4, `${name} ${JSON.stringify(shape)} should run in two passes: ${dispatches} dispatches`);
    }
  }
  // The backward rule does not depend on the pass count; check it once on a long axis.
  const columnSums = (x: Float64Array) => {
    const s = new Float64Array(2);
    for (let i = 0; i < x.length; i++) s[i % 2] += x[i];
    return s;
  };
  await checkOp({ name: 'sum [4097, 2] axis 0', inputs: [{ shape: [4097, 2] }], run: (x) => ops.sum(x, 0), ref: columnSums });
});

test('bad axes and empty axes are clear errors', () => {
  scope(() => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.throws(() => ops.sum(x, 2), /sum: axis 2 is out of range for a tensor of rank 2/);
    assert.throws(() => ops.mean(x, -3), /mean: axis -3 is out of range/);
    assert.throws(() => ops.max(x, 1.5), /max: axis 1.5 is out of range/);
    assert.throws(() => ops.logsumexp(x, 5), /logsumexp: axis 5/);
    const empty = ops.zeros([2, 0]);
    assert.throws(() => ops.max(empty, 1), /max: cannot reduce an empty axis/);
    const ints = tensor([1, 2], [2], { dtype: 'int32' });
    assert.throws(() => ops.sum(ints, 0), /sum: expected a float32 tensor, got int32/);
  });
});

test("the axis arithmetic every axis op shares (normAxis, splitAt), by hand: the references don't use it", () => {
  assert.equal([normAxis('op', -1, 3), normAxis('op', -3, 3), normAxis('op', 0, 1), normAxis('op', 2, 3)], [2, 0, 0, 2]);
  assert.throws(() => normAxis('sum', 3, 3), /sum: axis 3 is out of range for a tensor of rank 3/);
  assert.throws(() => normAxis('sum', -4, 3), /axis -4 is out of range/);
  assert.throws(() => normAxis('sum', 0.5, 3), /out of range/);
  assert.equal(splitAt([2, 3, 4, 5], 2), [6, 4, 5]);
  assert.equal(splitAt([2, 3, 4, 5], 0), [1, 2, 60]);
  assert.equal(splitAt([7], 0), [1, 7, 1]);
});

test.run();
