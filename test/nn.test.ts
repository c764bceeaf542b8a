// src/nn modules: PyTorch's (SupContrast resnet_big.py) names and shapes, output shapes, train and
// eval mode, forward hooks and the gradients of hooked activations, and clear load errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadStateDictInto } from '../src/checkpoint/index.js';
import { gpu } from '../runtime/gpu.js';
import { BatchNorm2d, SupConResNet } from '../src/nn/index.js';
import * as ops from '../src/ops/index.js';
import { grad, noGrad } from '../src/autograd.js';
import { scope } from '../src/scope.js';
import { randn } from '../src/creation.js';
import { Rng } from '../src/random.js';
import type { Tensor } from '../src/tensor.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, read, setupGpu } from './helpers.js';
import { safetensorsFile, valuesOf } from './golden.js';

const test = suite('nn');
test.before(setupGpu);

/** PyTorch's state dict of SupConResNet(width 4, in_channel 1) (scripts/fixtures/resnet.py). */
const torchState = safetensorsFile('resnet-w4-state.safetensors');

const small = () => new SupConResNet(new Rng(1), { width: 4, inChannels: 1 });

test("state dict names and shapes are PyTorch's (resnet_big.py SupConResNet), parameters before buffers", () => {
  const model = small();
  const sd = model.stateDict();
  assert.equal([...sd.keys()].sort(), [...torchState.keys()].sort());
  for (const [name, t] of sd) assert.equal(t.shape, torchState.get(name)!.shape, name);
  const params = model.namedParameters().map(([n]) => n);
  assert.is(params.length, 64);
  assert.ok(params.every((n) => !/running_|num_batches/.test(n)));
  assert.equal(model.namedBuffers().length, 60);
  assert.ok(sd.has('encoder.layer2.0.shortcut.1.running_mean') && sd.has('head.2.bias'));
  assert.not.ok(sd.has('encoder.layer1.0.shortcut.0.weight'), 'layer1.0 has an identity shortcut');
  model.dispose();
});

test('the standard ResNet18 (width 64, 3 channels) has 11,497,152 parameters, as PyTorch counts them', () => {
  const model = new SupConResNet(new Rng(2));
  const count = model.parameters().reduce((n, p) => n + p.size, 0);
  assert.is(count, 11_497_152);
  assert.is(model.encoder.featureDim, 512);
  model.dispose();
});

test('outputs: z is [B, 128] with unit rows, features [B, 8w]; odd sizes and B = 1 work', async () => {
  const rng = new Rng(3);
  const model = new SupConResNet(rng, { width: 4, inChannels: 3, featDim: 16 });
  const x = randn([3, 3, 15, 13], rng);
  const z = await valuesOf(() => model.call(x));
  assert.is(z.length, 3 * 16);
  for (let b = 0; b < 3; b++) {
    const norm = Math.hypot(...z.subarray(16 * b, 16 * b + 16));
    assert.ok(Math.abs(norm - 1) < 1e-5, `row ${b} has norm ${norm}`);
  }
  const shape = noGrad(() => scope(() => model.features(x).shape));
  assert.equal(shape, [3, 32]);
  model.eval();
  const one = randn([1, 3, 9, 9], rng);
  assert.is((await valuesOf(() => model.call(one))).length, 16);
  for (const t of [x, one]) t.dispose();
  model.dispose();
});

test('train() and eval() reach every module; eval mode is per-sample and leaves the running stats alone', async () => {
  const rng = new Rng(4);
  const model = small();
  const bns = [...model.modules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  assert.is(bns.length, 20);
  const stats = async () => Float64Array.from((await Promise.all(bns.map((b) => read(b.runningMean)))).flatMap((a) => Array.from(a)));
  const x = randn([3, 1, 8, 8], rng);

  model.eval();
  assert.ok([...model.modules()].every(([, m]) => !m.training));
  const before = await stats();
  const batch = await valuesOf(() => model.call(x));
  const alone = await valuesOf(() => model.call(ops.slice(x, 0, 0, 1)));
  assertClose(alone, batch.subarray(0, 128), FORWARD_TOL, 'eval output of sample 0 alone vs in its batch');
  assert.equal(await stats(), before, 'eval forward changed running stats');

  model.train();
  assert.ok([...model.modules()].every(([, m]) => m.training));
  for (const b of bns) b.updateRunningStats = false;
  await valuesOf(() => model.call(x));
  assert.equal(await stats(), before, 'a forward with updateRunningStats = false changed running stats');
  for (const b of bns) b.updateRunningStats = true;
  await valuesOf(() => model.call(x));
  assert.not.equal(await stats(), before, 'a train-mode forward left the running stats');
  const counters = [...model.stateDict()].filter(([n]) => n.endsWith('num_batches_tracked'));
  for (const [name, t] of counters) assert.equal(Array.from(await read(t)), [1], name);
  x.dispose();
  model.dispose();
});

test('forward hooks see named activations (layer2.1, layer3.1, layer4.1) and their gradients; removal stops them', async () => {
  const rng = new Rng(5);
  const model = small();
  const names = ['layer2.1', 'layer3.1', 'layer4.1'].map((n) => model.layer(n).path);
  assert.equal(names, ['encoder.layer2.1', 'encoder.layer3.1', 'encoder.layer4.1']);
  const seen = new Map<string, Tensor>();
  const remove = model.addForwardHook(names, (path, out) => seen.set(path, out));
  const x = randn([2, 1, 12, 12], rng);
  const r = randn([2, 32], rng);
  const { g, shapes } = scope(() => {
    const features = model.features(x);
    const loss = ops.sumAll(ops.mul(features, r));
    const act = names.map((n) => seen.get(n)!);
    return { g: grad(loss, [act[2]])[0], shapes: act.map((a) => a.shape) };
  });
  assert.equal(shapes, [
    [2, 8, 6, 6],
    [2, 16, 3, 3],
    [2, 32, 2, 2],
  ]);
  // features = mean over h, w of layer4.1's output, so d loss / d activation = R / (h w) everywhere.
  const rv = await read(r);
  const want = Float64Array.from({ length: 2 * 32 * 4 }, (_, i) => rv[Math.floor(i / 4)] / 4);
  assertClose(await read(g), want, GRAD_TOL, 'gradient of the hooked layer4.1 activation');
  assert.ok(
    model.parameters().every((p) => p.grad === null),
    'grad() left gradients in the parameters',
  );
  remove();
  seen.clear();
  await valuesOf(() => model.features(x));
  assert.is(seen.size, 0, 'a removed hook still ran');
  for (const t of [x, r, g]) t.dispose();
  model.dispose();
});

test('withActivations names a hooked layer that fn never ran, and removes its hooks', async () => {
  const model = small();
  const x = randn([2, 1, 8, 8], new Rng(4));
  scope(() => {
    assert.throws(
      () => model.withActivations(['layer2.1', 'head.0'], () => model.features(x)), // the head is not run
      /withActivations: layer 'head\.0' produced no output: fn must run the model's forward through it/,
    );
    assert.throws(() => model.withActivations(['layer3.1'], () => null), /layer 'layer3\.1' \(encoder\.layer3\.1\) produced no output/);
    assert.not.ok(model.get('encoder.layer2.1').hooked || model.get('head.0').hooked);
  });
  x.dispose();
  model.dispose();
});

test('dispose() frees every parameter, its gradient and every buffer, and dispatches nothing (a lost device cannot run a kernel)', async () => {
  await gpu().sync();
  const before = gpu().memory().buffersLive;
  const model = small();
  const x = randn([2, 1, 8, 8], new Rng(2));
  scope(() => ops.backward(ops.sumAll(model.call(x)))); // BatchNorm's batch count is now unwritten
  assert.ok(model.parameters().every((p) => p.grad));
  const g = gpu();
  const dispatch = g.dispatch;
  g.dispatch = () => {
    throw new Error('the GPU device was lost');
  };
  try {
    model.dispose();
  } finally {
    g.dispatch = dispatch;
  }
  assert.ok([...model.parameters(), ...model.namedBuffers().map(([, t]) => t)].every((t) => t.disposed && t.grad === null));
  x.dispose();
  assert.is(gpu().memory().buffersLive, before);
});

test('unknown layers and mismatched state dicts are clear errors that change nothing', async () => {
  const model = small();
  assert.throws(() => model.layer('layer9.1'), /unknown layer 'encoder.layer9.1'; this model has: encoder, encoder.conv1/);
  const sd = model.stateDict();
  // Module.loadStateDict leaves uploads to the caller; this one only records what it was asked to copy.
  const copied: string[] = [];
  const copy = (dst: Tensor) => void copied.push(dst.name ?? '?');
  const missing = new Map(sd);
  missing.delete('head.2.bias');
  assert.throws(() => model.loadStateDict(missing, copy), /state dict does not match the model: missing head\.2\.bias/);
  const unexpected = new Map(sd).set('head.3.weight', sd.get('head.2.bias')!);
  assert.throws(() => model.loadStateDict(unexpected, copy), /unexpected head\.3\.weight/);

  // Another width: the mismatched tensor is named with both shapes, and nothing is copied.
  const wide = new SupConResNet(new Rng(1), { width: 8, inChannels: 1 });
  const wrongShape = new Map(sd).set('head.0.bias', wide.stateDict().get('head.0.bias')!);
  assert.throws(() => model.loadStateDict(wrongShape, copy), /state dict tensor 'head\.0\.bias' has shape \[64\], the model expects \[32\]/);
  assert.equal(copied, [], 'a failed load copied tensors');
  model.loadStateDict(sd, copy);
  assert.is(copied.length, sd.size);

  // The same through the checkpoint loader, from PyTorch's file of width 4.
  const before = await read(wide.stateDict().get('head.2.bias')!);
  assert.throws(
    () => loadStateDictInto(wide.stateDict(), torchState, 'w4.safetensors'),
    /w4\.safetensors: tensor 'encoder\.conv1\.weight' has shape \[4, 1, 3, 3\] in the file, the model expects \[8, 1, 3, 3\]/,
  );
  assert.equal(await read(wide.stateDict().get('head.2.bias')!), before, 'a failed load changed the model');
  wide.dispose();
  model.dispose();
});

test.run();
