// The optimiser kernels (kernels/optim.wgsl) against float64 references of torch.optim's update
// rules, on fresh random parameters and gradients at awkward sizes: one element, a workgroup -1/+1,
// several workgroups, and a grid folded into two dimensions (over 65535 workgroups of 64). The
// PyTorch fixtures of test/optim.test.ts pin the rules on tensors of at most 15 elements; these
// pin the kernels' indexing.
import { suite } from 'uvu';
import { Adam, SGD, type Optimizer } from '../src/optim/index.js';
import type { Tensor } from '../src/tensor.js';
import * as assert from 'uvu/assert';
import { assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';

const test = suite('optim-ref');
test.before(setupGpu);

const SIZES = [1, 63, 65, 4097, 65535 * 64 + 3];
const STEPS = 3;

interface Case {
  name: string;
  make: (params: Tensor[]) => Optimizer<{ lr: number }>;
  /** One step of the rule on one parameter (float64), with its state, at step t (1-based). */
  update: (p: Float64Array, g: Float64Array, state: Record<string, Float64Array>, t: number) => void;
}

function adamRef(lr: number, b1: number, b2: number, eps: number, wd: number): Case['update'] {
  return (p, g0, s, t) => {
    s.m ??= new Float64Array(p.length);
    s.v ??= new Float64Array(p.length);
    const stepSize = lr / (1 - b1 ** t);
    const bc2 = Math.sqrt(1 - b2 ** t);
    for (let i = 0; i < p.length; i++) {
      const g = g0[i] + wd * p[i];
      s.m[i] = b1 * s.m[i] + (1 - b1) * g;
      s.v[i] = b2 * s.v[i] + (1 - b2) * g * g;
      p[i] -= (stepSize * s.m[i]) / (Math.sqrt(s.v[i]) / bc2 + eps);
    }
  };
}

function sgdRef(lr: number, momentum: number, dampening: number, wd: number, nesterov: boolean): Case['update'] {
  return (p, g0, s, t) => {
    if (momentum > 0) s.buf ??= new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const g = g0[i] + wd * p[i];
      if (momentum === 0) {
        p[i] -= lr * g;
        continue;
      }
      s.buf[i] = t === 1 ? g : momentum * s.buf[i] + (1 - dampening) * g;
      p[i] -= lr * (nesterov ? g + momentum * s.buf[i] : s.buf[i]);
    }
  };
}

const CASES: Case[] = [
  { name: 'Adam, weight decay', make: (ps) => new Adam(ps, { lr: 1e-2, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.05 }), update: adamRef(1e-2, 0.8, 0.95, 1e-6, 0.05) },
  { name: 'SGD', make: (ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.01 }), update: sgdRef(0.1, 0, 0, 0.01, false) },
  { name: 'SGD, momentum and dampening', make: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.25 }), update: sgdRef(0.1, 0.9, 0.25, 0, false) },
  { name: 'SGD, Nesterov', make: (ps) => new SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1 }), update: sgdRef(0.05, 0.8, 0, 0.1, true) },
];

for (const c of CASES) {
  test(`${c.name}: ${STEPS} steps match the float64 rule at sizes ${SIZES.join(', ')}`, async () => {
    const { rng, seed } = seeded();
    // Float32 values, so both sides start from the same numbers.
    const f32 = (xs: Float64Array) => Float64Array.from(Float32Array.from(xs));
    const init = SIZES.map((n) => f32(randomArray(rng, n, -1, 1)));
    const params = init.map((p) => upload(p, [p.length], true));
    const opt = c.make(params);
    const ref = init.map((p) => Float64Array.from(p));
    // Float32 rounds each step relative to the largest value it handles (the parameter before and
    // after, and the step), so the error is judged against that, element by element: a parameter
    // that lands near zero (one element, seed 1369493801) is not held to a bound relative to itself.
    const scale = init.map((p) => p.map(Math.abs));
    const state = SIZES.map(() => ({}) as Record<string, Float64Array>);
    for (let t = 1; t <= STEPS; t++) {
      const grads = SIZES.map((n) => f32(randomArray(rng, n, -2, 2)));
      params.forEach((p, i) => {
        p.grad?.dispose();
        p.grad = upload(grads[i], [SIZES[i]]);
      });
      opt.step();
      ref.forEach((p, i) => {
        const before = Float64Array.from(p);
        c.update(p, grads[i], state[i], t);
        for (let k = 0; k < p.length; k++) scale[i][k] = Math.max(scale[i][k], Math.abs(p[k]), Math.abs(p[k] - before[k]));
      });
    }
    for (const [i, p] of params.entries()) {
      const got = await read(p);
      const what = `${c.name}: parameter of ${SIZES[i]} (seed ${seed})`;
      assertClose(got, ref[i], Infinity, what); // shape and no unwritten element
      const err = norm(got.map((v, k) => v - ref[i][k])) / norm(scale[i]);
      assert.ok(err < 2e-6, `${what}: error ${err.toExponential(3)} of the largest values >= 2e-6`);
    }
    opt.dispose();
    for (const p of params) {
      p.grad?.dispose();
      p.dispose();
    }
  });
}

const norm = (xs: Float64Array) => Math.sqrt(xs.reduce((sum, x) => sum + x * x, 0));

test.run();
