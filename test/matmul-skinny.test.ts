// The skinny matmul variant (4x4 blocks, 64 threads along N, for few rows) against the float64
// reference: every transpose, sizes around its 4 x 256 workgroup tile, batched and broadcast
// products with gradients (the broadcast operand's gradient sums over the batch in the kernel),
// the linear layer's bias epilogue; and matmulSumBatch (the batch summed inside one product) in
// every variant.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { MATMUL_VARIANTS, matmulSumBatch } from '../src/ops/matmul.js';
import { setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { dispatched } from './dispatched.js';
import { checkEveryTranspose, matmulRef, storedShapes, TRANSPOSES } from './matmul-ref.js';

const test = suite('matmul-skinny');
test.before(setupGpu);

const variant = 'skinny' as const;
// Off the 4-row and 256-column tile, K = 1, N = 1; small enough for finite differences.
const SMALL: [number, number, number][] = [
  [1, 1, 1],
  [3, 7, 5],
  [5, 1, 3],
  [9, 3, 7],
  [2, 17, 6],
  [7, 5, 1],
];
// Several tiles each way, none a multiple; forward only.
const LARGE: [number, number, number][] = [
  [5, 33, 257],
  [65, 9, 3],
  [1, 127, 513],
  [8, 64, 256],
  [130, 20, 300],
];

test('2-D forward and gradients, every transpose, sizes off the tile', () => checkEveryTranspose(variant, SMALL));

test('larger 2-D forward, every transpose', () => checkEveryTranspose(variant, LARGE, true));

test('batched and broadcast forward and gradients; linear with bias', async () => {
  const cases: { a: number[]; b: number[]; transA?: boolean; transB?: boolean }[] = [
    { a: [2, 3, 4], b: [2, 4, 5] },
    { a: [1, 3, 4], b: [3, 4, 5] },
    { a: [3, 7, 5], b: [5, 2] },
    { a: [4, 6], b: [2, 4, 5], transA: true },
    { a: [2, 5, 3], b: [2, 4, 5], transA: true, transB: true },
  ];
  for (const { a: as, b: bs, transA = false, transB = false } of cases) {
    await checkOp({
      name: `skinny ${JSON.stringify(as)} x ${JSON.stringify(bs)} transA=${transA} transB=${transB}`,
      inputs: [{ shape: as }, { shape: bs }],
      run: (a, b) => ops.matmul(a, b, { transA, transB, variant }),
      ref: matmulRef(as, bs, transA, transB),
    });
  }
  for (const [x, out] of [
    [[5, 7], 3],
    [[2, 70], 259],
  ] as const) {
    const w = [out, x[1]];
    await checkOp({
      name: `skinny linear x ${JSON.stringify(x)} weight ${JSON.stringify(w)} + bias`,
      inputs: [{ shape: [...x] }, { shape: w }, { shape: [out] }],
      run: (xt, wt, bt) => ops.linear(xt, wt, bt, { variant }),
      ref: matmulRef([...x], w, false, true),
    });
  }
});

test('matmulSumBatch sums the batch of products in every variant', async () => {
  for (const v of MATMUL_VARIANTS) {
    for (const { transA, transB } of TRANSPOSES) {
      const [Z, M, K, N] = [3, 5, 7, 66];
      const [as2, bs2] = storedShapes(M, K, N, transA, transB);
      const as = [Z, ...as2];
      const bs = [Z, ...bs2];
      const perEntry = matmulRef(as, bs, transA, transB);
      await checkOp({
        name: `matmulSumBatch ${v} ${JSON.stringify(as)} x ${JSON.stringify(bs)} transA=${transA} transB=${transB}`,
        inputs: [{ shape: as }, { shape: bs }],
        run: (a, b) => matmulSumBatch(a, b, { transA, transB, variant: v }),
        ref: (a, b) => {
          const each = perEntry(a, b);
          const out = new Float64Array(M * N);
          for (let i = 0; i < each.length; i++) out[i % (M * N)] += each[i];
          return out;
        },
        forwardOnly: true,
      });
    }
  }
  const t = (s: number[]) => upload(new Float32Array(s.reduce((p, d) => p * d, 1)), s);
  assert.throws(() => matmulSumBatch(t([2, 3, 4]), t([3, 4, 5])), /matmulSumBatch: expected 3-D operands with the same batch/);
  assert.throws(() => matmulSumBatch(t([2, 3, 4]), t([2, 5, 5])), /matmulSumBatch: inner dimensions differ \(4 vs 5\)/);
});

test('the skinny variant runs its own kernel, forward and backward', () => {
  const seen = dispatched(() => {
    const a = upload([1, 2, 3, 4], [2, 2], true);
    ops.backward(ops.sumAll(ops.matmul(a, a, { variant })));
  });
  assert.equal(
    seen.filter((k) => k.startsWith('matmul.')),
    Array(3).fill('matmul.skinny'),
  );
});

test.run();
