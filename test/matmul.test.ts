import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { gpu } from '../runtime/gpu.js';
import type { MatmulVariant } from '../src/ops/matmul.js';
import { scope } from '../src/scope.js';
import { read, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { dispatched } from './dispatched.js';
import { checkEveryTranspose, matmulRef as reference, prod } from './matmul-ref.js';

const test = suite('matmul');
test.before(setupGpu);

const VARIANTS: MatmulVariant[] = ['register', 'tiled'];
const KERNEL_OF: Record<MatmulVariant, string> = { register: 'matmul.register_blocked', tiled: 'matmul.tiled', skinny: 'matmul.skinny', splitk: 'matmul.tiled_splitk', blocked: 'matmul.tiled' };

// Sizes around both variants' tiles (32 and 64 outputs, K steps of 16), K = 1, N = 1. Kept small
// enough for the finite-difference gradient check.
const SMALL: [number, number, number][] = [
  [1, 1, 1],
  [3, 7, 5],
  [7, 1, 3],
  [65, 3, 7],
  [3, 17, 66],
  [33, 5, 1],
];
// Larger, forward only: several tiles in every direction, none a multiple, a long K.
const LARGE: [number, number, number][] = [
  [127, 65, 127],
  [65, 127, 3],
  [1, 127, 65],
  [128, 33, 64],
  [7, 300, 9],
];

// Batched and broadcast products (stored shapes), with gradients; a batch of 1 or a 2-D operand
// is broadcast, and its gradient sums over the batch.
const BATCHED: { a: number[]; b: number[]; transA?: boolean; transB?: boolean }[] = [
  { a: [2, 3, 4], b: [2, 4, 5] },
  { a: [1, 3, 4], b: [3, 4, 5] },
  { a: [3, 7, 5], b: [5, 2] },
  { a: [4, 6], b: [2, 4, 5], transA: true },
  { a: [2, 4, 3], b: [1, 5, 3], transB: true },
  { a: [2, 5, 3], b: [2, 4, 5], transA: true, transB: true },
  { a: [1, 1, 1], b: [1, 1, 1] },
  { a: [3, 70, 5], b: [5, 9] },
  { a: [2, 3, 4, 5], b: [2, 3, 5, 2] },
];

for (const variant of VARIANTS) {
  test(`${variant}: 2-D forward and gradients, every transpose, sizes off the tiles`, () => checkEveryTranspose(variant, SMALL));

  test(`${variant}: larger 2-D forward, every transpose`, () => checkEveryTranspose(variant, LARGE, true));

  test(`${variant}: batched and broadcast forward and gradients`, async () => {
    for (const { a: as, b: bs, transA = false, transB = false } of BATCHED) {
      await checkOp({
        name: `${variant} ${JSON.stringify(as)} x ${JSON.stringify(bs)} transA=${transA} transB=${transB}`,
        inputs: [{ shape: as }, { shape: bs }],
        run: (a, b) => ops.matmul(a, b, { transA, transB, variant }),
        ref: reference(as, bs, transA, transB),
      });
    }
  });

  test(`${variant}: linear with and without bias`, async () => {
    for (const [x, out, withBias] of [
      [[5, 7], 3, true],
      [[1, 70], 66, true],
      [[2, 4, 7], 3, true],
      [[5, 7], 3, false],
    ] as const) {
      const inF = x[x.length - 1];
      const w = [out, inF];
      await checkOp({
        name: `${variant} linear x ${JSON.stringify(x)} weight ${JSON.stringify(w)} bias=${withBias}`,
        inputs: withBias ? [{ shape: x }, { shape: w }, { shape: [out] }] : [{ shape: x }, { shape: w }],
        run: (xt, wt, bt) => ops.linear(xt, wt, bt, { variant }),
        ref: reference([...x], w, false, true),
      });
    }
  });
}

test('output shapes follow the batch rules', () => {
  const shape = (a: number[], b: number[]) => {
    const t = ops.matmul(upload(new Float32Array(prod(a)), a), upload(new Float32Array(prod(b)), b));
    return [...t.shape];
  };
  assert.equal(shape([3, 4], [4, 5]), [3, 5]);
  assert.equal(shape([2, 3, 4], [4, 5]), [2, 3, 5]);
  assert.equal(shape([3, 4], [2, 4, 5]), [2, 3, 5]);
  assert.equal(shape([1, 3, 4], [4, 5]), [1, 3, 5]);
  assert.equal(shape([1, 3, 4], [6, 4, 5]), [6, 3, 5]);
});

test('mismatched shapes are clear errors naming both shapes', () => {
  const t = (s: number[]) => upload(new Float32Array(prod(s)), s);
  assert.throws(() => ops.matmul(t([2, 3]), t([4, 5])), /matmul: inner dimensions differ \(3 vs 4\): a \[2, 3\] and b \[4, 5\]/);
  assert.throws(() => ops.matmul(t([2, 3]), t([5, 4]), { transB: true }), /inner dimensions differ.*a \[2, 3\] and b \[5, 4\] \(transposed\)/);
  assert.throws(() => ops.matmul(t([3, 2]), t([4, 5]), { transA: true }), /inner dimensions differ \(3 vs 4\): a \[3, 2\] \(transposed\)/);
  assert.throws(() => ops.matmul(t([2, 3, 4]), t([3, 4, 5])), /batch dimensions differ: a \[2, 3, 4\] and b \[3, 4, 5\]/);
  assert.throws(() => ops.matmul(t([4]), t([4, 5])), /at least 2 dimensions/);
  assert.throws(() => ops.linear(t([2, 3]), t([4, 5])), /linear: x \[2, 3\] has 3 input features, weight \[4, 5\] expects 5/);
  assert.throws(() => ops.linear(t([2, 5]), t([4, 5]), t([5])), /linear: bias has shape \[5\], expected \[4\]/);
});

test('the variant option picks the kernel, forward and backward; the default follows the adapter', () => {
  const products = (fn: () => void) => dispatched(fn).filter((k) => k.startsWith('matmul.'));
  for (const variant of VARIANTS) {
    const seen = products(() => {
      const a = upload([1, 2, 3, 4], [2, 2], true);
      ops.backward(ops.sumAll(ops.matmul(a, a, { variant })));
    });
    assert.equal(seen, Array(3).fill(KERNEL_OF[variant]));
  }
  assert.equal(
    products(() => void ops.matmul(upload([1], [1, 1]), upload([1], [1, 1]))),
    [KERNEL_OF[gpu().kernelVariant]],
  );
});

test('an input whose requiresGrad is switched on between forward and backward gets its gradient', async () => {
  await scope(async () => {
    const a = upload([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = upload([1, -1, 2, 0, 1, 1], [3, 2], true);
    const out = ops.matmul(a, b);
    a.requiresGrad = true; // no variant was planned for its gradient
    ops.backward(ops.sumAll(out));
    assert.equal(Array.from(await read(a.grad!)), [0, 2, 2, 0, 2, 2]); // each row of b summed
  });
});

test.run();
