// Subgroup kernels (kernels/batchnorm_subgroups.wgsl): batch norm's statistics and gradient
// partials reduced with subgroupAdd, forced on and checked against the float64 reference at
// shapes where a channel's values do not fill the workgroups (channels 1, 3, 17; counts that are
// not multiples of 64, one or several workgroups per channel, lanes left empty), beside the
// fallback forced on the same inputs. Skipped, saying why, where the device has no subgroups.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../runtime/gpu.js';
import * as ops from '../src/ops/index.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, assertClose, read, seeded, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { dispatched } from './dispatched.js';
import { bnRef, makeInputs, type RefOptions, type Shape4 } from './batchnorm-ref.js';

const test = suite('subgroups');
test.before(setupGpu);
test.after(() => ops.forceBatchNormSubgroups(null));

// Values per channel: 2 (62 of 64 lanes empty), 35, 286 and 323 (two workgroups, the last one
// partly empty), 4920 (nine workgroups of 9-value lanes, uneven).
const SHAPES: Shape4[] = [
  [2, 1, 1, 1],
  [1, 3, 5, 7],
  [2, 17, 13, 11],
  [1, 3, 17, 19],
  [3, 1, 40, 41],
];
const GRAD_SHAPES: Shape4[] = [
  [2, 3, 3, 5],
  [1, 1, 4, 3],
  [2, 17, 13, 11],
  [2, 1, 25, 23],
];

/** Why this device cannot run the test, or null. */
function missing(): string | null {
  return gpu().hasSubgroups ? null : `${gpu().describe()} has no 'subgroups' feature (or GRADMIX_SUBGROUPS=0)`;
}

async function checkForward(shape: Shape4, o: RefOptions, offset = 0): Promise<void> {
  const { rng, seed } = seeded();
  const { x, w, b, rm, rv } = makeInputs(rng, shape, offset);
  const want = bnRef(x, w, b, rm, rv, shape, o);
  const tag = `${JSON.stringify(shape)} ${JSON.stringify(o)}${offset ? ` offset ${offset}` : ''}`;
  await scope(async () => {
    const C = shape[1];
    const runningMean = upload(rm, [C]);
    const runningVar = upload(rv, [C]);
    const out = ops.batchNorm2d(upload(x, shape), upload(w, [C]), upload(b, [C]), runningMean, runningVar, o);
    assertClose(await read(out), want.out, FORWARD_TOL, `${tag} output`, seed);
    assertClose(await read(runningMean), want.runningMean, FORWARD_TOL, `${tag} running_mean`, seed);
    assertClose(await read(runningVar), want.runningVar, FORWARD_TOL, `${tag} running_var`, seed);
  });
}

async function checkGradients(shape: Shape4, o: RefOptions): Promise<void> {
  const C = shape[1];
  const rm = Float64Array.from({ length: C }, (_, c) => Math.fround(0.1 * c - 0.2));
  const rv = Float64Array.from({ length: C }, (_, c) => Math.fround(0.8 + 0.3 * c));
  await checkOp({
    name: `batchNorm2d ${JSON.stringify(shape)} ${JSON.stringify(o)} subgroups ${ops.batchNormUsesSubgroups()}`,
    inputs: [
      { shape, lo: -2, hi: 2 },
      { shape: [C], lo: 0.5, hi: 1.5 },
      { shape: [C], lo: -0.5, hi: 0.5 },
    ],
    run: (x, w, b) => ops.batchNorm2d(x, w, b, upload(rm, [C]), upload(rv, [C]), o),
    ref: (x, w, b) => bnRef(x, w, b, rm, rv, shape, o).out,
  });
}

/** The partial passes a training-mode forward and backward dispatch. */
function partialKernels(): string[] {
  const x = upload(
    new Float32Array(2 * 3 * 5 * 5).map((_, i) => Math.sin(i)),
    [2, 3, 5, 5],
    true,
  );
  const w = upload([1, 1, 1], [3]);
  const b = upload([0, 0, 0], [3]);
  return dispatched(() => ops.backward(ops.sumAll(ops.batchNorm2d(x, w, b, null, null, { training: true, relu: true })))).filter((k) => k.endsWith('_partial'));
}

test('the variant runs where forced, the fallback elsewhere', () => {
  const why = missing();
  if (why) {
    console.log(`  skipped: ${why}`);
    assert.not.ok(ops.batchNormUsesSubgroups(), 'no subgroup kernels without the feature');
    return;
  }
  ops.forceBatchNormSubgroups(true);
  assert.equal(partialKernels(), ['batchnorm_subgroups.stats_partial', 'batchnorm_subgroups.grad_partial']);
  ops.forceBatchNormSubgroups(false);
  assert.equal(partialKernels(), ['batchnorm.stats_partial', 'batchnorm.grad_partial']);
  // Unforced, the device's feature decides.
  ops.forceBatchNormSubgroups(null);
  assert.ok(ops.batchNormUsesSubgroups());
});

for (const forced of [true, false]) {
  const which = forced ? 'subgroup variant' : 'fallback';
  test(`${which}: train-mode output and running stats, with and without ReLU, and under a large offset`, async () => {
    if (missing()) return;
    ops.forceBatchNormSubgroups(forced);
    for (const shape of SHAPES) {
      await checkForward(shape, { training: true });
      await checkForward(shape, { training: true, relu: true });
    }
    await checkForward([2, 17, 13, 11], { training: true }, 100);
  });

  test(`${which}: gradients of input, weight and bias (train, with and without ReLU)`, async () => {
    if (missing()) return;
    ops.forceBatchNormSubgroups(forced);
    for (const shape of GRAD_SHAPES) {
      await checkGradients(shape, { training: true });
      await checkGradients(shape, { training: true, relu: true });
    }
  });
}

test.run();
