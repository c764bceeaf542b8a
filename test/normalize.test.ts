import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { scope } from '../src/scope.js';
import type { Rng } from '../src/random.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, randomArray, read, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';

const test = suite('normalize');
test.before(setupGpu);

/** Float64 F.normalize along the last axis: x / max(||x||, eps). */
function normalizeRef(dim: number, eps: number) {
  return (x: Float64Array) => {
    const out = new Float64Array(x.length);
    for (let base = 0; base < x.length; base += dim) {
      let ss = 0;
      for (let j = 0; j < dim; j++) ss += x[base + j] ** 2;
      const n = Math.max(Math.sqrt(ss), eps);
      for (let j = 0; j < dim; j++) out[base + j] = x[base + j] / n;
    }
    return out;
  };
}

test('l2Normalize forward and backward', async () => {
  for (const shape of [
    [1, 1],
    [3, 7],
    [5, 128],
    [2, 3, 5],
    [1, 2],
  ]) {
    await checkOp({ name: `l2Normalize ${JSON.stringify(shape)}`, inputs: [{ shape }], run: (x) => ops.l2Normalize(x), ref: normalizeRef(shape[shape.length - 1], 1e-12) });
  }
});

test('l2Normalize where the norm is clamped to eps (both branches in one batch)', async () => {
  const dim = 6;
  const eps = 0.5;
  // Even rows are small (norm < eps, clamped), odd rows are not.
  const make = (rng: Rng, n: number) => randomArray(rng, n).map((v, i) => (Math.floor(i / dim) % 2 === 0 ? 0.1 * v : v + Math.sign(v)));
  await checkOp({ name: 'l2Normalize clamped', inputs: [{ shape: [7, dim], make }], run: (x) => ops.l2Normalize(x, eps), ref: normalizeRef(dim, eps) });
});

test('a zero row normalises to zero and gets gradient g / eps, never NaN', async () => {
  await scope(async () => {
    const x = upload([0, 0, 0, 3, 4, 0], [2, 3], true);
    const y = ops.l2Normalize(x);
    assertClose(await read(y), [0, 0, 0, 0.6, 0.8, 0], FORWARD_TOL, 'zero row forward');
    const g = upload([1, -2, 0.5, 0, 0, 0], [2, 3]);
    ops.backward(y, g);
    assertClose(await read(x.grad!), [1e12, -2e12, 0.5e12, 0, 0, 0], GRAD_TOL, 'zero row gradient');
    x.grad!.dispose();
  });
});

test('l2Normalize rejects scalars', () => {
  const s = upload([1], []);
  assert.throws(() => ops.l2Normalize(s), /l2Normalize: expected a tensor with a feature axis/);
  s.dispose();
});

test.run();
