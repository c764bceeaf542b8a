import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, assertClose, read, seeded, setupGpu, upload } from './helpers.js';
import { bnRef, makeInputs, type Shape4 } from './batchnorm-ref.js';
import { checkForward, checkGradients } from './batchnorm-checks.js';

const test = suite('batchnorm');
test.before(setupGpu);

// [1,1,3,5]: B=1 with H, W > 1. The larger ones spread a channel over several workgroups (the
// lanes do not divide the count; lanes < H*W in [1,3,17,19], lanes > H*W elsewhere), and
// [3,2,19,21] also over several workgroups of the elementwise passes.
const SHAPES: Shape4[] = [
  [2, 3, 5, 7],
  [1, 1, 3, 5],
  [4, 3, 1, 1],
  [3, 1, 4, 4],
  [2, 2, 13, 11],
  [1, 3, 17, 19],
  [40, 2, 3, 3],
  [3, 2, 19, 21],
];

test('train mode: output and PyTorch running-stat update', async () => {
  for (const shape of SHAPES) await checkForward(shape, { training: true });
  await checkForward([2, 3, 5, 7], { training: true, momentum: 0.3, eps: 1e-3 });
});

test('train mode with fused ReLU', async () => {
  for (const shape of SHAPES) await checkForward(shape, { training: true, relu: true });
});

test('eval mode uses the running stats and leaves them unchanged', async () => {
  for (const shape of [...SHAPES, [1, 3, 1, 1] as Shape4]) {
    await checkForward(shape, { training: false });
    await checkForward(shape, { training: false, relu: true });
  }
});

test('variance stays accurate under a large common offset (no E[x^2] - E[x]^2)', async () => {
  for (const shape of [
    [2, 3, 5, 7],
    [2, 2, 16, 16],
  ] as Shape4[])
    await checkForward(shape, { training: true }, 100);
});

test('train mode without running stats normalises by the batch', async () => {
  const { rng, seed } = seeded();
  const shape: Shape4 = [2, 3, 4, 5];
  const { x, w, b, rm, rv } = makeInputs(rng, shape);
  const want = bnRef(x, w, b, rm, rv, shape, { training: true });
  await scope(async () => {
    const out = ops.batchNorm2d(upload(x, shape), upload(w, [3]), upload(b, [3]), null, null, { training: true });
    assertClose(await read(out), want.out, FORWARD_TOL, 'no running stats', seed);
  });
});

const GRAD_SHAPES: Shape4[] = [
  [2, 3, 3, 5],
  [1, 1, 4, 3],
  [3, 2, 1, 1],
  [2, 2, 13, 11],
  [2, 1, 25, 23],
];

test('train-mode gradients of input, weight and bias', async () => {
  for (const shape of GRAD_SHAPES) {
    await checkGradients(shape, { training: true });
    await checkGradients(shape, { training: true, relu: true });
  }
});

test('eval-mode gradients of input, weight and bias', async () => {
  for (const shape of GRAD_SHAPES) {
    await checkGradients(shape, { training: false });
    await checkGradients(shape, { training: false, relu: true });
  }
});

test('gradient of the weight alone (input and bias need none): against the float64 reference', async () => {
  // The backward then skips the input gradient's kernel; a random upstream gradient (checkOp's
  // sum(out * R)) makes dweight depend on every xhat, where sum(out) would make it ~0 whatever it is.
  for (const shape of GRAD_SHAPES) {
    await checkGradients(shape, { training: true }, ' weight alone', [0, 2]);
    await checkGradients(shape, { training: false, relu: true }, ' weight alone', [0, 2]);
  }
});

test('one value per channel in train mode is an error, as in PyTorch', async () => {
  await scope(async () => {
    const x = upload([1, 2, 3], [1, 3, 1, 1]);
    const w = upload([1, 1, 1], [3]);
    const b = upload([0, 0, 0], [3]);
    assert.throws(() => ops.batchNorm2d(x, w, b, upload([0, 0, 0], [3]), upload([1, 1, 1], [3]), { training: true }), /expected more than 1 value per channel when training.*\[1, 3, 1, 1\]/);
  });
});

test('shape errors name the tensor and both shapes', async () => {
  await scope(async () => {
    const x = upload(new Float32Array(24), [2, 3, 2, 2]);
    const ok = upload([1, 1, 1], [3]);
    const bad = upload([1, 1], [2]);
    assert.throws(() => ops.batchNorm2d(x, bad, ok, null, null, { training: true }), /batchNorm2d: weight has shape \[2\], expected \[3\]/);
    assert.throws(() => ops.batchNorm2d(x, ok, ok, ok, bad, { training: true }), /running_var has shape \[2\], expected \[3\]/);
    assert.throws(() => ops.batchNorm2d(x, ok, ok, null, null, { training: false }), /eval mode needs running_mean and running_var/);
    assert.throws(() => ops.batchNorm2d(upload(new Float32Array(6), [2, 3]), ok, ok, null, null, { training: true }), /expected input of shape \[B, C, H, W\], got \[2, 3\]/);
  });
});

test.run();
