// Subgroup kernels (kernels/batchnorm_subgroups.wgsl): batch norm's statistics and gradient
// partials reduced with subgroupAdd, forced on and checked against the float64 reference at
// shapes where a channel's values do not fill the workgroups (channels 1, 3, 17; counts that are
// not multiples of 64, one or several workgroups per channel, lanes left empty), beside the
// fallback forced on the same inputs. Skipped, saying why, where the device has no subgroups.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../runtime/gpu.js';
import * as ops from '../src/ops/index.js';
import { setupGpu, upload } from './helpers.js';
import { dispatched } from './dispatched.js';
import type { Shape4 } from './batchnorm-ref.js';
import { checkForward, checkGradients } from './batchnorm-checks.js';

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
    // The fallback runs on any device; only the subgroup variant needs the feature.
    if (forced && missing()) return;
    ops.forceBatchNormSubgroups(forced);
    for (const shape of SHAPES) {
      await checkForward(shape, { training: true });
      await checkForward(shape, { training: true, relu: true });
    }
    await checkForward([2, 17, 13, 11], { training: true }, 100);
  });

  test(`${which}: gradients of input, weight and bias (train, with and without ReLU)`, async () => {
    if (forced && missing()) return;
    ops.forceBatchNormSubgroups(forced);
    for (const shape of GRAD_SHAPES) {
      await checkGradients(shape, { training: true }, ` subgroups ${ops.batchNormUsesSubgroups()}`);
      await checkGradients(shape, { training: true, relu: true }, ` subgroups ${ops.batchNormUsesSubgroups()}`);
    }
  });
}

test.run();
