// maxPool2d against a float64 reference: fresh random awkward shapes (odd sizes, padding,
// non-square windows and strides), ties (the gradient goes to the first maximum of each window in
// row-major order, as PyTorch's), NaN and clear errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { backward } from '../src/autograd.js';
import { scope } from '../src/scope.js';
import type { Rng } from '../src/random.js';
import { distinct, read, seeded, setupGpu, upload, randomArray } from './helpers.js';
import { checkOp } from './check-op.js';

const test = suite('maxpool');
test.before(setupGpu);

interface Pool {
  shape: [number, number, number, number];
  k: [number, number];
  s: [number, number];
  p: [number, number];
}

function outSize({ shape, k, s, p }: Pool): [number, number] {
  return [Math.floor((shape[2] + 2 * p[0] - k[0]) / s[0]) + 1, Math.floor((shape[3] + 2 * p[1] - k[1]) / s[1]) + 1];
}

/** Output and, per output, the flat input index of the first maximum of its window (NaN wins). */
function maxPoolRef(c: Pool, x: Float64Array): { out: Float64Array; arg: Int32Array } {
  const [B, C, H, W] = c.shape;
  const [oh, ow] = outSize(c);
  const out = new Float64Array(B * C * oh * ow);
  const arg = new Int32Array(out.length);
  for (let q = 0; q < B * C; q++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        let at = -1;
        for (let i = 0; i < c.k[0]; i++) {
          for (let j = 0; j < c.k[1]; j++) {
            const y = oy * c.s[0] - c.p[0] + i;
            const xx = ox * c.s[1] - c.p[1] + j;
            if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
            const v = x[(q * H + y) * W + xx];
            if (at < 0 || (!Number.isNaN(best) && (v > best || Number.isNaN(v)))) {
              best = v;
              at = (q * H + y) * W + xx;
            }
          }
        }
        const o = (q * oh + oy) * ow + ox;
        out[o] = best;
        arg[o] = at;
      }
    }
  }
  return { out, arg };
}

function runPool(c: Pool) {
  return (x: ops.Tensor) => ops.maxPool2d(x, c.k, { stride: c.s, padding: c.p });
}

/** A random pooling that fits: sizes 1-13, windows 1-4, strides 1-3, padding up to half the window. */
function randomPool(rng: Rng): Pool {
  const int = (lo: number, hi: number) => Math.min(hi, lo + Math.floor(rng.uniform(0, hi - lo + 1)));
  for (;;) {
    const k: [number, number] = [int(1, 4), int(1, 4)];
    const c: Pool = {
      shape: [int(1, 3), int(1, 3), int(1, 13), int(1, 13)],
      k,
      s: [int(1, 3), int(1, 3)],
      p: [int(0, k[0] >> 1), int(0, k[1] >> 1)],
    };
    const [oh, ow] = outSize(c);
    if (oh >= 1 && ow >= 1) return c;
  }
}

const FIXED: Pool[] = [
  { shape: [2, 3, 7, 5], k: [3, 3], s: [2, 2], p: [1, 1] }, // the ResNet stem's pool on odd sizes
  { shape: [1, 2, 9, 11], k: [2, 2], s: [2, 2], p: [0, 0] }, // floor mode drops the last row and column
  { shape: [2, 1, 6, 13], k: [3, 2], s: [1, 3], p: [1, 0] }, // non-square window and stride
  { shape: [3, 2, 5, 5], k: [5, 5], s: [1, 1], p: [2, 2] }, // windows overlapping the padding everywhere
  { shape: [1, 1, 1, 1], k: [1, 1], s: [1, 1], p: [0, 0] },
];

test('maxPool2d forward and backward on fixed and fresh random shapes', async () => {
  const { rng, seed } = seeded();
  const cases = [...FIXED, ...Array.from({ length: 4 }, () => randomPool(rng))];
  for (const c of cases) {
    await checkOp({
      name: `maxPool2d ${JSON.stringify(c)} (case seed ${seed})`,
      inputs: [{ shape: c.shape, make: distinct }],
      run: runPool(c),
      ref: (x) => maxPoolRef(c, x).out,
    });
  }
});

test('maxPool2d ties: the gradient goes to the first maximum of each window, once', async () => {
  const { rng, seed } = seeded();
  // Post-ReLU-like values: many exact zeros and few levels, so most windows hold ties.
  for (const c of [FIXED[0], FIXED[2], FIXED[3], randomPool(rng)]) {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const x = Float64Array.from({ length: n }, () => Math.max(0, Math.floor(rng.uniform(-2, 3))));
    const { out, arg } = maxPoolRef(c, x);
    const g = randomArray(rng, out.length).map(Math.fround);
    const want = new Float64Array(n);
    arg.forEach((a, o) => (want[a] += g[o]));
    await scope(async () => {
      const xt = upload(x, c.shape, true);
      const y = ops.maxPool2d(xt, c.k, { stride: c.s, padding: c.p });
      assert.equal(Array.from(await read(y)), Array.from(out), `forward ${JSON.stringify(c)} (seed ${seed})`);
      backward(ops.sumAll(ops.mul(y, upload(g, y.shape))));
      const got = await read(xt.grad!);
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(got[i] - want[i]) <= 1e-6, `gradient element ${i}: ${got[i]} != ${want[i]} for ${JSON.stringify(c)} (seed ${seed})`);
      }
    });
  }
});

test('maxPool2d: a NaN in a window makes its output NaN', async () => {
  await scope(async () => {
    const x = upload([1, NaN, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const y = Array.from(await read(ops.maxPool2d(x, 2, { stride: 1 })));
    assert.ok(Number.isNaN(y[0]) && Number.isNaN(y[1]), `windows holding the NaN: ${y}`);
    assert.equal(y.slice(2), [8, 9]);
  });
});

test('maxPool2d: shape, stride default and errors', async () => {
  await scope(async () => {
    const x = upload(new Float32Array(2 * 3 * 7 * 5), [2, 3, 7, 5]);
    assert.equal([...ops.maxPool2d(x, 2).shape], [2, 3, 3, 2], 'stride defaults to the window');
    assert.equal([...ops.maxPool2d(x, 3, { stride: 2, padding: 1 }).shape], [2, 3, 4, 3]);
    assert.throws(() => ops.maxPool2d(upload(new Float32Array(6), [2, 3]), 2), /maxPool2d: expected input of shape \[B, C, H, W\], got \[2, 3\]/);
    assert.throws(() => ops.maxPool2d(x, 3, { padding: 2 }), /maxPool2d: padding 2,2 must be at most half the 3x3 kernel/);
    assert.throws(() => ops.maxPool2d(x, 6), /maxPool2d: a 6x6 window with padding 0,0 does not fit a 7x5 input/);
    assert.throws(() => ops.maxPool2d(x, 0), /maxPool2d: kernel size must be an integer >= 1/);
    assert.throws(() => ops.maxPool2d(x, 2, { stride: [1, 0] }), /maxPool2d: stride must be an integer >= 1/);
  });
});

test.run();
