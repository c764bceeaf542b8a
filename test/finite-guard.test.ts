// The finite-state guard (kernels/finite.wgsl through src/train/finite-guard.ts): on awkward sizes
// (1, a workgroup -1/+1, a 2-D folded grid), packed in one buffer or several, it names the same first non-finite tensor as a JS
// reference, whatever the position and kind (NaN, +Inf, -Inf) of the bad element, never flags
// extreme finite values (max float, subnormals, -0), and returns the scalars read with it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tensor } from '../src/creation.js';
import { FiniteGuard } from '../src/train/finite-guard.js';
import type { Tensor } from '../src/tensor.js';
import { seeded, setupGpu } from './helpers.js';

const test = suite('finite-guard');
test.before(setupGpu);

const SIZES = [1, 63, 64, 65, 1000, 65535 * 64 + 3];
const EXTREMES = [3.4028234663852886e38, -3.4028234663852886e38, 1.4e-45, -0, 1.1754943508222875e-38];

/** The reference: the first name (in map order) whose values hold a non-finite number. */
function firstBad(values: Map<string, Float32Array>): string | null {
  for (const [name, v] of values) if (v.some((x) => !Number.isFinite(x))) return name;
  return null;
}

// In chunks of at most 1100 elements: [1, 63, 64, 65] | [1000] | [65535 * 64 + 3] (alone, over the cap).
for (const [what, maxChunkBytes] of [
  ['one buffer', undefined],
  ['buffers under a per-buffer limit', 4 * 1100],
] as const)
  test(`names the first non-finite tensor as the float64 reference does, on awkward sizes (${what})`, async () => {
    const { rng, seed } = seeded();
    const guard = new FiniteGuard(maxChunkBytes);
    try {
      for (let trial = 0; trial < 6; trial++) {
        const host = new Map<string, Float32Array>();
        SIZES.forEach((n, i) => {
          const v = Float32Array.from({ length: n }, (_, j) => (j < EXTREMES.length ? EXTREMES[j] : rng.uniform(-1e3, 1e3)));
          host.set(`t${i}.weight`, v);
        });
        // Poison one or two tensors (or none, on trial 0) at a random element, edges included.
        const names = [...host.keys()];
        for (let k = 0; k < (trial === 0 ? 0 : 1 + (trial % 2)); k++) {
          const v = host.get(names[Math.floor(rng.uniform() * names.length)])!;
          const at = [0, v.length - 1, Math.floor(rng.uniform() * v.length)][trial % 3];
          v[at] = [NaN, Infinity, -Infinity][k + (trial % 2)];
        }
        const state = new Map<string, Tensor>([...host].map(([n, v]) => [n, tensor(v, [v.length])]));
        state.set('counter', tensor(new Int32Array([0x7fffffff]), [1], { dtype: 'int32' })); // integers are not checked
        const scalars = [tensor(new Float32Array([1.5]), [1]), tensor(new Float32Array([NaN]), [1])];
        const got = await guard.read(state, scalars);
        assert.is(got.bad, firstBad(host), `trial ${trial} (seed ${seed})`);
        assert.is(got.values[0], 1.5);
        assert.ok(Number.isNaN(got.values[1]), 'scalars are read back as they are');
        for (const t of [...state.values(), ...scalars]) t.dispose();
      }
    } finally {
      guard.dispose();
    }
  });

test.run();
