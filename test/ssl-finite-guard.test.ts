// Self-supervised pre-training under the finite-state guard: SslStep.runChecked reads the loss,
// its terms and the guard's check of every tensor the run saves (the model's, MoCo's key encoder
// and queue) in one readback, and names the first non-finite one; `pretrain` stops at that step
// with a message naming the tensor and the step, and the checkpoint it keeps (MoCo's state
// inside) is the last good one, every value finite.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SupConResNet } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import * as ops from '../src/ops/index.js';
import { fillInto } from '../src/ops/elementwise.js';
import { FiniteGuard } from '../src/train/finite-guard.js';
import { metadataJson, readCheckpoint, toNumbers } from '../src/checkpoint/index.js';
import { KeyQueue } from '../src/ssl/moco.js';
import { resolvePretrainOptions, type PretrainOptions } from '../src/ssl/options.js';
import { SslStep } from '../src/ssl/step.js';
import { MOCO_PREFIX, pretrain } from '../src/ssl/pretrain.js';
import type { Tensor } from '../src/tensor.js';
import { seeded, setupGpu } from './helpers.js';

const test = suite('ssl-finite-guard');
test.before(setupGpu);

const B = 4;

function randomImages(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n * 32 * 32 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
}

/** A train-mode model and its step: BatchNorm normalises by the batch, so a poisoned running statistic leaves the loss finite. */
function newStep(ssl: 'simclr' | 'moco', method: PretrainOptions['method'], seed: number) {
  const o = resolvePretrainOptions({ ssl, method, protocol: 'mnist-mini', width: 2, batchSize: B, queueSize: 8, epochs: 1, progress: false, evaluate: false });
  const modelOptions = { width: 2, inChannels: 1 };
  const rng = new Rng(seed);
  const model = new SupConResNet(rng, modelOptions);
  model.train();
  const step = new SslStep(model, o, 'mnist', { channels: 1, height: 32, width: 32 }, modelOptions, rng);
  return { model, step, opt: new Adam(model.parameters(), { lr: 1e-3 }) };
}

/** The first running variance of a state dict, by name. */
const runningVar = (state: Map<string, Tensor>) => [...state].find(([n]) => n.endsWith('running_var'))!;

test("runChecked: loss and terms in one readback; a poisoned running statistic of the model or of MoCo's key encoder is named, the loss still finite", async () => {
  const { rng, seed } = seeded();
  const guard = new FiniteGuard();
  try {
    for (const ssl of ['simclr', 'moco'] as const) {
      const { model, step, opt } = newStep(ssl, 'gradmix', seed);
      const state = step.state();
      assert.ok(ssl === 'moco' ? state.has('moco.queue') && state.has('moco.key.encoder.conv1.weight') : ![...state.keys()].some((n) => n.startsWith('moco.')), `${ssl}: the checked state`);
      const clean = await step.runChecked(randomImages(rng, B), opt, new Rng(seed), guard);
      assert.is(clean.bad, null, `${ssl}: a healthy step (seed ${seed})`);
      assert.equal(Object.keys(clean.terms).sort(), [ssl, 'mixed'].sort());
      const sum = clean.terms[ssl] + clean.terms.mixed;
      assert.ok(Number.isFinite(clean.loss) && Math.abs(clean.loss - sum) <= 1e-5 * Math.abs(sum), `${ssl}: loss ${clean.loss} = ${clean.terms[ssl]} + ${clean.terms.mixed} (seed ${seed})`);

      // The model's statistic, then (MoCo) the key encoder's: each is the one named.
      const targets = [runningVar(model.stateDict())[0], ...(ssl === 'moco' ? [`moco.key.${runningVar(step.moco!.key.stateDict())[0]}`] : [])];
      for (const name of targets) {
        const live = step.state().get(name)!;
        fillInto(live, NaN);
        const r = await step.runChecked(randomImages(rng, B), opt, new Rng(seed), guard);
        assert.ok(Number.isFinite(r.loss), `${ssl}: the loss stays finite (${r.loss}) with ${name} poisoned (seed ${seed})`);
        assert.is(r.bad, name, `${ssl} (seed ${seed})`);
        fillInto(live, 1);
      }
      // Adam's second moment at Inf leaves the weights finite (m / Inf = 0): the guard names it.
      const moment = opt.stateDict().tensors['0.exp_avg_sq'];
      fillInto(moment, Infinity);
      const frozen = await step.runChecked(randomImages(rng, B), opt, new Rng(seed), guard);
      assert.ok(Number.isFinite(frozen.loss), `${ssl}: the loss stays finite (seed ${seed})`);
      assert.is(frozen.bad, 'optimizer.0.exp_avg_sq', `${ssl} (seed ${seed})`);
      fillInto(moment, 0);
      step.dispose();
      opt.dispose();
      model.dispose();
    }
  } finally {
    guard.dispose();
  }
});

test("pretrain: a step that leaves NaN in MoCo's queue stops the run naming it and the step; the checkpoint kept, MoCo's state inside, is the last good one", async () => {
  const out = mkdtempSync(join(tmpdir(), 'gradmix-ssl-guard-'));
  // 16 images, batches of 8: two steps per epoch; the third step (epoch 2, batch 1) enqueues NaN
  // keys. Its loss is finite (the keys go in after it), so only the check of the queue sees it.
  const enqueue = KeyQueue.prototype.enqueue;
  let calls = 0;
  KeyQueue.prototype.enqueue = function (this: KeyQueue, batch: Tensor) {
    enqueue.call(this, ++calls === 3 ? ops.mulScalar(batch, NaN) : batch);
  };
  try {
    await pretrain({ ssl: 'moco', method: 'none', protocol: 'mnist-mini', width: 2, batchSize: 8, queueSize: 16, maxTrain: 16, epochs: 2, progress: false, evaluate: false, out });
    assert.unreachable('the run must stop');
  } catch (e) {
    const message = (e as Error).message;
    assert.match(message, /'moco\.queue' holds NaN or Inf after step 3 \(epoch 2, batch 1\) \(the loss, [-\d.e]+, is still finite\); stopping\./, message);
    assert.match(message, /The last checkpoint kept is .*checkpoint\.safetensors \(next: epoch 2, batch 0\)/);
  } finally {
    KeyQueue.prototype.enqueue = enqueue;
  }
  assert.is(calls, 3, 'no step ran after the bad one');
  const saved = await readCheckpoint(join(out, 'checkpoint.safetensors'));
  const at = metadataJson<{ epoch: number; batch: number }>(saved, 'training')!;
  assert.equal([at.epoch, at.batch], [1, 0], 'the end of epoch 1');
  const moco = [...saved.extras].filter(([name]) => name.startsWith(MOCO_PREFIX));
  assert.ok(moco.some(([name]) => name === `${MOCO_PREFIX}queue`) && moco.some(([name]) => name === `${MOCO_PREFIX}key.encoder.conv1.weight`), "MoCo's state is in the checkpoint");
  // The values, decoded from their bytes (HostTensor.data is raw bytes, always finite as numbers).
  for (const [name, t] of [...saved.model, ...moco]) {
    const values = toNumbers(t, name);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    assert.is(bad, -1, `${name}: element ${bad} is ${values[bad]}`);
  }
  const rows = readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.is(rows[rows.length - 1].status, 'failed');
  const steps = rows.filter((r) => r.kind === 'step');
  assert.is(steps.length, 2, 'the failed step is not logged');
  assert.ok(
    steps.every((r) => typeof r.moco === 'number' && r.moco === r.loss),
    "each step row holds the loss's term",
  );
});

test.run();
