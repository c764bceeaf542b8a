// Training as a whole: the GradMix step's loss is paper eq. 8, the attribution pass leaves the
// parameters and their gradients untouched, a resumed run ends with the same weights as an
// uninterrupted one, and a NaN loss stops the run with a clear message.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { tensor } from '../src/creation.js';
import * as ops from '../src/ops/index.js';
import { augmentPreset, augmentViews, sampleViews } from '../src/augment/index.js';
import { contrastiveLoss } from '../src/losses/index.js';
import { attribution, mixedTerm } from '../src/train/mixing.js';
import { simclrTarget } from '../src/train/objectives.js';
import { mixingConfig, resolveOptions } from '../src/train/options.js';
import { train } from '../src/train/train.js';
import { TrainStep } from '../src/train/step.js';
import { read, seeded, setupGpu } from './helpers.js';

const test = suite('train');
test.before(setupGpu);

const B = 4;
const tiny = (method: 'gradmix' | 'none' | 'mixup' | 'cutmix' = 'gradmix') => resolveOptions({ protocol: 'mnist-mini', width: 2, batchSize: B, method, epochs: 1, progress: false, evaluate: false });

function randomImages(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n * 32 * 32 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
}

/** float64 SimCLR per anchor for views a (anchors 0..N-1) and b (anchors N..2N-1). */
function simclrPerAnchor(a: Float64Array, b: Float64Array, n: number, d: number, tau: number): number[] {
  const rows = [...Array(2 * n)].map((_, r) => (r < n ? a.subarray(r * d, (r + 1) * d) : b.subarray((r - n) * d, (r - n + 1) * d)));
  const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, v, i) => s + v * y[i], 0);
  return rows.map((zr, r) => {
    const partner = r < n ? r + n : r - n;
    let denom = 0;
    rows.forEach((zk, k) => {
      if (k !== r) denom += Math.exp(dot(zr, zk) / tau);
    });
    return -(dot(zr, rows[partner]) / tau - Math.log(denom));
  });
}

test('a GradMix step computes paper eq. 8 from its parts', async () => {
  const { rng, seed } = seeded();
  const o = tiny();
  const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1 });
  const labels = Int32Array.from({ length: B }, (_, i) => i % 2);
  await scope(async () => {
    const aug = augmentPreset('mnist');
    const views = augmentViews(tensor(randomImages(rng, B), [B, 1, 32, 32]), sampleViews(rng, B, 32, 32, aug), aug);
    const { result: z, activations } = model.withActivations(o.layers, () => model.call(views));
    const y = tensor(labels, [B], { dtype: 'int32' });
    const base = contrastiveLoss(z, y, { tau: o.tau, theta: o.theta, lambda: o.lambda });
    const { term, mix } = mixedTerm({ config: mixingConfig(o), target: simclrTarget(model, z, o.tau), views, activations, rng });
    const total = ops.add(base, ops.mulScalar(term, o.lambda));
    // Eq. 8 in float64 from the GPU's features of the mixed images and view 2.
    const zMixed = model.call(mix.mixed);
    const zv = await read(z);
    const zm = await read(zMixed);
    const d = z.shape[1];
    const per = simclrPerAnchor(zm, zv.subarray(B * d), B, d, o.tau);
    const gamma2 = [...(mix.weights as Float32Array)];
    const want = (await base.item()) + (o.lambda * per.reduce((s, l, r) => s + gamma2[r % B] * l, 0)) / (2 * B);
    const got = await total.item();
    assert.ok(Math.abs(got - want) / Math.abs(want) < 1e-4, `loss ${got} vs eq. 8 ${want} (seed ${seed})`);
    assert.ok(
      gamma2.every((w) => w >= 0.01 - 1e-7 && w <= 0.25 + 1e-7),
      'weights are gamma^2 with gamma in [0.1, 0.5]',
    );
  });
});

test('the attribution pass leaves parameters, their gradients and the running statistics untouched', async () => {
  const { rng, seed } = seeded();
  const o = tiny();
  const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1 });
  const state = () => Promise.all(Array.from(model.stateDict().values(), (t) => read(t)));
  await scope(async () => {
    const aug = augmentPreset('mnist');
    const views = augmentViews(tensor(randomImages(rng, B), [B, 1, 32, 32]), sampleViews(rng, B, 32, 32, aug), aug);
    // The step's forward (it updates the running statistics once).
    const { result: z, activations } = model.withActivations(o.layers, () => model.call(views));
    const before = await state();
    const { centres } = attribution({ config: mixingConfig(o), target: simclrTarget(model, z, o.tau), views, activations });
    const c = await centres.data();
    assert.ok(
      c.every((v) => v >= 0 && v < 32 * 32),
      'centres are pixel indices',
    );
    const after = await state();
    before.forEach((v, i) => assert.equal(Array.from(after[i]), Array.from(v), `state tensor ${i} changed`));
  });
  for (const p of model.parameters()) assert.is(p.grad, null, `${p.name} got a gradient`);
});

test('every method takes a step with a finite loss', async () => {
  const { rng, seed } = seeded();
  for (const method of ['none', 'gradmix', 'mixup', 'cutmix'] as const) {
    const o = tiny(method);
    const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1 });
    const step = new TrainStep(model, o, 'mnist', { channels: 1, height: 32, width: 32 });
    const { Adam } = await import('../src/optim/index.js');
    const opt = new Adam(model.parameters(), { lr: 1e-3 });
    const loss = await step.run(
      randomImages(rng, B),
      Int32Array.from({ length: B }, (_, i) => i % 3),
      opt,
      new Rng(seed),
    );
    assert.ok(Number.isFinite(loss), `${method}: loss ${loss} (seed ${seed})`);
    model.dispose();
  }
});

const runDir = () => mkdtempSync(join(tmpdir(), 'gradmix-train-'));
const weights = async (m: SupConResNet) => Promise.all(m.parameters().map(async (p) => Array.from(await p.data())));
const quick = { protocol: 'mnist-mini', width: 2, batchSize: 16, maxTrain: 48, epochs: 2, method: 'gradmix' as const, progress: false, evaluate: false };

test('an interrupted run resumed gives the same weights as an uninterrupted one', async () => {
  const whole = await train({ ...quick, out: runDir() });
  const outB = runDir();
  const controller = new AbortController();
  // Stop after the 4th step (mid-epoch 2 of 3 steps each), then resume.
  const first = await train({ ...quick, out: outB }, { signal: controller.signal, onStep: (s) => s === 3 && controller.abort() });
  assert.ok(first.interrupted, 'the first run stopped early');
  const resumed = await train({ ...quick, out: outB, resume: true });
  assert.is(resumed.epochs.length, 1, 'the resumed run finished the second epoch');
  const a = await weights(whole.model);
  const b = await weights(resumed.model);
  a.forEach((w, i) => assert.equal(b[i], w, `parameter ${i} differs`));
  assert.ok(existsSync(join(outB, 'checkpoint.safetensors')));
  const rows = (dir: string) =>
    readFileSync(join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const log = rows(outB);
  assert.is(log.filter((r) => r.kind === 'epoch').length, 2, 'one epoch row per finished epoch');
  // Resumed = uninterrupted: every step row (loss and terms) and each epoch's loss, and a finished status.
  const same = (r: Record<string, unknown>) =>
    JSON.stringify(r.kind === 'epoch' ? { epoch: r.epoch, step: r.step, loss: r.loss, lr: r.lr } : r.kind === 'status' ? { status: r.status, step: r.step } : r);
  assert.equal(log.map(same), rows(whole.checkpoint.replace(/[^/]+$/, '')).map(same));
  assert.is(log.filter((r) => r.kind === 'step').length, 6);
  assert.is(log[log.length - 1].status, 'finished');
  for (const r of [whole, first, resumed]) r.model.dispose();
});

test('resuming with other settings is a clear error', async () => {
  const out = runDir();
  const r = await train({ ...quick, epochs: 1, out });
  r.model.dispose();
  try {
    await train({ ...quick, epochs: 1, out, width: 4, resume: true });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /different settings/);
  }
});

test('a non-finite loss stops the run and names the step', async () => {
  try {
    await train({ ...quick, epochs: 1, out: runDir(), lr: 1e30, lrMin: 1e30 });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /loss is (NaN|Infinity|-Infinity) at step \d+ \(epoch 1, batch \d+\); stopping/);
  }
});

test("a batch too large for the adapter's buffer limit fails at the first step, before any update, naming the largest batch that fits", async () => {
  const { gpu } = await import('../runtime/gpu.js');
  const pool = gpu().pool as unknown as { maxBufferSize: number };
  const limit = pool.maxBufferSize;
  pool.maxBufferSize = 2 ** 20; // an adapter with 1 MiB storage buffers
  try {
    await train({ ...quick, epochs: 1, batchSize: 32, out: runDir() });
    assert.unreachable('should have thrown');
  } catch (e) {
    const m =
      /--batch 32 is too large for this adapter: training step 1 \(epoch 1, batch 1\) needs a buffer of ([\d.]+) MiB \(buffers grow with the batch; no weights were updated\), over the 1\.0 MiB the adapter allows per storage buffer; the largest batch that fits is about (\d+)/.exec(
        (e as Error).message,
      );
    assert.ok(m, (e as Error).message);
    assert.ok(Number(m![2]) < 32 && Number(m![2]) >= Math.floor(32 / Number(m![1])) - 1, `suggested ${m![2]}`);
  } finally {
    pool.maxBufferSize = limit;
  }
});

test('a loss that stays finite while the weights diverge stops the run naming the tensor; nothing non-finite is saved', async () => {
  const out = runDir();
  try {
    await train({ ...quick, epochs: 1, out, lr: 1e10, lrMin: 1e10 });
    assert.unreachable('should have thrown');
  } catch (e) {
    // Only the finite guard's message: a NaN loss would be the loss check, not the guard.
    assert.match((e as Error).message, /^'[\w.]+' holds NaN or Inf after step \d+ \(epoch 1, batch \d+\) \(the loss, -?[\d.]+(e[-+]\d+)?, is still finite\); stopping\. No checkpoint was written yet/);
  }
  assert.not.ok(existsSync(join(out, 'checkpoint.safetensors')));
  const rows = readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.is(rows[rows.length - 1].status, 'failed');
});

test.run();
