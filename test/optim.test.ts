// Adam and SGD against PyTorch's own updates (test/fixtures/optim.json, written by
// scripts/fixtures/optim.py), exact resumption from a state dict, and the cosine schedule.
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Adam, SGD, CosineSchedule, cosineLr, type Optimizer, type AdamOptions, type SgdOptions } from '../src/optim/index.js';
import type { Tensor } from '../src/tensor.js';
import { assertClose, read, setupGpu, upload } from './helpers.js';

interface FixtureParam {
  shape: number[];
  init: number[];
  grads: (number[] | null)[];
  expected: number[];
  state: Record<string, number | number[]>;
}
interface FixtureCase {
  name: string;
  options: { kind: 'adam' | 'sgd' } & Record<string, unknown>;
  steps: number;
  params: FixtureParam[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  cases: FixtureCase[];
  cosine: { lrMax: number; lrMin: number; totalSteps: number; lrs: number[] };
};

/** The bar: one optimiser step matches PyTorch's to 1e-5 relative. */
const TORCH_TOL = 1e-5;

const test = suite('optim');
test.before(setupGpu);

function makeOptimizer(c: FixtureCase, params: Tensor[]): Optimizer<AdamOptions> | Optimizer<SgdOptions> {
  const { kind, ...options } = c.options;
  return kind === 'adam' ? new Adam(params, options as Partial<AdamOptions>) : new SGD(params, options as Partial<SgdOptions> & { lr: number });
}

function setGrads(params: Tensor[], c: FixtureCase, step: number): void {
  params.forEach((p, i) => {
    p.grad?.dispose();
    const g = c.params[i].grads[step];
    p.grad = g ? upload(g, p.shape) : null;
  });
}

function uploadParams(c: FixtureCase): Tensor[] {
  return c.params.map((p) => upload(p.init, p.shape, true));
}

function disposeAll(params: Tensor[], opt: { dispose(): void }): void {
  opt.dispose();
  for (const p of params) {
    p.grad?.dispose();
    p.dispose();
  }
}

for (const c of fixture.cases) {
  test(`matches PyTorch: ${c.name}`, async () => {
    const params = uploadParams(c);
    const opt = makeOptimizer(c, params);
    for (let s = 0; s < c.steps; s++) {
      setGrads(params, c, s);
      opt.step();
    }
    const state = opt.stateDict();
    assert.is(state.steps, c.steps);
    for (const [i, want] of c.params.entries()) {
      const got = await read(params[i]);
      assertClose(got, want.expected, TORCH_TOL, `${c.name}: parameter ${i}`);
      // The update itself, which is small next to the parameter: float32 rounding of the
      // parameters bounds this at ~1e-4 relative, so 1e-3 still catches any real error.
      const delta = (xs: ArrayLike<number>) => Array.from(xs, (v, k) => v - want.init[k]);
      if (want.grads.some((g) => g)) assertClose(delta(got), delta(want.expected), 1e-3, `${c.name}: update of parameter ${i}`);
      else assert.equal(Array.from(got), Array.from(Float32Array.from(want.init)), `${c.name}: parameter ${i} had no grad and must not change`);
      for (const [slot, ref] of Object.entries(want.state)) {
        if (slot === 'step') assert.is(state.counters[`${i}.step`], ref, `${c.name}: step count of parameter ${i}`);
        else assertClose(await read(state.tensors[`${i}.${slot}`]), ref as number[], TORCH_TOL, `${c.name}: ${slot} of parameter ${i}`);
      }
      const mine = Object.keys(state.tensors)
        .filter((k) => k.startsWith(`${i}.`))
        .map((k) => k.slice(k.indexOf('.') + 1));
      assert.equal(
        mine.sort(),
        Object.keys(want.state)
          .filter((k) => k !== 'step')
          .sort(),
        `${c.name}: state buffers of parameter ${i}`,
      );
    }
    disposeAll(params, opt);
  });
}

for (const c of fixture.cases.filter((k) => k.steps > 1)) {
  test(`resuming from a state dict is bit-for-bit: ${c.name}`, async () => {
    const straight = uploadParams(c);
    const a = makeOptimizer(c, straight);
    for (let s = 0; s < c.steps; s++) {
      setGrads(straight, c, s);
      a.step();
    }
    const resumed = uploadParams(c);
    const first = makeOptimizer(c, resumed);
    const cut = Math.floor(c.steps / 2);
    for (let s = 0; s < cut; s++) {
      setGrads(resumed, c, s);
      first.step();
    }
    const second = makeOptimizer(c, resumed);
    second.lr = 123; // restored from the state dict
    second.loadStateDict(first.stateDict());
    first.dispose(); // the loaded state must be a copy
    assert.is(second.lr, c.options.lr ?? 1e-3);
    for (let s = cut; s < c.steps; s++) {
      setGrads(resumed, c, s);
      second.step();
    }
    for (let i = 0; i < straight.length; i++) {
      assert.equal(Array.from(await read(resumed[i])), Array.from(await read(straight[i])), `parameter ${i}`);
    }
    assert.is(second.steps, c.steps);
    disposeAll(straight, a);
    disposeAll(resumed, second);
  });
}

test('zeroGrad disposes and clears the gradients; the lr is settable', async () => {
  const p = upload([1, 2, 3], [3], true);
  const opt = new SGD([p], { lr: 0.5 });
  const g = upload([1, 1, 1], [3]);
  p.grad = g;
  opt.lr = 2;
  opt.step();
  assert.equal(Array.from(await read(p)), [-1, 0, 1]);
  opt.zeroGrad();
  assert.is(p.grad, null);
  assert.ok(g.disposed);
  opt.step(); // no grad: nothing happens
  assert.equal(Array.from(await read(p)), [-1, 0, 1]);
  assert.throws(() => (opt.lr = -1), /invalid learning rate -1/);
  p.dispose();
});

test('bad inputs are clear errors', () => {
  const w = upload([1, 2, 3, 4, 5, 6], [2, 3], true);
  w.name = 'fc.weight';
  const b = upload([1, 2], [2], true);
  const adam = new Adam([w, b]);
  w.grad = upload([1, 2, 3], [3]);
  assert.throws(() => adam.step(), /Adam\.step: parameter 0 \('fc\.weight'\) has shape \[2, 3\] but its grad has shape \[3\]/);
  w.grad.dispose();
  w.grad = null;
  assert.throws(() => new Adam([w, w]), /appears twice/);
  assert.throws(() => new Adam([w], { betas: [1, 0.999] }), /invalid beta1 1/);
  assert.throws(() => new SGD([w], { lr: 0.1, nesterov: true }), /Nesterov momentum needs momentum > 0/);
  const sgd = new SGD([w], { lr: 0.1, momentum: 0.9 });
  assert.throws(() => sgd.loadStateDict(adam.stateDict()), /state is from a 'adam' optimiser, this is 'sgd'/);
  const wrong = upload([1, 2], [2]);
  assert.throws(
    () => sgd.loadStateDict({ kind: 'sgd', steps: 1, options: {}, tensors: { '0.momentum_buffer': wrong }, counters: {} }),
    /tensor '0\.momentum_buffer' has shape \[2\], parameter 0 \('fc\.weight'\) has shape \[2, 3\]/,
  );
  assert.throws(() => adam.loadStateDict({ kind: 'adam', steps: 1, options: {}, tensors: { '0.exp_avg': w }, counters: {} }), /missing tensor '0\.exp_avg_sq'/);
  assert.throws(() => adam.loadStateDict({ kind: 'adam', steps: 1, options: {}, tensors: { '5.exp_avg': w }, counters: {} }), /unexpected tensor '5\.exp_avg' \(there are 2 parameters\)/);
  // Moments without their step count would restart Adam's bias correction at step 1.
  assert.throws(
    () => adam.loadStateDict({ kind: 'adam', steps: 1, options: {}, tensors: { '0.exp_avg': w, '0.exp_avg_sq': w }, counters: {} }),
    /missing counter '0\.step' for parameter 0 \('fc\.weight'\)/,
  );
  assert.throws(() => adam.loadStateDict({ kind: 'adam', steps: -1, options: {}, tensors: {}, counters: {} }), /bad step count -1/);
  for (const t of [w, b, wrong]) t.dispose();
});

test('a step with one bad grad updates no parameter, so it can be retried', async () => {
  const w = upload([1, 2, 3], [3], true);
  const b = upload([1, 2], [2], true);
  const adam = new Adam([w, b], { lr: 0.1 });
  w.grad = upload([1, 1, 1], [3]);
  b.grad = upload([1, 1, 1], [3]);
  assert.throws(() => adam.step(), /parameter 1 has shape \[2\] but its grad has shape \[3\]/);
  assert.equal(Array.from(await read(w)), [1, 2, 3], 'the first parameter is unchanged');
  assert.equal(adam.stateDict().counters, {}, 'no step counted');
  adam.dispose();
  adam.zeroGrad();
  for (const t of [w, b]) t.dispose();
});

test('cosine schedule matches torch CosineAnnealingLR and holds its floor', () => {
  const { lrMax, lrMin, totalSteps, lrs } = fixture.cosine;
  const holder = { lr: 0 };
  const schedule = new CosineSchedule(holder, { lrMax, lrMin, totalSteps });
  for (let t = 0; t < lrs.length; t++) {
    assert.ok(Math.abs(holder.lr - lrs[t]) <= 1e-12 * lrs[t], `step ${t}: ${holder.lr} vs torch ${lrs[t]}`);
    assert.ok(Math.abs(cosineLr(t, totalSteps, lrMax, lrMin) - lrs[t]) <= 1e-12 * lrs[t]);
    schedule.step();
  }
  for (let t = 0; t < 5; t++) schedule.step();
  assert.is(holder.lr, lrMin);
  const resumed = new CosineSchedule(holder, { lrMax, lrMin, totalSteps });
  resumed.loadStateDict({ t: 3 });
  assert.ok(Math.abs(holder.lr - lrs[3]) <= 1e-12 * lrs[3]);
  assert.throws(() => cosineLr(1, 0, 1), /totalSteps must be a positive integer/);
});

test.run();
