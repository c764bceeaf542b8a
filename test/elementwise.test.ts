import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import type { Rng } from '../src/random.js';

const test = suite('elementwise');
test.before(setupGpu);

const SHAPES: number[][] = [[1], [7], [3, 65], [2, 3, 127], [1, 1, 5]];
const map = (f: (v: number) => number) => (x: Float64Array) => x.map(f);
const zip = (f: (u: number, v: number) => number, aShape: number[], bShape: number[]) => (a: Float64Array, b: Float64Array) => {
  const n = Math.max(a.length, b.length);
  void aShape;
  void bShape;
  return Float64Array.from({ length: n }, (_, i) => f(a[i % a.length], b[i % b.length]));
};

const unary: [string, (t: ops.Tensor) => ops.Tensor, (v: number) => number, number, number][] = [
  ['neg', ops.neg, (v) => -v, -2, 2],
  ['exp', ops.exp, Math.exp, -2, 2],
  ['log', ops.log, Math.log, 0.2, 3],
  ['relu', ops.relu, (v) => Math.max(v, 0), -2, 2],
  ['sqrt', ops.sqrt, Math.sqrt, 0.2, 3],
  ['square', ops.square, (v) => v * v, -2, 2],
  ['addScalar', (t) => ops.addScalar(t, 0.75), (v) => v + 0.75, -2, 2],
  ['mulScalar', (t) => ops.mulScalar(t, -1.5), (v) => v * -1.5, -2, 2],
  ['rsubScalar', (t) => ops.rsubScalar(t, 2), (v) => 2 - v, -2, 2],
  ['rdivScalar', (t) => ops.rdivScalar(t, 3), (v) => 3 / v, 0.5, 2],
];

for (const [name, run, f, lo, hi] of unary) {
  test(`${name} forward and backward on awkward shapes`, async () => {
    for (const shape of SHAPES) {
      // relu's kink: keep inputs at least 1e-2 away from 0 so the finite difference is well defined.
      const awayFromZero = (rng: Rng, n: number) => Float64Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1) * (0.01 + rng.uniform() * (hi - 0.01)));
      const make = name === 'relu' ? awayFromZero : undefined;
      await checkOp({ name: `${name} ${JSON.stringify(shape)}`, inputs: [{ shape, lo, hi, make }], run, ref: map(f) });
    }
  });
}

test("relu at 0 and -0 passes no gradient (PyTorch's choice at the kink), and a tiny positive passes it", async () => {
  const x = upload([0, -0, 1e-30, -1e-30, 2], [5], true);
  const y = ops.relu(x);
  ops.backward(ops.sumAll(ops.mulScalar(y, 3)));
  assert.equal(Array.from(await x.grad!.data()), [0, 0, 3, 0, 3]);
  assert.equal(Array.from(await y.data()), [0, 0, 1e-30, 0, 2].map(Math.fround));
});

const binary: [string, (a: ops.Tensor, b: ops.Tensor) => ops.Tensor, (u: number, v: number) => number][] = [
  ['add', ops.add, (u, v) => u + v],
  ['sub', ops.sub, (u, v) => u - v],
  ['mul', ops.mul, (u, v) => u * v],
  ['div', ops.div, (u, v) => u / v],
];

const PAIRS: [number[], number[]][] = [
  [[7], [7]],
  [
    [3, 65],
    [3, 65],
  ],
  [[2, 3, 5], [5]],
  [[5], [4, 5]],
  [
    [2, 3, 5],
    [1, 3, 5],
  ],
  [[1], [1]],
  [[4, 3], [1]],
  // The smaller operand has the larger rank: the result is [1, 2, 3], as PyTorch's.
  [
    [2, 3],
    [1, 1, 3],
  ],
  [
    [1, 1, 3],
    [2, 3],
  ],
];

for (const [name, run, f] of binary) {
  test(`${name} with broadcasting over leading dims`, async () => {
    for (const [a, b] of PAIRS) {
      const positive = name === 'div';
      await checkOp({
        name: `${name} ${JSON.stringify(a)} ${JSON.stringify(b)}`,
        inputs: [{ shape: a }, { shape: b, lo: positive ? 0.5 : -1, hi: positive ? 2 : 1 }],
        run,
        ref: zip(f, a, b),
      });
    }
  });
}

test("a broadcast result has the larger rank and the larger sizes, as PyTorch's", () => {
  const shape = (a: number[], b: number[]) => [...ops.add(upload(new Float32Array(a.reduce((p, d) => p * d, 1)), a), upload(new Float32Array(b.reduce((p, d) => p * d, 1)), b)).shape];
  assert.equal(shape([2, 3], [1, 1, 3]), [1, 2, 3]);
  assert.equal(shape([1, 1, 3], [2, 3]), [1, 2, 3]);
  assert.equal(shape([1, 3], [2, 1, 3]), [2, 1, 3]);
  assert.equal(shape([0, 3], [3]), [0, 3]);
});

test('broadcasting that is not over leading dims is a clear error', async () => {
  const a = upload([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = upload([1, 2], [2, 1]);
  assert.throws(() => ops.add(a, b), /shape mismatch.*\[2, 3\].*\[2, 1\]/);
  a.dispose();
  b.dispose();
});

test('gradient accumulates over two backward calls and through shared inputs', async () => {
  const x = upload([1, -2, 3], [3], true);
  for (let k = 0; k < 2; k++) {
    const y = ops.mul(x, x); // dy/dx = 2x, x used twice in one op
    const loss = ops.sumAll(ops.add(y, x)); // + x: a second path to x
    ops.backward(loss);
  }
  assert.equal(Array.from(await x.grad!.data()), [2 * (2 * 1 + 1), 2 * (2 * -2 + 1), 2 * (2 * 3 + 1)]);
});

test('noGrad records nothing', () => {
  const x = upload([1, 2], [2], true);
  const y = ops.noGrad(() => ops.mul(x, x));
  assert.is(y.requiresGrad, false);
  assert.is(y.node, null);
});

test.run();
