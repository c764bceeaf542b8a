// src/nn against PyTorch (scripts/fixtures/resnet.py, SupContrast's resnet_big.py): a BasicBlock
// with a projection shortcut and a whole SupConResNet (width 4) loaded from PyTorch-written state
// dicts give PyTorch's train-mode outputs, gradients of the input and of every parameter, running
// statistics after the step, and eval-mode outputs; a state dict saved here loads strictly in
// PyTorch and back (when /usr/bin/python3 has torch); a ResNet18 overfits one small batch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { float32Tensor, fromHost, loadCheckpoint, loadStateDictInto, saveCheckpoint, writeSafetensors, type HostTensor } from '../src/checkpoint/index.js';
import { BasicBlock, SupConResNet, syncBatchCounts, type Module } from '../src/nn/index.js';
import * as ops from '../src/ops/index.js';
import { backward, noGrad } from '../src/autograd.js';
import { scope } from '../src/scope.js';
import { randn } from '../src/creation.js';
import { Rng } from '../src/random.js';
import { Adam } from '../src/optim/index.js';
import { TrainStep, defaultOptions } from '../src/train/index.js';
import { loadMnistMini, subsetDataset, valuesPerImage } from '../src/data/index.js';
import type { Tensor } from '../src/tensor.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, read, setupGpu } from './helpers.js';
import { fixturePath, goldenValues as golden, hostTorchTest, runFixtureScript, safetensorsFile, valuesOf } from './golden.js';

const test = suite('resnet');
test.before(setupGpu);

/** The entries named `<prefix><name>`, keyed by `<name>`. */
function prefixed(tensors: ReadonlyMap<string, HostTensor>, prefix: string): Map<string, HostTensor> {
  return new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/**
 * Train-mode forward of `x` (with requiresGrad), loss = sum(out * R), backward; then compares the
 * output, the input gradient, every parameter gradient and every buffer (after the step) with the
 * golden entries 'grad.<name>' and 'after.<name>'.
 */
async function checkTrainStep(model: Module, run: (x: Tensor) => Tensor, g: ReadonlyMap<string, HostTensor>, outputName: string): Promise<void> {
  const x = fromHost(g.get('input')!);
  x.requiresGrad = true;
  const out = scope(() => {
    const y = run(x);
    backward(ops.sumAll(ops.mul(y, fromHost(g.get('R')!))));
    return y;
  });
  assertClose(await read(out), golden(g, outputName), FORWARD_TOL, `train-mode ${outputName}`);
  assertClose(await read(x.grad!), golden(g, 'grad.input'), GRAD_TOL, 'gradient of the input');
  for (const [name, p] of model.namedParameters()) {
    assert.ok(p.grad, `${name} received no gradient`);
    assertClose(await read(p.grad), golden(g, `grad.${name}`), GRAD_TOL, `gradient of ${name}`);
  }
  const buffers = model.stateDict();
  let counters = 0;
  for (const [name] of model.namedBuffers()) {
    const got = await read(buffers.get(name)!);
    if (name.endsWith('num_batches_tracked')) {
      assert.equal(Array.from(got), Array.from(golden(g, `after.${name}`)), name);
      counters++;
    } else assertClose(got, golden(g, `after.${name}`), FORWARD_TOL, `${name} after the step`);
  }
  assert.ok(counters > 0);
  for (const p of model.parameters()) {
    p.grad?.dispose();
    p.grad = null;
  }
  out.dispose();
  x.grad?.dispose();
  x.dispose();
}

const evalOutput = (run: (x: Tensor) => Tensor, input: HostTensor) => valuesOf(() => run(fromHost(input)));

test('BasicBlock (3 -> 5, stride 2, projection shortcut, 7x7) matches PyTorch: train step and eval', async () => {
  const g = safetensorsFile('resnet-block.safetensors');
  const block = new BasicBlock(3, 5, 2, new Rng(1));
  loadStateDictInto(block.stateDict(), prefixed(g, 'state.'), 'resnet-block.safetensors');
  await syncBatchCounts(block);
  const run = (x: Tensor) => block.call(x);
  await checkTrainStep(block, run, g, 'output');
  block.eval();
  assertClose(await evalOutput(run, g.get('input')!), golden(g, 'eval_output'), FORWARD_TOL, 'eval-mode output');
  block.dispose();
});

const W4_STATE = 'resnet-w4-state.safetensors';

async function pytorchModel(): Promise<SupConResNet> {
  const model = new SupConResNet(new Rng(2), { width: 4, inChannels: 1 });
  await loadCheckpoint(fixturePath(W4_STATE), { model: model.stateDict() });
  await syncBatchCounts(model);
  return model;
}

test('SupConResNet (width 4) from a PyTorch state dict matches PyTorch: z, every gradient, running stats, eval', async () => {
  const g = safetensorsFile('resnet-w4-golden.safetensors');
  const model = await pytorchModel();
  assert.is(model.namedParameters().length, [...g.keys()].filter((k) => k.startsWith('grad.')).length - 1);
  await checkTrainStep(model, (x) => model.call(x), g, 'z');
  model.eval();
  assertClose(await evalOutput((x) => model.call(x), g.get('input')!), golden(g, 'eval_z'), FORWARD_TOL, 'eval-mode z');
  assertClose(await evalOutput((x) => model.features(x), g.get('input')!), golden(g, 'eval_features'), FORWARD_TOL, 'eval-mode encoder features');
  model.dispose();
});

hostTorchTest(test, 'state dict round trip through PyTorch: save here, strict load + save there, load here', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-resnet-'));
  try {
    const rng = new Rng(5);
    const model = new SupConResNet(rng, { width: 4, inChannels: 1 });
    // Two train-mode batches, so the running stats and counters are not their defaults.
    for (let i = 0; i < 2; i++) noGrad(() => scope(() => void model.call(randn([3, 1, 16, 16], rng))));
    model.eval();
    const x = randn([3, 1, 16, 16], rng);
    const before = await valuesOf(() => model.call(x));
    await saveCheckpoint(join(dir, 'ours.safetensors'), { model: model.stateDict() });
    await writeSafetensors(join(dir, 'input.safetensors'), [['input', float32Tensor(x.shape, (await x.data()) as Float32Array)]]);
    runFixtureScript('resnet.py', ['roundtrip', join(dir, 'ours.safetensors'), join(dir, 'input.safetensors'), dir]);

    const back = new SupConResNet(new Rng(6), { width: 4, inChannels: 1 });
    await loadCheckpoint(join(dir, 'state.safetensors'), { model: back.stateDict() });
    await syncBatchCounts(back);
    back.eval();
    const after = await valuesOf(() => back.call(x));
    assert.equal(Array.from(after), Array.from(before), 'eval outputs after the round trip are identical');
    const counts = await read(back.stateDict().get('encoder.bn1.num_batches_tracked')!);
    assert.equal(Array.from(counts), [2]);
    const torchOut = safetensorsFile('output.safetensors', join(dir, 'output.safetensors'));
    assertClose(before, golden(torchOut, 'z'), FORWARD_TOL, "PyTorch's eval z of our state dict");
    const features = await valuesOf(() => model.features(x));
    assertClose(features, golden(torchOut, 'features'), FORWARD_TOL, "PyTorch's eval features of our state dict");
    model.dispose();
    back.dispose();
    x.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const OVERFIT_STEPS = 15;

test(`a ResNet18 (width 16) overfits one batch of 8 mnist-mini images: in ${OVERFIT_STEPS} steps the SupCon + SimCLR loss falls steadily`, async () => {
  const { train } = await loadMnistMini();
  // Two images of each of four digits.
  const picks: number[] = [];
  for (let d = 0; d < 4; d++) picks.push(train.labels.indexOf(d), train.labels.indexOf(d) + 1);
  const batch = subsetDataset(train, picks);
  assert.is(batch.images.length, 8 * valuesPerImage(train));
  const options = { ...defaultOptions('mnist-mini'), width: 16, method: 'none' as const, tau: 0.2 };
  const model = new SupConResNet(new Rng(7), { width: 16, inChannels: 1 });
  const step = new TrainStep(model, options, 'mnist', batch);
  const adam = new Adam(model.parameters(), { lr: 2e-3 });
  const losses: number[] = [];
  const t0 = performance.now();
  // The same two views every step (a fixed batch), so only the network changes.
  for (let i = 0; i < OVERFIT_STEPS; i++) losses.push(await step.run(batch.images, batch.labels, adam, new Rng(11)));
  const seconds = (performance.now() - t0) / 1000;
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const windows = [0, 5, 10].map((i) => mean(losses.slice(i, i + 5)));
  const shown = `losses ${losses.map((l) => l.toFixed(3)).join(' ')} (${seconds.toFixed(1)} s)`;
  for (let i = 1; i < windows.length; i++) assert.ok(windows[i] < windows[i - 1], `loss did not fall in steps ${5 * i}-${5 * i + 4}: ${shown}`);
  assert.ok(losses[OVERFIT_STEPS - 1] < 0.5 * losses[0], `final loss not well below the first: ${shown}`);
  model.dispose();
});

test.run();
