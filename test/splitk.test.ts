// matmul's split-K variant (kernels/matmul.wgsl tiled_splitk, its body register-blocked: partial products over slices of the
// summed range, then their sum) against float64: how a product is cut; every transpose with
// forward and both gradients at sizes where the forward and the gradients split, K no multiple of
// the 16-deep step, M or N under one tile; slices that cross the products of a batch summed in
// the kernel (matmulSumBatch, a 1x1 convolution's weight gradient); batched and broadcast
// products; the bias added once however many slices; and that the autotuner offers it on GPUs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { gpu } from '../runtime/gpu.js';
import { shapeClass } from '../runtime/autotune.js';
import { matmulProblem, matmulSumBatch, splitKSlices } from '../src/ops/matmul.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { dispatched } from './dispatched.js';
import { matmulRef, storedShapes, TRANSPOSES } from './matmul-ref.js';
import { checkProduct, type ProductCase } from './splitk-ref.js';

const test = suite('splitk');
test.before(setupGpu);

const variant = 'splitk' as const;

test('splitKSlices: enough workgroups, no slice under 64, every element of the range once', () => {
  const dW = splitKSlices({ M: 64, N: 576, K: 262144, z: 1, r: 1 });
  assert.is(dW.slices, Math.ceil(512 / 9), 'a 64 x 576 weight gradient: ~512 workgroups over its 9 tiles');
  for (const p of [
    { M: 3, N: 5, K: 300, z: 1, r: 1 },
    { M: 7, N: 9, K: 50, z: 1, r: 3 },
    { M: 1, N: 1, K: 1000, z: 1, r: 1 },
    { M: 2, N: 2, K: 63, z: 1, r: 1 },
  ]) {
    const { slices, sliceLen } = splitKSlices(p);
    const total = p.K * p.r;
    assert.ok((slices - 1) * sliceLen < total && slices * sliceLen >= total, `${JSON.stringify(p)}: ${slices} x ${sliceLen} covers ${total}, no empty slice`);
    assert.ok(slices === 1 || sliceLen >= 64, `${JSON.stringify(p)}: slices of ${sliceLen}`);
  }
  assert.is(splitKSlices({ M: 2, N: 2, K: 63, z: 1, r: 1 }).slices, 1, 'too short to split');
  assert.is(splitKSlices({ M: 4096, N: 4096, K: 4096, z: 1, r: 1 }).slices, 1, '4096 tiles fill the GPU already');
  assert.is(splitKSlices({ M: 4096, N: 4096, K: 1 << 20, z: 1, r: 1 }).slices, 1, 'partials over the 64 MiB cap');
});

// [M, K, N]: the forward splits (K >= 128), and with M, N >= 128 both gradients (their K is N or M).
const SIZES: [number, number, number][] = [
  [130, 133, 129],
  [3, 300, 5],
  [1, 1000, 1],
  [70, 200, 2],
];

test('2-D forward and both gradients, every transpose, split products', async () => {
  for (const [M, K, N] of SIZES) {
    assert.ok(splitKSlices({ M, N, K, z: 1, r: 1 }).slices > 1, `${M} ${K} ${N} splits`);
    for (const { transA, transB } of TRANSPOSES) {
      const [a, b] = storedShapes(M, K, N, transA, transB);
      await checkProduct(variant, { a, b, transA, transB });
    }
  }
});

test("batched and broadcast products with gradients (the broadcast operand's summed over the batch)", async () => {
  const cases: ProductCase[] = [
    { a: [3, 5, 200], b: [3, 200, 7] },
    { a: [1, 9, 150], b: [4, 150, 3] },
    { a: [2, 140, 6], b: [140, 66], transA: true },
    { a: [2, 3, 130, 5], b: [2, 3, 5, 131] },
  ];
  for (const c of cases) await checkProduct(variant, c);
});

test('matmulSumBatch: slices crossing the products of the batch', async () => {
  for (const { transA, transB } of TRANSPOSES) {
    const [Z, M, K, N] = [3, 5, 50, 66];
    assert.ok(splitKSlices({ M, N, K, z: 1, r: Z }).slices > 1);
    const [as2, bs2] = storedShapes(M, K, N, transA, transB);
    const as = [Z, ...as2];
    const bs = [Z, ...bs2];
    const perEntry = matmulRef(as, bs, transA, transB);
    await checkOp({
      name: `matmulSumBatch splitk ${JSON.stringify(as)} x ${JSON.stringify(bs)} transA=${transA} transB=${transB}`,
      inputs: [{ shape: as }, { shape: bs }],
      run: (a, b) => matmulSumBatch(a, b, { transA, transB, variant }),
      ref: (a, b) => {
        const each = perEntry(a, b);
        const out = new Float64Array(M * N);
        for (let i = 0; i < each.length; i++) out[i % (M * N)] += each[i];
        return out;
      },
      forwardOnly: true,
    });
  }
});

test('linear: the bias is added once over all slices', async () => {
  for (const [x, out] of [
    [[9, 300], 66],
    [[2, 3, 257], 5],
  ] as const) {
    const w = [out, x[x.length - 1]];
    await checkOp({
      name: `splitk linear x ${JSON.stringify(x)} weight ${JSON.stringify(w)} + bias`,
      inputs: [{ shape: [...x] }, { shape: w }, { shape: [out] }],
      run: (xt, wt, bt) => ops.linear(xt, wt, bt, { variant }),
      ref: matmulRef([...x], w, false, true),
      forwardOnly: true,
    });
  }
});

test('linear backward under split-K: input, weight and bias gradients against float64 (G W, Gt X, row sums of G)', async () => {
  const { rng, seed } = seeded();
  const [M, K, N] = [9, 300, 66];
  const xs = randomArray(rng, M * K, -1, 1);
  const ws = randomArray(rng, N * K, -1, 1);
  const bs = randomArray(rng, N, -1, 1);
  const gs = randomArray(rng, M * N, -1, 1);
  const f = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
  const [x64, w64, g64] = [f(xs), f(ws), f(gs)];
  await scope(async () => {
    const x = upload(x64, [M, K], true);
    const w = upload(w64, [N, K], true);
    const b = upload(f(bs), [N], true);
    ops.backward(ops.linear(x, w, b, { variant }), upload(g64, [M, N]));
    const dx = new Float64Array(M * K);
    const dw = new Float64Array(N * K);
    const db = new Float64Array(N);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        const g = g64[i * N + j];
        db[j] += g;
        for (let k = 0; k < K; k++) {
          dx[i * K + k] += g * w64[j * K + k];
          dw[j * K + k] += g * x64[i * K + k];
        }
      }
    assertClose(await read(x.grad!), dx, FORWARD_TOL, `split-K linear: input gradient (seed ${seed})`);
    assertClose(await read(w.grad!), dw, FORWARD_TOL, `split-K linear: weight gradient (seed ${seed})`);
    assertClose(await read(b.grad!), db, FORWARD_TOL, `split-K linear: bias gradient (seed ${seed})`);
    for (const t of [x, w, b]) t.grad!.dispose();
  });
});

test('split products run the split-K kernel and one sum of the partials; a product too short to split, the kernel alone', () => {
  const run = (K: number) => {
    const a = upload(new Float32Array(2 * K).fill(1), [2, K]);
    const b = upload(new Float32Array(K * 3).fill(1), [K, 3]);
    // (Tests poison new buffers with elementwise.fill: left out.)
    const seen = dispatched(() => void ops.matmul(a, b, { variant })).filter((k) => !k.startsWith('elementwise.'));
    a.dispose();
    b.dispose();
    return seen;
  };
  const split = run(256);
  assert.is(split[0], 'matmul.tiled_splitk');
  assert.is(split.length, 2, split.join(', '));
  assert.ok(split[1].startsWith('reduce.'), split.join(', '));
  assert.equal(run(16), ['matmul.tiled_splitk']);
});

test('the autotuner offers split-K on GPUs for products it would split, never on CPU adapters', () => {
  const candidates = (K: number) => matmulProblem({ M: 64, N: 64, K }).candidates;
  assert.is(candidates(65536).includes(variant), !gpu().cpuAdapter);
  assert.not.ok(candidates(32).includes(variant), 'too short to split');
});

test('whether split-K is a candidate is part of the tuning key: shapes of one class differing in it get their own', () => {
  // As on a GPU: a CPU adapter never offers split-K, so every key there stays as it was.
  const g = gpu();
  Object.defineProperty(g, 'cpuAdapter', { value: false, configurable: true });
  try {
    const [short, long] = [100, 128].map((K) => matmulProblem({ M: 64, N: 64, K }));
    assert.is(shapeClass({ k: 100 }), shapeClass({ k: 128 }), 'the same power-of-two class');
    assert.not.ok(short.candidates.includes(variant));
    assert.ok(long.candidates.includes(variant));
    assert.is.not(shapeClass(short.dims), shapeClass(long.dims));
  } finally {
    delete (g as { cpuAdapter?: boolean }).cpuAdapter;
  }
  assert.is(shapeClass(matmulProblem({ M: 64, N: 64, K: 128 }).dims), shapeClass({ m: 64, n: 64, k: 128, ta: false, tb: false }), 'keys without split-K are unchanged');
});

test.run();
