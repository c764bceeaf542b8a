// Self-supervised pre-training: MoCo's InfoNCE against a float64 reference (forward and the
// gradient to the queries), the momentum update and the queue's ring order exactly, a MoCo step
// against a reference of its state updates, a SimCLR and a MoCo step with every mixing method,
// and an interrupted MoCo pre-training, or one whose checkpoint save failed, that resumes to the
// same weights, key encoder and queue; a set-up that fails leaves no GPU buffer behind.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SupConResNet } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { tensor } from '../src/creation.js';
import { KeyQueue, MomentumEncoder, emaUpdate, infoNce } from '../src/ssl/moco.js';
import { gpu } from '../runtime/gpu.js';
import { resolvePretrainOptions, type PretrainOptions } from '../src/ssl/options.js';
import { SslStep } from '../src/ssl/step.js';
import { MOCO_PREFIX, MOCO_STATE_FILE, pretrain } from '../src/ssl/pretrain.js';
import { train } from '../src/train/train.js';
import { readCheckpoint, readSafetensors, toInt32, writeFaults, writeSafetensors, type HostTensor } from '../src/checkpoint/index.js';
import { rejects } from './data-fixtures.js';
import { checkOp } from './check-op.js';
import { read, seeded, setupGpu } from './helpers.js';

const test = suite('ssl');
test.before(setupGpu);

/** Random rows of length d with unit norm (what the encoders emit). */
const unitRows = (d: number) => (rng: Rng, count: number) => {
  const v = Float64Array.from({ length: count }, () => rng.normal());
  for (let r = 0; r < count / d; r++) {
    const row = v.subarray(r * d, (r + 1) * d);
    const len = Math.hypot(...row);
    for (let k = 0; k < d; k++) row[k] /= len;
  }
  return v;
};

/** float64 InfoNCE per query: logsumexp([q.k, q.queue] / tau) - q.k / tau. */
function refInfoNce(q: Float64Array, k: Float64Array, queue: Float64Array, n: number, d: number, tau: number): Float64Array {
  const K = queue.length / d;
  const dot = (a: Float64Array, i: number, b: Float64Array, j: number) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += a[i * d + c] * b[j * d + c];
    return s;
  };
  return Float64Array.from({ length: n }, (_, i) => {
    const logits = [dot(q, i, k, i) / tau, ...Array.from({ length: K }, (_, j) => dot(q, i, queue, j) / tau)];
    const top = Math.max(...logits);
    return top + Math.log(logits.reduce((s, l) => s + Math.exp(l - top), 0)) - logits[0];
  });
}

test('InfoNCE of queries against keys and a queue: forward and gradient to the queries vs float64', async () => {
  // One query against one negative at tau 0.07 can have a loss of 1e-12, below float32's
  // resolution of logsumexp - positive: that case runs at tau 0.5.
  for (const [n, d, K, tau, reduction] of [
    [1, 3, 1, 0.5, 'mean'],
    [5, 7, 11, 0.07, 'none'],
    [9, 16, 33, 0.2, 'mean'],
    [3, 128, 70, 0.07, 'none'],
  ] as const) {
    await checkOp({
      name: `infoNce n=${n} d=${d} K=${K} tau=${tau} ${reduction}`,
      inputs: [
        { shape: [n, d], make: unitRows(d) },
        { shape: [n, d], make: unitRows(d), grad: false },
        { shape: [K, d], make: unitRows(d), grad: false },
      ],
      run: (q, k, queue) => infoNce(q, k, queue, { tau, reduction }),
      ref: (q, k, queue) => {
        const per = refInfoNce(q, k, queue, n, d, tau);
        return reduction === 'none' ? per : Float64Array.of(per.reduce((a, b) => a + b, 0) / n);
      },
    });
  }
});

test('InfoNCE rejects mismatched shapes with a clear message', async () => {
  await scope(async () => {
    const q = tensor(new Float32Array(6), [2, 3]);
    assert.throws(() => infoNce(q, tensor(new Float32Array(4), [2, 2]), tensor(new Float32Array(9), [3, 3])), /keys have shape \[2, 2\], queries \[2, 3\]/);
    assert.throws(() => infoNce(q, q, tensor(new Float32Array(8), [4, 2])), /queue must be \[K, 3\], got \[4, 2\]/);
    assert.throws(() => infoNce(q, q, q, { tau: 0 }), /tau must be/);
  });
});

test('the momentum update is m * key + (1 - m) * query, exactly, for every tensor of the list', async () => {
  const { rng, seed } = seeded();
  const sizes = [1, 7, 65, 130];
  // Multiples of 1/8 with m = 0.75: every product and sum is exact in float32, with or without FMA.
  const eighths = (n: number) => Float32Array.from({ length: n }, () => (rng.int(161) - 80) / 8);
  await scope(async () => {
    const k0 = sizes.map(eighths);
    const q0 = sizes.map(eighths);
    const keys = k0.map((v, i) => tensor(v, [sizes[i]]));
    const queries = q0.map((v, i) => tensor(v, [sizes[i]]));
    emaUpdate(keys, queries, 0.75);
    for (let i = 0; i < sizes.length; i++) {
      const want = Array.from(k0[i], (k, j) => 0.75 * k + 0.25 * q0[i][j]);
      assert.equal(Array.from(await keys[i].data()), want, `tensor ${i} (seed ${seed})`);
      assert.equal(Array.from(await queries[i].data()), Array.from(q0[i]), 'queries unchanged');
    }
    // MoCo's m = 0.999 on arbitrary values: within float32 rounding of the float64 result.
    const a = Float32Array.from({ length: 130 }, () => rng.normal());
    const b = Float32Array.from({ length: 130 }, () => rng.normal());
    const key = tensor(a, [10, 13]);
    emaUpdate([key], [tensor(b, [10, 13])], 0.999);
    const got = await key.data();
    got.forEach((v, j) => {
      const want = 0.999 * a[j] + 0.001 * b[j];
      assert.ok(Math.abs(v - want) <= 2 ** -22 * Math.max(Math.abs(want), 1e-3), `element ${j}: ${v} vs ${want} (seed ${seed})`);
    });
  });
  assert.throws(() => emaUpdate([tensor(new Float32Array(2), [2])], [tensor(new Float32Array(3), [3])], 0.9), /key tensor 0 has shape \[2\], its query tensor \[3\]/);
});

test('the queue starts as unit vectors, then each batch of keys replaces the oldest rows in ring order', async () => {
  const { rng, seed } = seeded();
  const [K, D] = [7, 3];
  const queue = new KeyQueue(K, D, rng);
  const ref = Array.from(await read(queue.keys));
  for (let r = 0; r < K; r++) assert.ok(Math.abs(Math.hypot(...ref.slice(r * D, (r + 1) * D)) - 1) < 1e-5, `row ${r} is a unit vector`);
  let ptr = 0;
  for (const rows of [3, 3, 3, 2, 7, 1]) {
    const batch = Float32Array.from({ length: rows * D }, () => Math.fround(rng.normal()));
    await scope(async () => queue.enqueue(tensor(batch, [rows, D])));
    for (let r = 0; r < rows; r++) for (let c = 0; c < D; c++) ref[((ptr + r) % K) * D + c] = batch[r * D + c];
    ptr = (ptr + rows) % K;
    assert.is(queue.ptr, ptr, 'pointer advances by the batch, modulo K');
    assert.equal(Array.from(await queue.keys.data()), ref, `after a batch of ${rows} (seed ${seed})`);
  }
  await scope(async () => assert.throws(() => queue.enqueue(tensor(new Float32Array(8 * D), [8, D])), /a batch of 8 keys does not fit a queue of 7/));
  queue.dispose();
});

const B = 4;
const tiny = (ssl: 'simclr' | 'moco', method: PretrainOptions['method']) =>
  resolvePretrainOptions({ ssl, method, protocol: 'mnist-mini', width: 2, batchSize: B, queueSize: 8, epochs: 1, progress: false, evaluate: false });

function randomImages(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n * 32 * 32 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
}

function newStep(o: PretrainOptions, seed: number): { model: SupConResNet; step: SslStep; opt: Adam } {
  const modelOptions = { width: 2, inChannels: 1 };
  const rng = new Rng(seed);
  const model = new SupConResNet(rng, modelOptions);
  const step = new SslStep(model, o, 'mnist', { channels: 1, height: 32, width: 32 }, modelOptions, rng);
  return { model, step, opt: new Adam(model.parameters(), { lr: 1e-3 }) };
}

test("a MoCo step: EMA of the key encoder before its keys, the queries' update, then the keys enqueued", async () => {
  const { rng, seed } = seeded();
  const o = tiny('moco', 'none');
  const { model, step, opt } = newStep(o, seed);
  const moco = step.moco!;
  const params = (m: SupConResNet) => Promise.all(m.parameters().map((p) => read(p)));
  // Start the key encoder away from the query model, so that the update has something to average.
  await scope(async () =>
    emaUpdate(
      moco.key.parameters(),
      moco.key.parameters().map((p) => tensor(new Float32Array(p.size).fill(0.5), p.shape)),
      0,
    ),
  );
  const k0 = await params(moco.key);
  const q0 = await params(model);
  const queue0 = await read(moco.queue.keys);
  const loss = await step.run(randomImages(rng, B), opt, new Rng(seed));
  assert.ok(Number.isFinite(loss), `loss ${loss}`);
  const k1 = await params(moco.key);
  k1.forEach((v, i) =>
    v.forEach((x, j) => {
      const want = 0.999 * k0[i][j] + 0.001 * q0[i][j];
      assert.ok(Math.abs(x - want) <= 1e-6 * Math.max(1, Math.abs(want)), `key parameter ${i}[${j}]: ${x} vs ${want} (seed ${seed})`);
    }),
  );
  const q1 = await params(model);
  assert.ok(
    q1.some((v, i) => v.some((x, j) => x !== q0[i][j])),
    'the optimiser updated the query model',
  );
  assert.is(moco.queue.ptr, B);
  const queue1 = await read(moco.queue.keys);
  const D = moco.queue.dim;
  for (let r = 0; r < 8; r++) {
    const row = Array.from(queue1.subarray(r * D, (r + 1) * D));
    if (r < B) {
      assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-4, `enqueued key ${r} is a unit vector`);
      assert.not.equal(row, Array.from(queue0.subarray(r * D, (r + 1) * D)), `row ${r} was replaced`);
    } else assert.equal(row, Array.from(queue0.subarray(r * D, (r + 1) * D)), `row ${r} is untouched`);
  }
  for (const p of moco.key.parameters()) assert.is(p.grad, null, 'the key encoder gets no gradient');
  step.dispose();
  model.dispose();
});

test('SimCLR and MoCo steps with every mixing method have a finite loss', async () => {
  const { rng, seed } = seeded();
  for (const ssl of ['simclr', 'moco'] as const) {
    for (const method of ['none', 'mixup', 'cutmix', 'gradmix'] as const) {
      const { model, step, opt } = newStep(tiny(ssl, method), seed);
      const loss = await step.run(randomImages(rng, B), opt, new Rng(seed));
      assert.ok(Number.isFinite(loss) && loss > 0, `${ssl} + ${method}: loss ${loss} (seed ${seed})`);
      step.dispose();
      model.dispose();
    }
  }
});

test('an interrupted MoCo + GradMix pre-training, or one whose checkpoint save failed, resumes to the same weights, key encoder and queue', async () => {
  const quick: Partial<PretrainOptions> = { ssl: 'moco', method: 'gradmix', protocol: 'mnist-mini', width: 2, batchSize: 8, queueSize: 24, maxTrain: 24, epochs: 2, progress: false, evaluate: false };
  const dir = () => mkdtempSync(join(tmpdir(), 'gradmix-ssl-'));
  const whole = await pretrain({ ...quick, out: dir() });
  const state = async (m: SupConResNet) => Promise.all(m.parameters().map(async (p) => Array.from(await p.data())));
  const a = await state(whole.model);
  // The key encoder, queue and pointer, as saved at the end of a run: inside its checkpoint, one file.
  const mocoState = async (out: string) => {
    const saved = await readCheckpoint(join(out, 'checkpoint.safetensors'));
    return new Map([...saved.extras].filter(([name]) => name.startsWith(MOCO_PREFIX)).map(([name, t]) => [name, Array.from(t.data)]));
  };
  const mocoA = await mocoState(whole.options.out);
  assert.ok(['queue', 'queue_ptr', 'key.encoder.conv1.weight'].every((n) => mocoA.has(MOCO_PREFIX + n)));
  const sameAsWhole = async (out: string, r: { model: SupConResNet }, what: string) => {
    const b = await state(r.model);
    a.forEach((w, i) => assert.equal(b[i], w, `${what}: parameter ${i} differs`));
    assert.equal(await mocoState(out), mocoA, `${what}: MoCo's state differs`);
  };

  const out = dir();
  const controller = new AbortController();
  const first = await pretrain({ ...quick, out }, { signal: controller.signal, onStep: (s) => s === 3 && controller.abort() });
  assert.ok(first.interrupted, 'the first run stopped early');
  assert.not.ok(existsSync(join(out, MOCO_STATE_FILE)), 'no file beside the checkpoint');
  // The same point as an older version saved it: MoCo's state in moco.safetensors, tagged with the
  // checkpoint's position; without its queue pointer it is damaged (Number(undefined) is NaN).
  const legacy = dir();
  const damaged = dir();
  const saved = await readSafetensors(join(out, 'checkpoint.safetensors'));
  const own = [...saved.tensors].filter(([name]) => name.startsWith(MOCO_PREFIX));
  const ptr = String(toInt32(own.find(([name]) => name === `${MOCO_PREFIX}queue_ptr`)![1])[0]);
  const mocoTensors = own.filter(([name]) => !name.endsWith('queue_ptr')).map(([name, t]) => [name.slice(MOCO_PREFIX.length), t] as [string, HostTensor]);
  for (const [to, metadata] of [
    [legacy, { ptr, position: '1.1' }],
    [damaged, { position: '1.1' }],
  ] as const) {
    cpSync(out, to, { recursive: true });
    await writeSafetensors(
      join(to, 'checkpoint.safetensors'),
      [...saved.tensors].filter(([name]) => !name.startsWith(MOCO_PREFIX)),
      saved.metadata,
    );
    await writeSafetensors(join(to, MOCO_STATE_FILE), mocoTensors, metadata);
  }
  await rejects(() => pretrain({ ...quick, out: damaged, resume: true }), /moco\.safetensors: MoCo's queue pointer is NaN, not a row of the queue of 24; the file is damaged/);
  const resumed = await pretrain({ ...quick, out, resume: true });
  assert.is(resumed.epochs.length, 1, 'the resumed run finished the second epoch');
  await sameAsWhole(out, resumed, 'interrupted');
  const fromLegacy = await pretrain({ ...quick, out: legacy, resume: true });
  await sameAsWhole(legacy, fromLegacy, 'moco.safetensors of an older run');

  // A full disk at the second checkpoint's rename: MoCo's state of that point was prepared, the
  // checkpoint not written. The resume starts from the first checkpoint with its own MoCo state.
  const full = dir();
  let saves = 0;
  writeFaults.hook = (stage, file) => {
    if (stage === 'written' && file.endsWith('checkpoint.safetensors') && ++saves === 2) throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
  };
  try {
    await pretrain({ ...quick, out: full });
    assert.unreachable('the second save fails');
  } catch (e) {
    assert.match((e as Error).message, /saving the checkpoint of epoch 2 .*no space left on the device/s);
  } finally {
    writeFaults.hook = null;
  }
  const afterFailure = await pretrain({ ...quick, out: full, resume: true });
  assert.is(afterFailure.epochs.length, 1, 'the resumed run trained the second epoch again');
  await sameAsWhole(full, afterFailure, 'failed save');
  for (const r of [whole, first, resumed, fromLegacy, afterFailure]) r.model.dispose();
});

test("a pre-training whose set-up fails (MoCo's key encoder or queue) leaves no GPU buffer behind", async () => {
  const live = () => gpu().memory().buffersLive;
  const { seed } = seeded();
  const model = new SupConResNet(new Rng(seed), { width: 2, inChannels: 1 });
  const before = live();
  // The queue refuses its capacity after the key encoder exists.
  assert.throws(() => new MomentumEncoder(model, { width: 2, inChannels: 1 }, { momentum: 0.9, queueSize: 0 }, new Rng(seed)), /KeyQueue: capacity must be a positive integer, got 0/);
  assert.is(live(), before, 'MomentumEncoder');
  model.dispose();
  // pretrain(): copying the model into MoCo's key encoder fails (injected) after the model and
  // the optimiser exist.
  const beforeRun = live();
  SupConResNet.prototype.stateDict = () => {
    throw new Error('injected fault');
  };
  try {
    const quick: Partial<PretrainOptions> = { ssl: 'moco', protocol: 'mnist-mini', width: 2, batchSize: 8, queueSize: 16, maxTrain: 16, epochs: 1, progress: false, evaluate: false };
    await rejects(() => pretrain({ ...quick, out: mkdtempSync(join(tmpdir(), 'gradmix-ssl-')) }), /injected fault/);
  } finally {
    delete (SupConResNet.prototype as Partial<SupConResNet>).stateDict;
  }
  assert.is(live(), beforeRun, 'pretrain()');
});

test('a fresh pre-training never replaces another run: one of other settings, or a training run, is refused; a training run likewise keeps a pre-training', async () => {
  const quick: Partial<PretrainOptions> = { ssl: 'simclr', method: 'none', protocol: 'mnist-mini', width: 2, batchSize: 8, maxTrain: 16, epochs: 1, progress: false, evaluate: false };
  const out = mkdtempSync(join(tmpdir(), 'gradmix-ssl-'));
  (await pretrain({ ...quick, out })).model.dispose();
  const kept = readFileSync(join(out, 'checkpoint.safetensors'));
  await rejects(
    () => pretrain({ ...quick, width: 4, out }),
    new RegExp(`^${out} holds a run of other settings .*--width 4 \\(the run's width: 2\\); a fresh start would replace it: pretrain into another --out`),
  );
  await rejects(
    () => train({ protocol: 'mnist-mini', width: 2, batchSize: 8, maxTrain: 16, epochs: 1, progress: false, evaluate: false, out }),
    new RegExp(`^${out} holds a pre-training run \\(gradmix pretrain\\)`),
  );
  assert.equal(readFileSync(join(out, 'checkpoint.safetensors')), kept, 'the pre-training was touched');
  const trained = mkdtempSync(join(tmpdir(), 'gradmix-ssl-'));
  (await train({ protocol: 'mnist-mini', width: 2, batchSize: 8, maxTrain: 16, epochs: 1, progress: false, evaluate: false, out: trained })).model.dispose();
  await rejects(() => pretrain({ ...quick, out: trained }), new RegExp(`^${trained} holds a training run \\(gradmix train\\)`));
  // The same settings start again, as train does.
  (await pretrain({ ...quick, out })).model.dispose();
});

test('pre-training options: MoCo v1 defaults, per-objective temperatures, clear errors', () => {
  const moco = resolvePretrainOptions({ ssl: 'moco' });
  assert.equal([moco.momentum, moco.queueSize, moco.tau, moco.allClasses], [0.999, 4096, 0.07, true]);
  assert.is(resolvePretrainOptions({ ssl: 'simclr' }).tau, 0.5);
  assert.is(resolvePretrainOptions({ ssl: 'simclr', tau: 0.2 }).tau, 0.2);
  assert.throws(() => resolvePretrainOptions({ ssl: 'byol' as 'moco' }), /unknown ssl objective 'byol'; use one of simclr, moco/);
  assert.throws(() => resolvePretrainOptions({ ssl: 'moco', batchSize: 64, queueSize: 32 }), /queueSize must be an integer of at least the batch size \(64\)/);
  assert.throws(() => resolvePretrainOptions({ ssl: 'moco', momentum: 1.5 }), /momentum must be in \[0, 1\]/);
  // The queue bounds MoCo's batch only: SimCLR takes a batch larger than the (unused) queue.
  assert.is(resolvePretrainOptions({ ssl: 'simclr', batchSize: 5000 }).batchSize, 5000);
  // An image folder is refused before pretrain() starts the GPU (it failed there, naming no option).
  for (const given of [
    { protocol: 'folder', dataDir: '.', known: ['a'] },
    { dataDir: '.', known: ['a'] },
  ]) {
    assert.throws(() => resolvePretrainOptions(given), /pre-training runs on a built-in protocol \(mnist-mini, .*\); your own image folder \(known, protocol folder\) is not supported/);
  }
});

test.run();
