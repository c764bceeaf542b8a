// The deeper encoders (ResNet34: BasicBlock [3,4,6,3]; ResNet50: Bottleneck [3,4,6,3]) against
// PyTorch's resnet_big.py (scripts/fixtures/resnet.py): state-dict names, shapes and order at width
// 64; train-mode features, input and parameter gradients, running statistics and eval features of
// a tiny encoder loaded from a PyTorch state dict; the arch read back from a checkpoint's layer
// names; the arch's default LayerCAM layers; and two `gradmix train --arch resnet50` steps.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeSafetensors, fromHost, loadStateDictInto, saveCheckpoint, type HostTensor } from '../src/checkpoint/index.js';
import { SupConResNet, syncBatchCounts, type Module } from '../src/nn/index.js';
import { ARCHS, ResNet, archOfStateDict, type Arch } from '../src/nn/resnet.js';
import * as ops from '../src/ops/index.js';
import { backward } from '../src/autograd.js';
import { scope } from '../src/scope.js';
import { randn } from '../src/creation.js';
import { Rng } from '../src/random.js';
import { resolveOptions } from '../src/train/options.js';
import { trainCommand } from '../src/cli/commands.js';
import { loadModelFile } from '../src/cli/model-file.js';
import type { Tensor } from '../src/tensor.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, read, setupGpu } from './helpers.js';
import { fixturePath, goldenValues as golden, valuesOf } from './golden.js';

const test = suite('resnet-arch');
test.before(setupGpu);

type NamedShapes = [string, number[]][];
interface ArchNames {
  featureDim: number;
  parameters: NamedShapes;
  buffers: NamedShapes;
}
const pytorchNames = JSON.parse(readFileSync(fixturePath('resnet-arch-names.json'), 'utf8')) as Record<'resnet34' | 'resnet50', ArchNames>;
const namesAndShapes = (entries: [string, Tensor][]): NamedShapes => entries.map(([n, t]) => [n, [...t.shape]]);

for (const arch of ['resnet34', 'resnet50'] as const) {
  test(`${arch} (width 64, 3 channels): parameter and buffer names, shapes and order are resnet_big.py's`, () => {
    const model = new SupConResNet(new Rng(1), { arch, width: 64 });
    const torch = pytorchNames[arch];
    assert.is(model.encoder.featureDim, torch.featureDim);
    assert.equal(namesAndShapes(model.namedParameters()), torch.parameters);
    assert.equal(namesAndShapes(model.namedBuffers()), torch.buffers);
    model.dispose();
  });
}

test('the arch is read back from state-dict names; other block counts are a clear error', () => {
  for (const arch of ['resnet34', 'resnet50'] as const) assert.is(archOfStateDict(pytorchNames[arch].parameters.map(([n]) => n)), arch);
  const resnet18 = pytorchNames.resnet34.parameters.map(([n]) => n).filter((n) => !/layer[1-4]\.[2-5]\./.test(n));
  assert.is(archOfStateDict(resnet18), 'resnet18');
  const resnet101 = [...pytorchNames.resnet50.parameters.map(([n]) => n), 'encoder.layer3.22.conv3.weight'];
  assert.throws(() => archOfStateDict(resnet101), /Bottleneck blocks \[3, 4, 23, 3\] per stage.*resnet50 \(Bottleneck \[3, 4, 6, 3\]\)/);
});

test("default LayerCAM layers are the arch's last blocks of stages 2-4; explicit layers and unknown archs", () => {
  const layers = (arch: Arch) => resolveOptions({ arch }).layers;
  assert.equal(resolveOptions({}).layers, ['layer2.1', 'layer3.1', 'layer4.1']);
  assert.equal(layers('resnet34'), ['layer2.3', 'layer3.5', 'layer4.2']);
  assert.equal(layers('resnet50'), ['layer2.3', 'layer3.5', 'layer4.2']);
  assert.equal(resolveOptions({ arch: 'resnet50', layers: ['layer4.0'] }).layers, ['layer4.0']);
  assert.throws(() => resolveOptions({ arch: 'resnet101' as Arch }), /unknown arch 'resnet101'; use one of resnet18, resnet34, resnet50/);
  assert.equal(ARCHS, ['resnet18', 'resnet34', 'resnet50']);
});

/** The entries named `state.<name>`, keyed by `<name>`. */
const stateOf = (g: ReadonlyMap<string, HostTensor>) => new Map([...g].filter(([k]) => k.startsWith('state.')).map(([k, v]) => [k.slice('state.'.length), v]));

/**
 * The gradient bar of a parameter: GRAD_TOL (docs/KERNELS.md section 1), unless the gradient is ill-conditioned, i.e.
 * PyTorch's own float32 error on it (the fixture's metadata) exceeds GRAD_TOL / 10; then 10 times
 * that error. At width 2 this is ResNet50's layer1.0.bn2.bias alone: a sum of 675 terms that
 * cancel ~850-fold (BN3's backward makes them zero-sum before the ReLU mask), which PyTorch's
 * float32 gets to 1.7e-4 and ours to 1.2e-3.
 */
const gradBar = (float32Error: number) => (float32Error > GRAD_TOL / 10 ? 10 * float32Error : GRAD_TOL);

/** Train-mode features and loss = sum(features * R), backward; every result against the golden. */
async function checkTrainStep(encoder: Module, g: ReadonlyMap<string, HostTensor>, float32Errors: Record<string, number>): Promise<void> {
  const x = fromHost(g.get('input')!);
  x.requiresGrad = true;
  const features = scope(() => {
    const y = encoder.call(x);
    backward(ops.sumAll(ops.mul(y, fromHost(g.get('R')!))));
    return y;
  });
  assertClose(await read(features), golden(g, 'features'), FORWARD_TOL, 'train-mode features');
  assertClose(await read(x.grad!), golden(g, 'grad.input'), GRAD_TOL, 'gradient of the input');
  for (const [name, p] of encoder.namedParameters()) {
    assert.ok(p.grad, `${name} received no gradient`);
    assertClose(await read(p.grad), golden(g, `grad.${name}`), gradBar(float32Errors[name]), `gradient of ${name}`);
    p.grad.dispose();
    p.grad = null;
  }
  const state = encoder.stateDict(); // brings the host-side batch counters into their buffers
  for (const [name] of encoder.namedBuffers()) {
    const got = await read(state.get(name)!);
    if (name.endsWith('num_batches_tracked')) assert.equal(Array.from(got), Array.from(golden(g, `after.${name}`)), name);
    else assertClose(got, golden(g, `after.${name}`), FORWARD_TOL, `${name} after the step`);
  }
  features.dispose();
  x.grad?.dispose();
  x.dispose();
}

for (const [arch, width] of [
  ['resnet34', 1],
  ['resnet50', 2],
] as const) {
  const file = `${arch}-w${width}-golden.safetensors`;
  test(`${arch} encoder (width ${width}) from a PyTorch state dict matches PyTorch: features, every gradient, running stats, eval`, async () => {
    const { tensors: g, metadata } = decodeSafetensors(new Uint8Array(readFileSync(fixturePath(file))), file);
    const float32Errors = JSON.parse(metadata.float32_grad_error) as Record<string, number>;
    const encoder = new ResNet(new Rng(3), { arch, width, inChannels: 3 });
    loadStateDictInto(encoder.stateDict(), stateOf(g), file);
    await syncBatchCounts(encoder);
    assert.is(encoder.namedParameters().length, [...g.keys()].filter((k) => k.startsWith('grad.')).length - 1);
    await checkTrainStep(encoder, g, float32Errors);
    encoder.eval();
    const evalFeatures = await valuesOf(() => encoder.call(fromHost(g.get('input')!)));
    assertClose(evalFeatures, golden(g, 'eval_features'), FORWARD_TOL, 'eval-mode features');
    encoder.dispose();
  });
}

test('eval rebuilds the arch of a checkpoint without training metadata (a PyTorch-style state dict)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-arch-'));
  try {
    const model = new SupConResNet(new Rng(4), { arch: 'resnet34', width: 1, inChannels: 1 }).eval();
    const x = randn([2, 1, 9, 9], new Rng(5));
    const before = await valuesOf(() => model.call(x));
    await saveCheckpoint(join(dir, 'model.safetensors'), { model: model.stateDict() });
    const loaded = await loadModelFile(join(dir, 'model.safetensors'));
    assert.is(loaded.arch, 'resnet34');
    assert.is(loaded.config, null);
    loaded.model.eval();
    assert.equal(Array.from(await valuesOf(() => loaded.model.call(x))), Array.from(before));
    model.dispose();
    loaded.model.dispose();
    x.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gradmix train --arch resnet50 --width 2: two GradMix steps on 8 mnist-mini images; eval rebuilds a resnet50', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-arch-'));
  try {
    await trainCommand(['--arch', 'resnet50', '--width', '2', '--max-train', '8', '--batch', '4', '--epochs', '1', '--no-eval', '--quiet', '--out', dir]);
    const log = readFileSync(join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; step: number; loss: number })
      .filter((r) => r.kind === 'epoch');
    assert.is(log.length, 1);
    assert.is(log[0].step, 2);
    assert.ok(Number.isFinite(log[0].loss) && log[0].loss > 0, `loss ${log[0].loss}`);
    const loaded = await loadModelFile(join(dir, 'checkpoint.safetensors'));
    assert.is(loaded.arch, 'resnet50');
    assert.is(loaded.model.encoder.featureDim, 64);
    assert.equal(loaded.config?.arch, 'resnet50');
    assert.equal(loaded.config?.layers, ['layer2.3', 'layer3.5', 'layer4.2']);
    loaded.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
