import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, type ConvVariant } from '../src/ops/index.js';
import { scope } from '../src/scope.js';
import { setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { checkConvAnalytic, convCase as conv, convRef, describeConv as describe, type ConvCase as Case } from './conv-ref.js';

const test = suite('conv2d');
test.before(setupGpu);

// Small awkward shapes, checked against finite differences of the float64 reference. (Each
// distinct kernel size, stride, bias and register tile is a pipeline that lavapipe compiles in
// ~1 s, so the cases share those where they can.)
const SMALL: Case[] = [
  conv(1, 1, 5, 5, 5, 3, 1, 1, true),
  conv(3, 3, 7, 9, 1, 3, 2, 1, false),
  conv(3, 3, 9, 7, 5, 1, 2, 0, true),
  conv(1, 3, 9, 9, 5, 1, 1, 0, false),
  conv(1, 2, 3, 3, 3, 3, 1, 0, true), // one output row: the weight gradient needs no second pass
  conv(1, 2, 7, 9, 3, 3, [3, 2], [1, 0], false),
  conv(1, 2, 5, 11, 2, [3, 7], 1, [1, 2], true), // more taps than the register weight gradient holds
];

// Larger than one register block (channels > 4 or 8, columns > 16) and than one 64x64 tile;
// gradients against the analytic reference (finite differences would be slow).
const LARGE: Case[] = [conv(2, 5, 11, 21, 70, 3, 1, 1, true), conv(3, 9, 13, 19, 11, 3, 2, 1, false), conv(2, 67, 3, 9, 9, 1, 1, 0, false)];

const VARIANTS: ConvVariant[] = ['register', 'tiled'];

for (const variant of VARIANTS) {
  test(`${variant}: forward and both gradients vs float64 on small awkward shapes`, async () => {
    for (const c of SMALL) {
      const [kh, kw] = [c.kh, c.kw];
      await checkOp({
        name: `conv2d ${variant} ${describe(c)}`,
        inputs: [{ shape: [c.b, c.cin, c.h, c.w] }, { shape: [c.cout, c.cin, kh, kw] }, ...(c.bias ? [{ shape: [c.cout] }] : [])],
        run: (x, w, bias) => conv2d(x, w, bias ?? null, { stride: c.stride, padding: c.pad, variant }),
        ref: (x, w, bias) => convRef(c, x, w, bias),
      });
    }
  });

  test(`${variant}: shapes spanning several register blocks and tiles`, async () => {
    for (const c of LARGE) await checkConvAnalytic(variant, c);
  });
}

test('clear errors for mismatched shapes', () => {
  scope(() => {
    const x = upload(new Float64Array(2 * 3 * 5 * 5), [2, 3, 5, 5]);
    const w4 = upload(new Float64Array(6 * 4 * 9), [6, 4, 3, 3]);
    assert.throws(() => conv2d(x, w4), /conv2d: input has 3 channels, weight expects 4/);
    const w = upload(new Float64Array(6 * 3 * 9), [6, 3, 3, 3]);
    assert.throws(() => conv2d(x, w, upload([1, 2], [2])), /conv2d: bias has shape \[2\], expected \[6\]/);
    assert.throws(() => conv2d(upload(new Float64Array(75), [3, 5, 5]), w), /conv2d: input must be \[batch, channels, height, width\]/);
    const w7 = upload(new Float64Array(6 * 3 * 49), [6, 3, 7, 7]);
    assert.throws(() => conv2d(x, w7), /conv2d: a 7x7 kernel with padding 0,0 does not fit a 5x5 input/);
    assert.throws(() => conv2d(x, w, null, { stride: 0 }), /conv2d: stride must be an integer >= 1/);
  });
});

test.run();
