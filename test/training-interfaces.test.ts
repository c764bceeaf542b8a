// The narrow interfaces of training: a step reads only its objective's and mixing method's
// options (mixingConfig copies nothing else), the objective is built once and refuses what it
// cannot train, optimizerStep is the one skeleton of every step (update, follow-up work, one
// readback, the guard's check, the scalars freed), and withFrozenRunningStats leaves the
// BatchNorm statistics alone and gives each layer back its own setting.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchNorm2d, SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { randn, tensor } from '../src/creation.js';
import * as ops from '../src/ops/index.js';
import { SGD } from '../src/optim/index.js';
import { FiniteGuard } from '../src/train/finite-guard.js';
import { createObjective, type Objective } from '../src/train/objectives.js';
import { mixingConfig, resolveOptions, type TrainOptions } from '../src/train/options.js';
import { TrainStep, type StepOptions } from '../src/train/step.js';
import { optimizerStep } from '../src/train/step-skeleton.js';
import type { Tensor } from '../src/tensor.js';
import { read, setupGpu } from './helpers.js';

const test = suite('training-interfaces');
test.before(setupGpu);

const B = 4;
const DATA = { channels: 1, height: 32, width: 32 };
const options = (given: Partial<TrainOptions> = {}) => resolveOptions({ protocol: 'mnist-mini', width: 2, batchSize: B, epochs: 1, progress: false, evaluate: false, ...given });
const images = (seed: number) => {
  const rng = new Rng(seed);
  return Float32Array.from({ length: B * 1024 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
};
const labels = Int32Array.from({ length: B }, (_, i) => i % 2);

test('mixingConfig copies the mixing method and its settings, and nothing else', () => {
  const o = options({ method: 'cutmix', mixAlpha: 0.4, gammaMin: 0.2, fill: 'zero' });
  const c = mixingConfig(o);
  assert.equal(Object.keys(c).sort(), ['attentionGrid', 'attentionTopK', 'camNormalize', 'fill', 'gammaMax', 'gammaMin', 'layers', 'method', 'mixAlpha']);
  assert.equal(c, { method: 'cutmix', layers: o.layers, camNormalize: 'image', gammaMin: 0.2, gammaMax: 0.5, fill: 'zero', mixAlpha: 0.4, attentionGrid: 7, attentionTopK: 6 });
});

test('a GradMix step reads no option outside StepOptions, and loses nothing by it', async () => {
  const o = options();
  const allowed = new Set<string>(['objective', 'tau', 'theta', 'lambda', ...Object.keys(mixingConfig(o))]);
  const read: string[] = [];
  const guarded = new Proxy(o, {
    get(target, key: string) {
      if (!allowed.has(key)) read.push(key);
      return target[key as keyof TrainOptions];
    },
  }) as StepOptions;
  const narrow = Object.fromEntries([...allowed].map((k) => [k, o[k as keyof TrainOptions]])) as StepOptions;
  const losses: number[] = [];
  for (const given of [o, guarded, narrow]) {
    const model = new SupConResNet(new Rng(3), { width: 2, inChannels: 1 });
    const step = new TrainStep(model, given, 'mnist', DATA);
    losses.push(await scope(() => step.loss(images(1), labels, new Rng(5))).item());
    model.dispose();
  }
  assert.equal(read, [], `the step read options it does not declare: ${read.join(', ')}`);
  assert.ok(Number.isFinite(losses[0]), `loss ${losses[0]}`);
  assert.equal(losses.slice(1), [losses[0], losses[0]], 'the same loss from the whole options, the watched ones and the narrow ones');
});

test('createObjective: an unknown name lists the objectives; the ce objectives need a classifier', () => {
  const plain = new SupConResNet(new Rng(0), { width: 2, inChannels: 1 });
  const weights = { tau: 0.1, theta: 1, lambda: 1 };
  assert.throws(() => createObjective('mse' as Objective, plain, weights), /unknown objective 'mse'; use one of supcon\+ssl, supcon, ce, ce\+ssl/);
  assert.throws(() => createObjective('ce', plain, weights), /objective 'ce' needs a model built with a classifier/);
  const supcon = createObjective('supcon', plain, { ...weights, theta: 0.3 });
  assert.is(supcon.name, 'supcon');
  assert.is(supcon.mixedWeight, 0.3, 'supcon weighs its mixed term by theta');
  assert.is(createObjective('supcon+ssl', plain, { ...weights, lambda: 1.2 }).mixedWeight, 1.2, 'supcon+ssl weighs it by lambda');
  plain.dispose();
});

test('optimizerStep: update, then afterUpdate in the scope, one readback of loss and terms, scalars freed', async () => {
  const w = tensor([1, 2], [2], { requiresGrad: true });
  const opt = new SGD([w], { lr: 0.5 });
  const seen: { loss: Tensor; double: Tensor; updated: boolean }[] = [];
  const forward = () => {
    const loss = ops.meanAll(ops.mul(w, w)); // 2.5; gradient w
    return { loss, terms: { double: ops.mulScalar(loss, 2) } };
  };
  const r = await optimizerStep(opt, forward, {
    // The optimiser's step and zeroGrad come first: the gradient is gone by then.
    afterUpdate: (g) => seen.push({ loss: g.loss, double: g.terms.double, updated: w.grad === null }),
  });
  assert.equal(r, { loss: 2.5, terms: { double: 5 }, bad: null });
  assert.is(seen.length, 1, 'afterUpdate ran once');
  assert.ok(seen[0].updated, 'afterUpdate ran after the update');
  assert.ok(seen[0].loss.disposed && seen[0].double.disposed, 'the read scalars are freed');
  assert.equal(Array.from(await read(w)), [0.5, 1], 'w - lr * grad');
  assert.is(w.grad, null, 'gradients cleared after the update');

  // With a guard, the same readback names a non-finite state tensor.
  const guard = new FiniteGuard();
  const broken = tensor([1, NaN], [2]);
  broken.name = 'broken';
  const checked = await optimizerStep(opt, forward, {
    check: {
      guard,
      state: () =>
        new Map([
          ['w', w],
          ['broken', broken],
        ]),
    },
  });
  assert.is(checked.loss, 0.625, 'loss of the updated w');
  assert.is(checked.terms.double, 1.25);
  assert.is(checked.bad, 'broken');
  const fine = await optimizerStep(opt, forward, { check: { guard, state: () => new Map([['w', w]]) } });
  assert.is(fine.bad, null);
  guard.dispose();
  broken.dispose();
  opt.dispose();
  w.dispose();
});

test('withFrozenRunningStats: a train-mode forward leaves the statistics; each layer gets its own setting back; promises are refused', async () => {
  const model = new SupConResNet(new Rng(2), { width: 2, inChannels: 1 });
  model.train();
  const bns = [...model.modules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  const stats = async () => (await Promise.all(bns.flatMap((b) => [read(b.runningMean), read(b.runningVar)]))).map((a) => Array.from(a));
  const before = await stats();
  bns[1].updateRunningStats = false; // a layer someone froze on purpose stays frozen
  const x = randn([B, 1, 32, 32], new Rng(9));
  const out = model.withFrozenRunningStats(() => {
    assert.ok(
      bns.every((b) => !b.updateRunningStats),
      'every BatchNorm is frozen inside',
    );
    return scope(() => ops.sumAll(model.call(x)));
  });
  assert.ok(Number.isFinite(await out.item()), "fn's result comes back");
  assert.equal(await stats(), before, 'the forward changed running statistics');
  assert.equal(
    bns.map((b) => b.updateRunningStats),
    bns.map((_, i) => i !== 1),
    "each layer's own setting restored",
  );
  assert.throws(() => model.withFrozenRunningStats(() => Promise.resolve(1)), /withFrozenRunningStats: fn returned a promise/);
  assert.throws(
    () =>
      model.withFrozenRunningStats(() => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(
    bns.map((b) => b.updateRunningStats),
    bns.map((_, i) => i !== 1),
    'restored after a refusal and after a throw',
  );
  // Outside, the same forward does update them (the check above can fail).
  scope(() => model.call(x));
  assert.not.equal(await stats(), before, 'a train-mode forward outside left the statistics');
  out.dispose();
  x.dispose();
  model.dispose();
});

test.run();
