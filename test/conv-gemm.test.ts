// conv2d's 'gemm' variant (1x1 kernels without padding as batched matrix products on the input
// subsampled by the stride) against the float64 reference: forward and both gradients at strides
// 1, 2 and (3, 2), sizes the stride does not divide, B = 1, C = 1; channel counts spanning several
// matmul tiles; the other variants on the same shapes, so every candidate the autotuner may pick
// for a 1x1 convolution is checked; and where 'gemm' does not apply, a clear error.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, conv2d, mul, sumAll } from '../src/ops/index.js';
import { CONV_VARIANTS, convGeometry, gemmApplies } from '../src/ops/conv.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { dispatched } from './dispatched.js';
import { convCase, convGradRef, convOutSize, convRef, describeConv, type ConvCase } from './conv-ref.js';

const test = suite('conv-gemm');
test.before(setupGpu);

// Small awkward 1x1 shapes (finite-difference gradients).
const SMALL: ConvCase[] = [convCase(1, 1, 5, 5, 3, 1, 1, 0), convCase(3, 3, 9, 7, 5, 1, 2, 0), convCase(2, 2, 7, 9, 1, 1, [3, 2], 0), convCase(1, 4, 1, 1, 2, 1, 2, 0)];
// More channels and positions than one matmul tile in every direction (analytic gradients).
const LARGE: ConvCase[] = [convCase(2, 67, 9, 11, 70, 1, 2, 0), convCase(3, 9, 16, 16, 33, 1, 1, 0), convCase(1, 130, 5, 5, 7, 1, 2, 0)];

for (const variant of CONV_VARIANTS) {
  test(`${variant}: 1x1 forward and both gradients vs float64, small awkward shapes`, async () => {
    for (const c of SMALL) {
      await checkOp({
        name: `conv2d ${variant} ${describeConv(c)}`,
        inputs: [{ shape: [c.b, c.cin, c.h, c.w] }, { shape: [c.cout, c.cin, 1, 1] }],
        run: (x, w) => conv2d(x, w, null, { stride: c.stride, variant }),
        ref: (x, w) => convRef(c, x, w),
      });
    }
  });

  test(`${variant}: 1x1 shapes spanning several tiles`, async () => {
    for (const c of LARGE) {
      const { rng, seed } = seeded();
      const f32 = (n: number) => randomArray(rng, n).map(Math.fround);
      const xv = f32(c.b * c.cin * c.h * c.w);
      const wv = f32(c.cout * c.cin);
      const [oh, ow] = convOutSize(c);
      const rv = f32(c.b * c.cout * oh * ow);
      const name = `conv2d ${variant} ${describeConv(c)}`;
      await scope(async () => {
        const x = upload(xv, [c.b, c.cin, c.h, c.w], true);
        const w = upload(wv, [c.cout, c.cin, 1, 1], true);
        const out = conv2d(x, w, null, { stride: c.stride, variant });
        assertClose(await read(out), convRef(c, xv, wv), FORWARD_TOL, `${name} forward`, seed);
        backward(sumAll(mul(out, upload(rv, out.shape))));
        const [dx, dw] = convGradRef(c, xv, wv, rv);
        assertClose(await read(x.grad!), dx, GRAD_TOL, `${name} input gradient`, seed);
        assertClose(await read(w.grad!), dw, GRAD_TOL, `${name} weight gradient`, seed);
        x.grad!.dispose();
        w.grad!.dispose();
      });
    }
  });
}

test("'gemm' runs the subsampling and matmul kernels, not the conv2d ones", () => {
  const seen = dispatched(() => {
    const x = upload(new Float32Array(2 * 3 * 6 * 6).fill(1), [2, 3, 6, 6], true);
    const w = upload(new Float32Array(4 * 3).fill(1), [4, 3, 1, 1], true);
    backward(sumAll(conv2d(x, w, null, { stride: 2, variant: 'gemm' })));
  });
  assert.ok(!seen.some((k) => k.startsWith('conv2d.')), `conv2d kernels ran: ${seen.join(', ')}`);
  assert.ok(seen.includes('subsample.gather') && seen.includes('subsample.scatter'), seen.join(', '));
  assert.is(seen.filter((k) => k.startsWith('matmul.')).length, 3, 'forward, input and weight gradient products');
});

test("'gemm' applies to 1x1 kernels without padding (and, forward, no bias); forcing it elsewhere is a clear error", () => {
  scope(() => {
    const x = upload(new Float32Array(2 * 3 * 5 * 5), [2, 3, 5, 5]);
    const w3 = upload(new Float32Array(4 * 3 * 9), [4, 3, 3, 3]);
    const w1 = upload(new Float32Array(4 * 3), [4, 3, 1, 1]);
    const bias = upload(new Float32Array(4), [4]);
    assert.ok(gemmApplies(convGeometry(x, w1, { stride: 2 }), 'forward'));
    assert.not.ok(gemmApplies(convGeometry(x, w1, { padding: 1 }), 'weight-grad'));
    assert.not.ok(gemmApplies(convGeometry(x, w1), 'forward', true));
    assert.ok(gemmApplies(convGeometry(x, w1), 'weight-grad', true));
    assert.throws(() => conv2d(x, w3, null, { padding: 1, variant: 'gemm' }), /conv2d: variant 'gemm' needs a 1x1 kernel without padding and no bias; got 3x3, padding 1,1/);
    assert.throws(() => conv2d(x, w1, bias, { variant: 'gemm' }), /needs a 1x1 kernel without padding and no bias; got 1x1, padding 0,0, a bias/);
  });
});

test.run();
