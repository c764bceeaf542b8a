import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { tensor } from '../src/creation.js';
import { scope } from '../src/scope.js';
import { gpu } from '../runtime/gpu.js';
import { Tensor, sizeOf, type Shape } from '../src/tensor.js';
import { read, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { mapRows, resizeAxis } from './axis-ref.js';

const test = suite('shape');
test.before(setupGpu);

/** Reference permute: out[c] = x[c permuted back], by explicit coordinates. */
function refPermute(x: Float64Array, shape: Shape, perm: number[]): Float64Array {
  const rank = shape.length;
  const p = perm.map((a) => (a < 0 ? a + rank : a));
  const outShape = p.map((a) => shape[a]);
  const inStride = shape.map((_, d) => sizeOf(shape.slice(d + 1)));
  const out = new Float64Array(x.length);
  for (let i = 0; i < out.length; i++) {
    let rest = i;
    let src = 0;
    for (let d = rank - 1; d >= 0; d--) {
      src += (rest % outShape[d]) * inStride[p[d]];
      rest = Math.floor(rest / outShape[d]);
    }
    out[i] = x[src];
  }
  return out;
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((q) => Array.from({ length: n }, (_, i) => [...q.slice(0, i), n - 1, ...q.slice(i)]));
}

test('permute: every permutation of rank 1 to 4 on awkward shapes, forward and backward', async () => {
  const shapes = [[7], [3, 65], [7, 1, 3], [2, 3, 1, 5]];
  for (const shape of shapes) {
    for (const perm of permutations(shape.length)) {
      await checkOp({
        name: `permute ${JSON.stringify(shape)} [${perm}]`,
        inputs: [{ shape }],
        run: (x) => {
          const out = ops.permute(x, perm);
          assert.equal(
            out.shape,
            perm.map((a) => shape[a]),
          );
          return out;
        },
        ref: (x) => refPermute(x, shape, perm),
      });
    }
  }
});

test('permute: ranks 6 and 8 and negative axes', async () => {
  const cases: [number[], number[]][] = [
    [
      [2, 3, 1, 2, 3, 2],
      [5, 0, 3, 1, 4, 2],
    ],
    [
      [2, 3, 1, 2, 3, 2],
      [-1, -3, 0, 2, -5, -2],
    ],
    [
      [2, 1, 3, 2, 1, 2, 3, 2],
      [7, 6, 5, 4, 3, 2, 1, 0],
    ],
  ];
  for (const [shape, perm] of cases) {
    await checkOp({ name: `permute ${JSON.stringify(shape)} [${perm}]`, inputs: [{ shape }], run: (x) => ops.permute(x, perm), ref: (x) => refPermute(x, shape, perm) });
  }
});

test('permute that only moves size-1 dimensions is a view', async () => {
  await scope(async () => {
    const x = upload([1, 2, 3, 4, 5, 6], [2, 1, 3]);
    const y = ops.permute(x, [1, 0, 2]);
    assert.equal(y.shape, [1, 2, 3]);
    assert.is(y.buffer, x.buffer);
    assert.equal(Array.from(await y.data()), [1, 2, 3, 4, 5, 6]);
  });
});

test('transpose swaps two axes (negative ones too)', async () => {
  const cases: [number[], number, number][] = [
    [[3, 65], 0, 1],
    [[2, 7, 3], -1, 0],
    [[2, 7, 3], 1, -1],
    [[4, 5], 1, 1],
  ];
  for (const [shape, a, b] of cases) {
    const perm = shape.map((_, i) => i);
    const [na, nb] = [a < 0 ? a + shape.length : a, b < 0 ? b + shape.length : b];
    [perm[na], perm[nb]] = [perm[nb], perm[na]];
    await checkOp({ name: `transpose ${JSON.stringify(shape)} ${a} ${b}`, inputs: [{ shape }], run: (x) => ops.transpose(x, a, b), ref: (x) => refPermute(x, shape, perm) });
  }
});

test('slice along every axis, negative bounds, empty and full ranges', async () => {
  const cases: [number[], number, number, number?][] = [
    [[7], 0, 2, 5],
    [[7], -1, -3],
    [[3, 65], 1, 1, 64],
    [[3, 65], 0, 2, 3],
    [[2, 7, 3], 1, 0, 7],
    [[2, 7, 3], -2, 3, 4],
    [[2, 7, 3], 2, 1, -1],
    [[2, 3, 1, 5], 3, 4, 5],
    [[2, 3, 1, 5], 1, 2, 2],
  ];
  for (const [shape, axis, start, end] of cases) {
    const a = axis < 0 ? axis + shape.length : axis;
    const len = shape[a];
    const s = start < 0 ? start + len : start;
    const e = end === undefined ? len : end < 0 ? end + len : end;
    await checkOp({
      name: `slice ${JSON.stringify(shape)} axis ${axis} [${start}, ${end})`,
      inputs: [{ shape }],
      run: (x) => {
        const out = ops.slice(x, axis, start, end);
        assert.equal(out.shape, resizeAxis(shape, axis, e - s));
        return out;
      },
      ref: (x) => mapRows([{ data: x, shape }], axis, (rows) => rows[0].slice(s, e)),
    });
  }
});

test('concat along every axis, with gradients for every input', async () => {
  const cases: [number[][], number][] = [
    [[[3], [7], [1]], 0],
    [
      [
        [3, 5],
        [1, 5],
      ],
      0,
    ],
    [
      [
        [3, 5],
        [3, 1],
        [3, 7],
      ],
      1,
    ],
    [
      [
        [2, 1, 3],
        [2, 7, 3],
        [2, 3, 3],
      ],
      -2,
    ],
    [
      [
        [2, 3, 1],
        [2, 3, 5],
      ],
      -1,
    ],
    [[[1, 3, 2]], 0],
  ];
  for (const [shapes, axis] of cases) {
    await checkOp({
      name: `concat ${JSON.stringify(shapes)} axis ${axis}`,
      inputs: shapes.map((shape) => ({ shape })),
      run: (...xs) => ops.concat(xs, axis),
      ref: (...xs) =>
        mapRows(
          xs.map((data, i) => ({ data, shape: shapes[i] })),
          axis,
          (rows) => rows.flatMap((r) => Array.from(r)),
        ),
    });
  }
  // Only the inputs that need a gradient get one.
  await scope(async () => {
    const a = upload([1, 2], [2], true);
    const b = upload([3], [1]);
    ops.backward(ops.sumAll(ops.concat([a, b], 0)));
    assert.equal(Array.from(await a.grad!.data()), [1, 1]);
    assert.is(b.grad, null);
  });
  // The graph keeps its own list of inputs: the caller may reuse its array.
  await scope(async () => {
    const a = upload([1, 2], [2], true);
    const b = upload([3], [1], true);
    const parts = [a, b];
    const joined = ops.concat(parts, 0);
    parts.length = 0;
    ops.backward(ops.sumAll(ops.mul(joined, upload([1, 2, 3], [3]))));
    assert.equal(Array.from(await a.grad!.data()), [1, 2]);
    assert.equal(Array.from(await b.grad!.data()), [3]);
  });
});

test('indexSelect along every axis with repeated indices; gradients accumulate', async () => {
  const cases: [number[], number, number[]][] = [
    [[7], 0, [2, 0, 2, 2, 6]],
    [[3, 65], 1, [64, 0, 64, 3, 3, 10, 64]],
    [[3, 65], 0, [1]],
    [[5, 1, 3], -3, [4, 4, 4, 4, 0, 1, 4]],
    [[2, 7, 3], 1, [6, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0]],
    [[2, 3, 1, 5], -1, [0, 0]],
    [[4, 3], 0, []],
  ];
  for (const [shape, axis, index] of cases) {
    await checkOp({
      name: `indexSelect ${JSON.stringify(shape)} axis ${axis} [${index}]`,
      inputs: [{ shape }],
      run: (x) => {
        const out = ops.indexSelect(x, axis, tensor(index, [index.length], { dtype: 'int32' }));
        assert.equal(out.shape, resizeAxis(shape, axis, index.length));
        return out;
      },
      ref: (x) => mapRows([{ data: x, shape }], axis, (rows) => index.map((j) => rows[0][j])),
    });
  }
});

test('indexSelect: out-of-range indices give NaN (float32) or -1 (int32) and no gradient', async () => {
  await scope(async () => {
    const x = upload([1, 2, 3, 4, 5, 6], [3, 2], true);
    const idx = tensor([2, 3, -1, 0], [4], { dtype: 'int32' });
    const y = ops.indexSelect(x, 0, idx);
    const got = Array.from(await y.data());
    assert.equal(got.slice(0, 2), [5, 6]);
    assert.ok(got.slice(2, 6).every(Number.isNaN), `rows for 3 and -1: ${got}`);
    assert.equal(got.slice(6), [1, 2]);
    ops.backward(y, ops.ones([4, 2]));
    assert.equal(Array.from(await x.grad!.data()), [1, 1, 0, 0, 1, 1]);
    const ints = tensor([10, 20, 30], [3], { dtype: 'int32' });
    assert.equal(Array.from(await ops.indexSelect(ints, 0, idx).data()), [30, -1, -1, 10]);
  });
});

test('int32 tensors pass through every shape op bit-exactly', async () => {
  await scope(async () => {
    // Words that would be NaN, a denormal or -0 if read as float32.
    const words = [0x7fc00001, 1, -2147483648, -1, 2147483647, 0x7f800001];
    const x = tensor(words, [2, 3], { dtype: 'int32' });
    const check = async (t: ops.Tensor, want: number[]) => {
      assert.is(t.dtype, 'int32');
      assert.equal(Array.from(await t.data()), want);
    };
    await check(ops.transpose(x, 0, 1), [words[0], words[3], words[1], words[4], words[2], words[5]]);
    await check(ops.slice(x, 1, 1, 3), [words[1], words[2], words[4], words[5]]);
    await check(ops.concat([x, x], 0), [...words, ...words]);
    await check(ops.indexSelect(x, 1, tensor([2, 0], [2], { dtype: 'int32' })), [words[2], words[0], words[5], words[3]]);
  });
});

test('bad axes, permutations, ranges and inputs are clear errors', () => {
  scope(() => {
    const x = ops.zeros([2, 3, 4]);
    const ints = (v: number[], shape: number[]) => tensor(v, shape, { dtype: 'int32' });
    assert.throws(() => ops.permute(x, [0, 1]), /permute: permutation \[0, 1\] has 2 entries for a tensor of rank 3/);
    assert.throws(() => ops.permute(x, [0, 1, 1]), /permute: \[0, 1, 1\] repeats an axis/);
    assert.throws(() => ops.permute(x, [0, -1, 2]), /permute: \[0, -1, 2\] repeats an axis/);
    assert.throws(() => ops.permute(x, [0, 1, 3]), /permute: axis 3 is out of range for a tensor of rank 3/);
    assert.throws(() => ops.permute(ops.zeros([1, 1, 1, 1, 1, 1, 1, 1, 2]), [8, 0, 1, 2, 3, 4, 5, 6, 7]), /permute: rank 9 exceeds the supported 8/);
    assert.throws(() => ops.transpose(x, 0, 3), /transpose: axis 3 is out of range/);
    assert.throws(() => ops.slice(x, 1, 2, 1), /slice: range \[2, 1\) is out of bounds for axis 1 of length 3/);
    assert.throws(() => ops.slice(x, 2, 0, 5), /slice: range \[0, 5\) is out of bounds for axis 2 of length 4/);
    assert.throws(() => ops.slice(x, 0, -3), /slice: range \[-3, 2\) is out of bounds/);
    assert.throws(() => ops.slice(x, 3, 0, 1), /slice: axis 3 is out of range/);
    assert.throws(() => ops.concat([], 0), /concat: needs at least one tensor/);
    assert.throws(() => ops.concat([x, ops.zeros([2, 3, 5])], 1), /concat: tensor 1 has shape \[2, 3, 5\], incompatible with tensor 0's \[2, 3, 4\] along axis 1/);
    assert.throws(() => ops.concat([x, ops.zeros([2, 3])], 0), /concat: tensor 1 has shape \[2, 3\]/);
    assert.throws(() => ops.concat([ints([1], [1]), ops.zeros([1])], 0), /concat: tensor 1 is float32, tensor 0 is int32/);
    assert.throws(() => ops.concat([x], -4), /concat: axis -4 is out of range/);
    assert.throws(() => ops.indexSelect(x, 0, tensor([0], [1])), /indexSelect: indices must be an int32 tensor, got float32/);
    assert.throws(() => ops.indexSelect(x, 0, ints([0, 1], [1, 2])), /indexSelect: indices must be 1-D, got shape \[1, 2\]/);
    assert.throws(() => ops.indexSelect(x, 3, ints([0], [1])), /indexSelect: axis 3 is out of range/);
  });
});

test('reshape is a view and checks sizes', async () => {
  await scope(async () => {
    const x = upload([1, 2, 3, 4, 5, 6], [2, 3], true);
    const y = ops.reshape(x, [3, -1]);
    assert.equal(y.shape, [3, 2]);
    assert.is(y.buffer, x.buffer);
    assert.throws(() => ops.reshape(x, [4, -1]), /reshape: cannot reshape \[2, 3\] to \[4, -1\]/);
    assert.throws(() => ops.reshape(x, [-1, -1]), /reshape: at most one -1/);
    ops.backward(ops.sumAll(ops.mul(y, y)));
    assert.equal(Array.from(await read(x.grad!)), [2, 4, 6, 8, 10, 12]);
  });
});

test('a refused shape or a failed upload takes no buffer with it (no scope open to free it)', () => {
  const x = upload([1, 2, 3, 4, 5, 6], [6]);
  const live = () => gpu().memory().buffersLive;
  const before = live();
  assert.throws(() => ops.reshape(x, [1.5, 4]), /reshape: invalid shape \[1\.5, 4\]: dimensions must be non-negative integers/);
  assert.throws(() => ops.reshape(x, [-2, -3]), /reshape: invalid shape \[-2, -3\]/);
  assert.throws(() => Tensor.empty([2.5, 2]), /invalid shape \[2\.5, 2\]/);
  const g = gpu();
  const write = g.write;
  g.write = () => {
    throw new Error('an earlier kernel failed');
  };
  try {
    assert.throws(() => tensor([1, 2], [2]), /an earlier kernel failed/);
  } finally {
    g.write = write;
  }
  assert.is(live(), before);
  x.dispose();
  assert.is(live(), before - 1, "x's buffer went back: no reshape kept a reference to it");
});

test.run();
