// The register-blocked form of the workgroup GEMM body (kernels/lib/gemm_tiled.wgsl with BLOCKED:
// contiguous 4x4 blocks, vec4 reads of workgroup memory), the 'blocked' variant of matmul and of
// conv2d (every pass), against float64: every transpose, M or N under one tile, K no multiple of
// the 16-deep step, several tiles each way, batched and broadcast products, the bias epilogue;
// convolutions with strides, padding, rectangular kernels and a weight gradient split into
// chunks; that the variant runs the tiled entry points with BLOCKED set (and 'tiled' without);
// that the autotuner offers it on GPUs only; and that no kernel as shipped writes one component
// of a vector in workgroup memory (a race; checked on the embedded kernels, so also from the kit).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { gpu } from '../runtime/gpu.js';
import { conv2d } from '../src/ops/index.js';
import { convGeometry, convProblem } from '../src/ops/conv.js';
import { matmulProblem } from '../src/ops/matmul.js';
import { setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { checkEveryTranspose, matmulRef } from './matmul-ref.js';
import { checkProduct } from './splitk-ref.js';
import { checkConvAnalytic, convCase, convRef, describeConv } from './conv-ref.js';
import { dispatched } from './dispatched.js';
import { kernelModules } from '../runtime/kernel-sources.generated.js';

const test = suite('gemm-blocked');
test.before(setupGpu);

const variant = 'blocked' as const;

test('matmul: 2-D forward and gradients (finite differences), every transpose, sizes off the tile', () =>
  checkEveryTranspose(variant, [
    [1, 1, 1],
    [3, 7, 5],
    [5, 17, 2],
    [9, 33, 3],
    [2, 6, 67],
  ]));

test('matmul: several tiles each way, forward and both gradients, every transpose', async () => {
  for (const [M, K, N] of [
    [130, 37, 67],
    [67, 129, 3],
    [5, 70, 131],
  ] as const) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      await checkProduct(variant, { a: transA ? [K, M] : [M, K], b: transB ? [N, K] : [K, N], transA, transB });
    }
  }
});

test('matmul: batched and broadcast products with gradients; linear with bias', async () => {
  for (const c of [
    { a: [3, 5, 19], b: [3, 19, 70] },
    { a: [1, 66, 9], b: [4, 9, 3] },
    { a: [2, 17, 6], b: [17, 66], transA: true },
  ]) {
    await checkProduct(variant, c);
  }
  await checkOp({
    name: 'blocked linear x [5, 7] weight [67, 7] + bias',
    inputs: [{ shape: [5, 7] }, { shape: [67, 7] }, { shape: [67] }],
    run: (x, w, b) => ops.linear(x, w, b, { variant }),
    ref: matmulRef([5, 7], [67, 7], false, true),
  });
});

test('conv2d: forward and both gradients (finite differences) on small awkward shapes', async () => {
  for (const c of [
    convCase(1, 1, 5, 5, 5, 3, 1, 1, true),
    convCase(3, 3, 7, 9, 1, 3, 2, 1),
    convCase(1, 2, 7, 9, 3, 3, [3, 2], [1, 0]),
    convCase(1, 2, 5, 11, 2, [3, 7], 1, [1, 2], true),
    convCase(2, 3, 9, 7, 5, 1, 2, 0),
  ]) {
    await checkOp({
      name: `conv2d blocked ${describeConv(c)}`,
      inputs: [{ shape: [c.b, c.cin, c.h, c.w] }, { shape: [c.cout, c.cin, c.kh, c.kw] }, ...(c.bias ? [{ shape: [c.cout] }] : [])],
      run: (x, w, bias) => conv2d(x, w, bias ?? null, { stride: c.stride, padding: c.pad, variant }),
      ref: (x, w, bias) => convRef(c, x, w, bias),
    });
  }
});

test('conv2d: shapes spanning several tiles, analytic gradients', async () => {
  for (const c of [convCase(2, 5, 11, 21, 70, 3, 1, 1, true), convCase(3, 9, 13, 19, 11, 3, 2, 1), convCase(2, 67, 3, 9, 9, 1, 1, 0)]) {
    await checkConvAnalytic(variant, c);
  }
});

/** The conv2d and matmul kernels `fn` dispatches, each with ' BLOCKED' when that override is set. */
function kernelsRun(fn: () => void): string[] {
  return dispatched(fn, (kernel, d) => kernel + (d.overrides?.BLOCKED ? ' BLOCKED' : '')).filter((k) => /^(conv2d|matmul)\./.test(k));
}

test("'blocked' runs the tiled entry points with BLOCKED set, forward and backward; 'tiled' without", () => {
  for (const [v, flag] of [
    ['blocked', ' BLOCKED'],
    ['tiled', ''],
  ] as const) {
    const x = upload(new Float32Array(2 * 3 * 6 * 6).fill(1), [2, 3, 6, 6], true);
    const w = upload(new Float32Array(4 * 3 * 9).fill(1), [4, 3, 3, 3], true);
    const a = upload([1, 2, 3, 4], [2, 2], true);
    const seen = kernelsRun(() => ops.backward(ops.sumAll(conv2d(x, w, null, { padding: 1, variant: v }))));
    assert.equal(
      seen,
      ['conv2d.forward_tiled', 'conv2d.input_grad_tiled', 'conv2d.weight_grad_tiled'].map((k) => k + flag),
    );
    assert.equal(
      kernelsRun(() => ops.backward(ops.sumAll(ops.matmul(a, a, { variant: v })))),
      Array(3).fill('matmul.tiled' + flag),
    );
    for (const t of [x, w, a]) {
      t.grad?.dispose();
      t.dispose();
    }
  }
});

test('the autotuner offers the blocked variant on GPUs, not on CPU adapters', () => {
  assert.is(matmulProblem({ M: 256, N: 256, K: 256 }).candidates.includes(variant), !gpu().cpuAdapter);
  const x = upload(new Float32Array(2 * 3 * 6 * 6), [2, 3, 6, 6]);
  const w = upload(new Float32Array(4 * 3 * 9), [4, 3, 3, 3]);
  assert.is(convProblem('weight-grad', convGeometry(x, w, { padding: 1 })).candidates.includes(variant), !gpu().cpuAdapter);
  x.dispose();
  w.dispose();
});

/**
 * Writes to one component of a workgroup vector in `source` (after includes): WGSL lets such a
 * write access the whole vector, so invocations writing different components of one vec4 race
 * (Tint's FXC output rewrites the whole vector). CPU rasterisers never show the race.
 */
function workgroupComponentWrites(source: string): string[] {
  const text = source.replace(/\/\/.*$/gm, '');
  const vectors = [...text.matchAll(/var<workgroup>\s*(\w+)\s*:\s*(array<\s*)?vec/g)].map((m) => ({ name: m[1], array: !!m[2] }));
  const index = '\\[[^\\]]*\\]';
  const component = `(?:${index}|\\.[xyzwrgba])`;
  return vectors.flatMap(({ name, array }) => [...text.matchAll(new RegExp(`\\b${name}${array ? index : ''}${component}\\s*[-+*/]?=(?!=)`, 'g'))].map((m) => m[0]));
}

test('no kernel writes one component of a vector in workgroup memory (a race on some backends)', () => {
  // The check itself finds the forms it looks for, as written and as minified.
  const racy = 'var<workgroup> t: array<vec4f, 4>;\nvar<workgroup> v: vec2f;\nfn f(i: u32) { t[i / 4u][i % 4u] = 1.0; v.x += 2.0; t[i] = vec4f(0.0); if (t[0][1] == 0.0) {} }';
  assert.equal(workgroupComponentWrites(racy), ['t[i / 4u][i % 4u] =', 'v.x +=']);
  assert.equal(workgroupComponentWrites('var<workgroup>c:array<vec4f,4>;fn f(i:u32){c[i/4u][i%4u]=1.;c[i]=vec4f(0.);}'), ['c[i/4u][i%4u]=']);
  // The kernels as they ship (includes resolved, minified: runtime/kernel-sources.generated.ts), so
  // the check runs from the device kit too, where kernels/ does not travel.
  const found = Object.entries(kernelModules).flatMap(([k, m]) => workgroupComponentWrites(m.source).map((w) => `${k}.wgsl: ${w}`));
  assert.ok(Object.keys(kernelModules).length > 20, 'the embedded kernels');
  assert.equal(found, [], found.join('\n'));
});

test.run();
