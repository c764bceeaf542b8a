// The torchvision-layout ResNets against torchvision itself (scripts/fixtures/torchvision_resnet.py).
// torchvision's float32 weights are 45 MB (resnet18) to 98 MB (resnet50), too big to commit, so
// both sides fill every weight, buffer and input with the same formula (fillValues below: a hash
// of the tensor's name and the element index, exact in float64, rounded to float32) and only the
// outputs are stored. The names file holds, per arch, torchvision's state-dict entries with the
// CRC-32 of the bytes PyTorch exported for each, which pins names, order, shapes and the formula
// byte for byte; the goldens (float64 PyTorch from the same float32 weights) check the eval forward
// (logits and layer4's feature map) and one train-mode step (input and parameter gradients, BN's
// running mean) of resnet18 (BasicBlock) and resnet50 (Bottleneck) on a non-square 2x3x64x48 input,
// after a safetensors round trip through torchvisionResNetFromTensors (and loadTorchvisionResNet).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ops from '../src/ops/index.js';
import { backward } from '../src/autograd.js';
import { crc32 } from '../src/crc32.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { TorchvisionResNet } from '../src/nn/index.js';
import type { Arch } from '../src/nn/resnet.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  float32Tensor,
  int64Tensor,
  loadTorchvisionResNet,
  toFloat32,
  torchvisionArchOfStateDict,
  torchvisionResNetFromTensors,
  type HostTensor,
} from '../src/checkpoint/index.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, read, setupGpu, upload } from './helpers.js';
import { fixturePath, goldenValues, hostTorchTest, runFixtureScript, safetensorsFile } from './golden.js';

const test = suite('torchvision-resnet');
test.before(setupGpu);

type Entry = [name: string, dtype: 'F32' | 'I64', shape: number[], crc: number];
const NAMES = JSON.parse(readFileSync(fixturePath('torchvision-resnet-names.json'), 'utf8')) as Record<Arch, Entry[]> & { input_shape: number[] };
const ARCHS: Arch[] = ['resnet18', 'resnet34', 'resnet50'];

/** (lo, hi) of a tensor's fill: the generator's value_range(). */
function valueRange(name: string, shape: readonly number[]): [number, number] {
  if (name.endsWith('running_var')) return [0.5, 1.5];
  if (name.endsWith('running_mean') || name.endsWith('.bias')) return [-0.1, 0.1];
  if (shape.length === 4) {
    const b = Math.sqrt(6 / (shape[1] * shape[2] * shape[3]));
    return [-b, b];
  }
  if (name === 'fc.weight') return [-1 / Math.sqrt(shape[1]), 1 / Math.sqrt(shape[1])];
  if (name.endsWith('bn3.weight')) return [0.1, 0.3];
  return [0.5, 1];
}

/** float32(lo + (hi - lo) * fmix32((i * 0x9E3779B1 + crc32(name)) mod 2^32) / 2^32), as the generator. */
function fillValues(name: string, shape: readonly number[], range = valueRange(name, shape)): Float32Array {
  const [lo, hi] = range;
  const seed = crc32([new TextEncoder().encode(name)]);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    out[i] = lo + (hi - lo) * ((h >>> 0) / 2 ** 32);
  }
  return out;
}

/** The filled state dict as PyTorch exports it (num_batches_tracked as I64 zeros). */
function filledStateDict(arch: Arch): Map<string, HostTensor> {
  return new Map(
    NAMES[arch].map(([name, dtype, shape]): [string, HostTensor] => [
      name,
      dtype === 'I64' ? int64Tensor(shape, new Array(shape.reduce((a, b) => a * b, 1)).fill(0)) : float32Tensor(shape, fillValues(name, shape)),
    ]),
  );
}

test("TorchvisionResNet's state dict has torchvision's names, order and shapes for resnet18/34/50", () => {
  for (const arch of ARCHS) {
    const model = new TorchvisionResNet(new Rng(1), { arch });
    // PyTorch lists each module's parameters and buffers together; ours are the same two lists.
    const isBuffer = (name: string) => /\.(running_mean|running_var|num_batches_tracked)$/.test(name);
    const torchvision = NAMES[arch].map(([name, , shape]) => [name, shape]);
    assert.equal(
      model.namedParameters().map(([name, t]) => [name, [...t.shape]]),
      torchvision.filter(([name]) => !isBuffer(name as string)),
      `${arch} parameters`,
    );
    assert.equal(
      model.namedBuffers().map(([name, t]) => [name, [...t.shape]]),
      torchvision.filter(([name]) => isBuffer(name as string)),
      `${arch} buffers`,
    );
    assert.is(model.arch, arch);
    assert.is(model.featureDim, arch === 'resnet50' ? 2048 : 512);
    model.dispose();
  }
});

test('the fill formula gives the bytes PyTorch exported, and the arch is read from the names', () => {
  for (const arch of ARCHS) {
    for (const [name, t] of filledStateDict(arch)) {
      const want = NAMES[arch].find(([n]) => n === name)![3];
      assert.is(crc32([t.data]), want, `${arch} ${name}: the bytes differ from torchvision's export`);
    }
    assert.is(torchvisionArchOfStateDict(NAMES[arch].map(([n]) => n)), arch);
  }
  // resnet34 without its last layer3 block: [3, 4, 5, 3] is no torchvision arch.
  const cut = NAMES.resnet34.map(([n]) => n).filter((n) => !n.startsWith('layer3.5.'));
  assert.throws(() => torchvisionArchOfStateDict(cut, 'cut.safetensors'), /cut\.safetensors: not a torchvision resnet18\/34\/50 state dict: state dict has BasicBlock blocks \[3, 4, 5, 3\]/);
});

/** The golden of one arch: forward in eval mode, then one train-mode step, against float64 PyTorch. */
async function checkGolden(arch: 'resnet18' | 'resnet50', model: TorchvisionResNet): Promise<void> {
  const golden = safetensorsFile(`torchvision-${arch}-golden.safetensors`);
  const want = (key: string) => goldenValues(golden, key);
  const shape = NAMES.input_shape;
  await scope(async () => {
    const x = upload(fillValues('input', shape, [-1, 1]), shape, true);
    const [fmap, evalLogits] = ops.noGrad(() => [model.featureMap(x), model.call(x)]);
    assert.equal([...fmap.shape], [...golden.get('eval.feature_map')!.shape]);
    assertClose(await read(fmap), want('eval.feature_map'), FORWARD_TOL, `${arch} eval feature map`);
    assertClose(await read(evalLogits), want('eval.logits'), FORWARD_TOL, `${arch} eval logits`);
    model.train();
    const logits = model.call(x);
    assertClose(await read(logits), want('train.logits'), FORWARD_TOL, `${arch} train logits`);
    backward(ops.sumAll(ops.mul(logits, upload(fillValues('loss_weights', logits.shape, [-1, 1]), logits.shape))));
    assertClose(await read(x.grad!), want('grad.input'), GRAD_TOL, `${arch} input gradient`);
    const params = new Map(model.namedParameters());
    for (const key of golden.keys()) {
      if (!key.startsWith('grad.') || key === 'grad.input') continue;
      const p = params.get(key.slice(5))!;
      assertClose(await read(p.grad!), want(key), GRAD_TOL, `${arch} gradient of ${key.slice(5)}`);
    }
    assertClose(await read(model.bn1.runningMean), want('after.bn1.running_mean'), FORWARD_TOL, `${arch} bn1 running mean after the step`);
  });
}

test('resnet18 and resnet50 match torchvision after a safetensors round trip (eval forward, train step)', async () => {
  for (const arch of ['resnet18', 'resnet50'] as const) {
    const bytes = encodeSafetensors(filledStateDict(arch));
    const model = torchvisionResNetFromTensors(decodeSafetensors(bytes, `${arch}.safetensors`).tensors, `${arch}.safetensors`);
    assert.is(model.arch, arch);
    assert.is(model.training, false, 'loaded in eval mode');
    assert.is(model.numClasses, 1000);
    await checkGolden(arch, model);
    model.dispose();
  }
});

hostTorchTest(test, 'a resnet18 file written by PyTorch loads and gives the golden logits', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gradmix-torchvision-'));
  try {
    const file = join(dir, 'resnet18.safetensors');
    runFixtureScript('torchvision_resnet.py', ['export', 'resnet18', file]);
    const model = await loadTorchvisionResNet(file);
    await scope(async () => {
      const shape = NAMES.input_shape;
      const logits = ops.noGrad(() => model.call(upload(fillValues('input', shape, [-1, 1]), shape)));
      const want = goldenValues(safetensorsFile('torchvision-resnet18-golden.safetensors'), 'eval.logits');
      assertClose(await read(logits), want, FORWARD_TOL, 'logits of the PyTorch-written resnet18');
    });
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A width-4 resnet18 state dict in torchvision's layout (cheap to build and load; the loader reads the width from conv1). */
function smallStateDict(): Map<string, HostTensor> {
  const model = new TorchvisionResNet(new Rng(2), { width: 4, numClasses: 10 });
  const names = [...model.stateDict()].map(([name, t]): [string, number[]] => [name, [...t.shape]]);
  model.dispose();
  return new Map(names.map(([name, shape]): [string, HostTensor] => [name, name.endsWith('num_batches_tracked') ? int64Tensor(shape, [0]) : float32Tensor(shape, fillValues(name, shape))]));
}

test('loadTorchvisionResNet reads a file; wrong files and state dicts get errors naming the file and tensor', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gradmix-torchvision-'));
  try {
    const state = smallStateDict();
    const file = join(dir, 'small.safetensors');
    await writeFile(file, encodeSafetensors(state));
    const model = await loadTorchvisionResNet(file);
    assert.equal([model.arch, model.featureDim, model.numClasses], ['resnet18', 32, 10]);
    assert.equal(await read(model.fc.bias!), Float64Array.from(toFloat32(state.get('fc.bias')!)));
    await scope(async () => {
      // 70x45: odd sizes round up through each stride-2 step (35x23, 18x12, 9x6, 5x3, 3x2).
      const x = upload(fillValues('input', [1, 3, 70, 45], [-1, 1]), [1, 3, 70, 45]);
      assert.equal([...ops.noGrad(() => model.featureMap(x)).shape], [1, 32, 3, 2]);
    });
    model.dispose();

    await assertRejects(loadTorchvisionResNet(join(dir, 'absent.safetensors')), /absent\.safetensors: cannot read the checkpoint: no such file/);
    const notSafetensors = fixturePath('torchvision-resnet-names.json');
    await assertRejects(loadTorchvisionResNet(notSafetensors), /torchvision-resnet-names\.json: not a \.safetensors checkpoint \(starts with '\{"generator":/);
    const cifar = fixturePath('resnet-w4-state.safetensors');
    await assertRejects(loadTorchvisionResNet(cifar), /resnet-w4-state\.safetensors: holds a CIFAR-style SupContrast\/gradmix ResNet \(encoder\.\* tensors/);

    const edited = (edit: (m: Map<string, HostTensor>) => void) => {
      const m = new Map(state);
      edit(m);
      return () => torchvisionResNetFromTensors(m, 'edited.safetensors');
    };
    assert.throws(
      edited((m) => m.delete('layer3.1.bn2.running_var')),
      /edited\.safetensors \(torchvision resnet18\): does not match the model: missing tensor 'layer3\.1\.bn2\.running_var'/,
    );
    assert.throws(
      edited((m) => m.set('head.weight', float32Tensor([2], new Float32Array(2)))),
      /unexpected tensor 'head\.weight'/,
    );
    assert.throws(
      edited((m) => m.set('fc.bias', float32Tensor([3], new Float32Array(3)))),
      /edited\.safetensors \(torchvision resnet18\): tensor 'fc\.bias' has shape \[3\] in the file, the model expects \[10\]/,
    );
    assert.throws(
      edited((m) => m.delete('conv1.weight')),
      /edited\.safetensors: no tensor 'conv1\.weight'; expected a torchvision ResNet state dict/,
    );
    assert.throws(
      edited((m) => m.set('conv1.weight', float32Tensor([4, 3, 3, 3], new Float32Array(4 * 27)))),
      /conv1\.weight is a 3x3 stem; a torchvision ImageNet ResNet has a 7x7 one/,
    );
    // num_batches_tracked is optional (torchvision's published weights carry none).
    const bare = new Map([...state].filter(([n]) => !n.endsWith('num_batches_tracked')));
    torchvisionResNetFromTensors(bare, 'bare.safetensors').dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

async function assertRejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

test.run();
