// Adapter-aware kernel choice in the ops (src/ops/kernel-choice.ts): ops run the adapter default
// until their shape class is tuned, then the tuned variant; a miss is resolved from the disk cache
// without timing, or timed on inputs of its own without disturbing the caller's pending work;
// GRADMIX_AUTOTUNE=0 turns it off; autotuneModel finds a model's forward and gradient problems
// with a probe forward that leaves the model untouched.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpu } from '../runtime/gpu.js';
import { adapterKey, shapeClass } from '../runtime/autotune.js';
import { costMethod } from '../runtime/run-cost.js';
import * as ops from '../src/ops/index.js';
import { autotuneModel, autotunePending, pinTunedChoices, resetTunedChoices, tunedChoices } from '../src/ops/kernel-choice.js';
import { SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { tensor } from '../src/creation.js';
import { read, setupGpu, upload } from './helpers.js';
import { dispatched } from './dispatched.js';

const test = suite('kernel-choice');
test.before(setupGpu);

let dir = '';
let savedMode: string | undefined;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'gradmix-choice-'));
  savedMode = process.env.GRADMIX_AUTOTUNE;
  process.env.GRADMIX_AUTOTUNE = 'on';
  resetTunedChoices(dir);
});
test.after.each(() => {
  if (savedMode === undefined) delete process.env.GRADMIX_AUTOTUNE;
  else process.env.GRADMIX_AUTOTUNE = savedMode;
  resetTunedChoices(null); // later suites must not inherit choices
  rmSync(dir, { recursive: true, force: true });
});

const cacheFile = () => join(dir, `autotune-${adapterKey(gpu().describe())}.json`);
const DEFAULT_KERNEL = () => (gpu().kernelVariant === 'register' ? 'matmul.register_blocked' : 'matmul.tiled');
const products = (fn: () => void) => dispatched(fn).filter((k) => k.startsWith('matmul.'));
const product = () => ops.matmul(upload(new Float32Array(8 * 4).fill(1), [8, 4]), upload(new Float32Array(4 * 16).fill(1), [4, 16]));

test("a class choice that is not among a shape's candidates (pinned from another run) is tuned again, not left unresolved", async () => {
  const key = `matmul|${shapeClass({ m: 8, n: 16, k: 4, ta: false, tb: false })}`;
  pinTunedChoices({ [key]: 'splitk' }); // never a candidate of this product on any adapter
  assert.equal(
    products(() => void product()),
    [DEFAULT_KERNEL()],
  );
  const reports = await autotunePending({ cost: (_, c) => (c === 'skinny' ? 1 : 2) });
  assert.equal(
    reports.map((r) => [r.shapeClass, r.choice]),
    [[key.slice('matmul|'.length), 'skinny']],
  );
  assert.equal(
    products(() => void product()),
    ['matmul.skinny'],
  );
});

test('an op runs the default until its class is tuned, then the choice read from the cache without timing', async () => {
  const key = `matmul|${shapeClass({ m: 8, n: 16, k: 4, ta: false, tb: false })}`;
  const entry = { choice: 'skinny', timings: { register: 3, tiled: 4, skinny: 1 }, measuredAt: 'test', method: await costMethod() };
  writeFileSync(cacheFile(), JSON.stringify({ [key]: entry }));
  assert.equal(
    products(() => void product()),
    [DEFAULT_KERNEL()],
  );
  const reports = await autotunePending();
  assert.equal(
    reports.map((r) => [r.op, r.choice, r.source]),
    [['matmul', 'skinny', 'cache']],
  );
  assert.is(tunedChoices().get(key), 'skinny');
  assert.equal(
    products(() => void product()),
    ['matmul.skinny'],
  );
});

test("a miss is timed on inputs of its own after the caller's pending work, and stored with every candidate's time", async () => {
  const a = upload(
    Float32Array.from({ length: 3 * 5 }, (_, i) => i),
    [3, 5],
  );
  const b = upload(
    Float32Array.from({ length: 5 * 7 }, (_, i) => i % 3),
    [5, 7],
  );
  const pending = ops.matmul(a, b); // recorded, not yet submitted
  const reports = await autotunePending();
  assert.is(reports.length, 1);
  const [r] = reports;
  assert.is(r.source, 'measured');
  // GPUs also time 'blocked' (src/ops/matmul.ts); the product is too short for 'splitk'.
  assert.equal(Object.keys(r.timings).sort(), [...(gpu().cpuAdapter ? [] : ['blocked']), 'register', 'skinny', 'tiled']);
  for (const ms of Object.values(r.timings)) assert.ok(Number.isFinite(ms) && ms >= 0, `timing ${ms}`);
  const stored = JSON.parse(readFileSync(cacheFile(), 'utf8'))[`matmul|${r.shapeClass}`];
  assert.is(stored.choice, r.choice);
  assert.is(stored.method, await costMethod());
  const want = Array.from({ length: 21 }, (_, i) => {
    const [m, n] = [Math.floor(i / 7), i % 7];
    let s = 0;
    for (let k = 0; k < 5; k++) s += (m * 5 + k) * ((k * 7 + n) % 3);
    return s;
  });
  assert.equal([...(await read(pending))], want, 'the pending product is undisturbed');
  for (const t of [a, b, pending]) t.dispose();
});

test('GRADMIX_AUTOTUNE=0: the default runs even with a stored choice; nothing is recorded or tuned', async () => {
  const key = `matmul|${shapeClass({ m: 8, n: 16, k: 4, ta: false, tb: false })}`;
  writeFileSync(cacheFile(), JSON.stringify({ [key]: { choice: 'skinny', timings: { register: 3, tiled: 4, skinny: 1 }, measuredAt: 'test', method: await costMethod() } }));
  process.env.GRADMIX_AUTOTUNE = '0';
  assert.equal(
    products(() => void product()),
    [DEFAULT_KERNEL()],
  );
  assert.equal(await autotunePending(), []);
  assert.equal(
    products(() => void product()),
    [DEFAULT_KERNEL()],
  );
});

test('autotuneModel finds forward and gradient problems, leaves the model untouched; training then runs the choices', async () => {
  const model = new SupConResNet(new Rng(2), { width: 2, inChannels: 1 });
  const snapshot = async () => Promise.all([...model.stateDict()].map(async ([name, t]) => [name, [...(await t.data())]] as const));
  const before = await snapshot();
  // A cost instead of timing: 'gemm' and 'skinny' cheapest wherever they are candidates.
  const cost = (_: unknown, c: string) => ({ gemm: 1, skinny: 1, register: 2, tiled: 3 })[c as 'gemm'] ?? 9;
  const reports = await autotuneModel(model, [[4, 1, 8, 8]], { cost });
  const ops_ = new Set(reports.map((r) => r.op));
  assert.equal([...ops_].sort(), ['conv2d.forward', 'conv2d.input-grad', 'conv2d.weight-grad', 'matmul']);
  assert.ok(
    reports.some((r) => r.op.startsWith('conv2d') && r.choice === 'gemm'),
    'the 1x1 shortcuts chose gemm',
  );
  assert.ok(
    reports.some((r) => r.op === 'matmul' && r.shapeClass.includes('ta1')),
    'a weight-gradient product of the head was found',
  );
  // The stem's input needs no gradient: no input-grad problem has the stem's 1 input channel.
  assert.not.ok(
    reports.some((r) => r.op === 'conv2d.input-grad' && r.shapeClass.includes('.cin1.')),
    'no input gradient for the stem',
  );
  assert.equal(await snapshot(), before, 'parameters and batch-norm statistics unchanged');
  assert.ok(
    model.parameters().every((p) => !p.grad),
    'no gradients left behind',
  );
  assert.ok(model.training, 'train mode restored');
  const seen = dispatched(() => {
    const x = tensor(new Float32Array(4 * 64).fill(0.5), [4, 1, 8, 8]);
    ops.backward(ops.sumAll(model.call(x)));
  });
  assert.ok(seen.includes('subsample.gather') && seen.includes('matmul.skinny'), `tuned kernels ran: ${[...new Set(seen)].join(', ')}`);
  for (const p of model.parameters()) p.grad?.dispose();
  model.dispose();
});

test.run();
