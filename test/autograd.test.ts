// The graph machinery itself: accumulation, retained intermediate gradients, grad() on
// intermediate targets without touching leaves, scopes freeing intermediates.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../runtime/gpu.js';
import { grad, isGradEnabled, record } from '../src/autograd.js';
import * as ops from '../src/ops/index.js';
import { scope, keep } from '../src/scope.js';
import { tensor } from '../src/creation.js';
import { setupGpu, upload } from './helpers.js';

const test = suite('autograd');
test.before(setupGpu);

const values = async (t: ops.Tensor) => Array.from(await t.data());

test('retainGrad keeps an intermediate gradient', async () => {
  const x = upload([1, 2, 3], [3], true);
  const h = ops.mulScalar(x, 2);
  h.retainGrad = true;
  const loss = ops.sumAll(ops.square(h)); // dL/dh = 2h = 4x
  ops.backward(loss);
  assert.equal(await values(h.grad!), [4, 8, 12]);
  assert.equal(await values(x.grad!), [8, 16, 24]);
});

test("retainGrad accumulates over backward calls, as PyTorch's retain_grad() and as leaves do", async () => {
  const x = upload([1, 2], [2], true);
  const h = ops.mulScalar(x, 3);
  h.retainGrad = true;
  const loss = ops.sumAll(h);
  ops.backward(loss, undefined, { retainGraph: true });
  ops.backward(loss);
  assert.equal(await values(h.grad!), [2, 2]);
  assert.equal(await values(x.grad!), [6, 6]);
});

test('a seed of another shape or dtype than the root is a clear error in backward() and grad()', () => {
  const x = upload([1, 2, 3, 4, 5, 6], [2, 3], true);
  const y = ops.mulScalar(x, 2);
  const transposed = upload([1, 2, 3, 4, 5, 6], [3, 2]); // same size: reshapes would take it
  const ints = tensor([1, 1, 1, 1, 1, 1], [2, 3], { dtype: 'int32' });
  assert.throws(() => grad(y, [x], transposed), /grad\(\): gradient shape \[3, 2\] does not match \[2, 3\]/);
  assert.throws(() => grad(y, [x], ints), /grad\(\): the gradient must be float32, got int32/);
  assert.throws(() => ops.backward(y, transposed), /backward\(\): gradient shape \[3, 2\] does not match \[2, 3\]/);
  assert.throws(() => ops.backward(y, ints), /backward\(\): the gradient must be float32, got int32/);
  assert.is(x.grad, null);
});

test('grad() returns d(root)/d(targets) and leaves .grad of leaves alone', async () => {
  const w = upload([0.5, -1, 2], [3], true);
  const x = upload([1, 2, 3], [3]);
  const a = ops.mul(x, w); // a = x*w
  const b = ops.relu(a);
  const loss = ops.sumAll(ops.square(b)); // dL/da = 2 relu(a) * [a > 0]
  const [ga, gb] = grad(loss, [a, b]);
  assert.equal(await values(ga), [1, 0, 12]);
  assert.equal(await values(gb), [1, 0, 12]);
  assert.is(w.grad, null, 'no gradient accumulated into the parameter');
  // The graph is kept: an ordinary backward still works afterwards.
  ops.backward(loss);
  assert.equal(await values(w.grad!), [1, 0, 36]);
});

test('grad() rejects a target outside the graph', () => {
  const x = upload([1], [1], true);
  const other = upload([2], [1], true);
  const loss = ops.sumAll(ops.square(x));
  assert.throws(() => grad(loss, [other]), /not part of the graph/);
});

test('scope frees intermediates and keeps results', async () => {
  await gpu().sync();
  const before = gpu().memory().bytesLive;
  const x = keep(upload([1, 2, 3], [3]));
  const y = scope(() => ops.addScalar(ops.mulScalar(ops.exp(x), 2), 1));
  assert.is(y.disposed, false);
  assert.equal(
    (await values(y)).map((v) => Math.round(v * 1000) / 1000),
    [1 + 2 * Math.E, 1 + 2 * Math.exp(2), 1 + 2 * Math.exp(3)].map((v) => Math.round(v * 1000) / 1000),
  );
  y.dispose();
  x.dispose();
  assert.is(gpu().memory().bytesLive, before);
});

test('using a disposed tensor is a clear error', () => {
  const x = upload([1], [1]);
  x.dispose();
  assert.throws(() => ops.exp(x), /used after dispose/);
});

test('a second backward() through a freed graph raises; retainGraph allows it', async () => {
  const x = upload([1, 2, 3], [3], true);
  const loss = ops.sumAll(ops.mul(x, x));
  ops.backward(loss);
  assert.throws(() => ops.backward(loss), /already freed by an earlier backward\(\).*retainGraph/);
  // A new graph built on a freed intermediate raises too, instead of treating it as a leaf.
  const y = ops.mul(x, x);
  ops.backward(ops.sumAll(y));
  assert.throws(() => ops.backward(ops.sumAll(ops.mulScalar(y, 2))), /part of this tensor's graph/);
  x.grad?.dispose();
  x.grad = null;
  const again = ops.sumAll(ops.mul(x, x));
  ops.backward(again, undefined, { retainGraph: true });
  ops.backward(again);
  assert.equal(Array.from(await x.grad!.data()), [4, 8, 12], 'two backwards accumulate 2 * 2x');
});

test('an intermediate disposed before backward is a clear error, not a silently missing gradient', () => {
  const x = upload([1, 2, 3], [3], true);
  const y = ops.exp(x);
  const z = ops.sumAll(y);
  y.dispose();
  assert.throws(
    () => ops.backward(z),
    /backward\(\): part of this tensor's graph \(Tensor\(\[3\], float32, requiresGrad\)\) was disposed before the backward pass; keep it until backward\(\) or grad\(\) has run/,
  );
  assert.throws(() => grad(z, [x]), /grad\(\): part of this tensor's graph .* was disposed before the backward pass/);
  assert.is(x.grad, null);
  // After backward, disposing intermediates is the normal clean-up.
  const w = ops.exp(x);
  const loss = ops.sumAll(w);
  ops.backward(loss);
  w.dispose();
  assert.ok(x.grad !== null);
});

test('a backward rule that throws or returns a wrong shape frees every gradient (no scope needed); so does grad()', async () => {
  await gpu().sync();
  const before = gpu().memory().bytesLive;
  const x = keep(upload([1, 2, 3], [3], true));
  for (const bad of ['throws', 'wrong shape'] as const) {
    // Every tensor of the graphs is named and freed here: what is left over is autograd's.
    const e = ops.exp(x);
    const y = record(e, 'bad', [x], (g) => {
      if (bad === 'throws') throw new Error('rule failed');
      return [ops.sumAll(g)]; // [] for an input of [3]
    });
    const twice = ops.mulScalar(y, 2);
    const loss = ops.sumAll(twice);
    assert.throws(() => ops.backward(loss), bad === 'throws' ? /rule failed/ : /backward of 'bad': gradient \[\] for input 0 of shape \[3\]/);
    const e2 = ops.exp(x);
    const y2 = record(e2, 'bad', [x], () => [ops.sumAll(x)]);
    const mid = ops.exp(x);
    const midSum = ops.sumAll(mid);
    const both = ops.mul(y2, midSum);
    const root = ops.sumAll(both);
    assert.throws(() => grad(root, [mid, x]), /backward of 'bad'/);
    for (const t of [e, twice, loss, e2, mid, midSum, both, root]) t.dispose();
  }
  // A retained gradient goes with its tensor.
  const h = ops.exp(x);
  h.retainGrad = true;
  const total = ops.sumAll(h);
  ops.backward(total);
  assert.ok(h.grad);
  x.grad?.dispose();
  x.grad = null;
  for (const t of [h, total, x]) t.dispose();
  assert.is(gpu().memory().bytesLive, before);
});

test("a leaf's gradient goes with it: a scope that ends between backward and zeroGrad frees it", async () => {
  await gpu().sync();
  const before = gpu().memory().buffersLive;
  scope(() => {
    const x = upload([1, 2], [2], true);
    ops.backward(ops.sumAll(ops.mulScalar(x, 2)));
    assert.ok(x.grad);
  });
  assert.is(gpu().memory().buffersLive, before);
});

test('noGrad refuses an async body, and recording is on again after it', () => {
  const x = upload([1, 2], [2], true);
  assert.throws(() => ops.noGrad(async () => ops.mul(x, x)), /noGrad\(\) takes a synchronous function, and this one returned a promise/);
  assert.ok(isGradEnabled(), 'recording restored after the refusal');
  assert.ok(ops.mul(x, x).requiresGrad, 'and records again');
  assert.not.ok(ops.noGrad(() => ops.mul(x, x)).requiresGrad, 'a synchronous body still records nothing');
});

test.run();
