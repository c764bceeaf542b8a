import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../runtime/gpu.js';
import * as ops from '../src/ops/index.js';
import { setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';

const test = suite('pool');
test.before(setupGpu);

function avgPoolRef(shape: number[]) {
  const [B, C, H, W] = shape;
  const hw = H * W;
  return (x: Float64Array) => {
    const out = new Float64Array(B * C);
    for (let i = 0; i < B * C; i++) {
      for (let s = 0; s < hw; s++) out[i] += x[i * hw + s];
      out[i] /= hw;
    }
    return out;
  };
}

test('globalAvgPool forward and backward', async () => {
  for (const shape of [
    [2, 3, 5, 7],
    [1, 1, 1, 1],
    [1, 3, 4, 4],
    [3, 1, 1, 9],
    [2, 5, 13, 3],
  ]) {
    await checkOp({ name: `globalAvgPool ${JSON.stringify(shape)}`, inputs: [{ shape }], run: ops.globalAvgPool, ref: avgPoolRef(shape) });
  }
});

test('globalAvgPool gives [B, C] and rejects other ranks', async () => {
  const x = upload(new Float32Array(2 * 3 * 4), [2, 3, 2, 2]);
  const y = ops.globalAvgPool(x);
  assert.equal([...y.shape], [2, 3]);
  const flat = upload(new Float32Array(6), [2, 3]);
  assert.throws(() => ops.globalAvgPool(flat), /globalAvgPool: expected input of shape \[B, C, H, W\], got \[2, 3\]/);
  for (const t of [x, y, flat]) t.dispose();
});

test("globalAvgPool without a graph (noGrad, or no input needing a gradient) keeps no view: x's buffer goes back with x", () => {
  const live = () => gpu().memory().buffersLive;
  for (const [requiresGrad, run] of [
    [true, (x: ops.Tensor) => ops.noGrad(() => ops.globalAvgPool(x))],
    [false, ops.globalAvgPool],
  ] as const) {
    const before = live();
    const x = upload(new Float32Array(2 * 3 * 4 * 4).fill(1), [2, 3, 4, 4], requiresGrad);
    run(x).dispose();
    x.dispose();
    assert.is(live(), before, `requiresGrad ${requiresGrad}`);
  }
});

test.run();
