// .safetensors checkpoints: a PyTorch-written file loads with the right values, save/load
// round trips (with the optimiser resuming bit-for-bit), atomic writes, a round trip through
// PyTorch (when /usr/bin/python3 has torch), and clear errors for corrupt or mismatched files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeCheckpoint,
  decodeSafetensors,
  encodeSafetensors,
  float32Tensor,
  int64Tensor,
  toFloat32,
  toInt32,
  type HostTensor,
  loadCheckpoint,
  loadStateDictInto,
  readCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
  writeFileAtomic,
  type StateDict,
} from '../src/checkpoint/index.js';
import { Adam } from '../src/optim/index.js';
import { Tensor } from '../src/tensor.js';
import { Rng } from '../src/random.js';
import { randn } from '../src/creation.js';
import { read, setupGpu, upload } from './helpers.js';
import { hostTorchTest } from './golden.js';

const fixtureDir = new URL('./fixtures/', import.meta.url);
const torchBytes = new Uint8Array(readFileSync(new URL('torch_state.safetensors', fixtureDir)));
const torchValues = JSON.parse(readFileSync(new URL('torch_state.json', fixtureDir), 'utf8')).tensors as Record<string, { dtype: string; shape: number[]; values: number[] }>;

const test = suite('checkpoint');
let dir = '';
test.before(async () => {
  await setupGpu();
  dir = mkdtempSync(join(tmpdir(), 'gradmix-ckpt-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Fresh (NaN-poisoned) float32 tensors of the given shapes, the way a model's state dict looks. */
function emptyStateDict(shapes: Record<string, number[]>): Map<string, Tensor> {
  return new Map(Object.entries(shapes).map(([name, shape]) => [name, Tensor.empty(shape)]));
}

function disposeAll(sd: StateDict): void {
  for (const t of sd instanceof Map ? sd.values() : Object.values(sd)) (t as Tensor).dispose();
}

async function values(sd: Map<string, Tensor>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of sd) out[k] = Array.from(await read(t));
  return out;
}

test('a state dict written by PyTorch loads with the right values (F32, I64, F16, F64)', async () => {
  const ckpt = decodeCheckpoint(torchBytes, 'torch_state.safetensors');
  assert.equal(ckpt.metadata, { source: 'pytorch' });
  assert.is(ckpt.optimizer, null);
  assert.is(ckpt.model.get('bn1.num_batches_tracked')!.dtype, 'I64');
  assert.is(ckpt.model.get('extra.half')!.dtype, 'F16');
  assert.is(ckpt.model.get('extra.double')!.dtype, 'F64');
  assert.equal([...ckpt.model.keys()].sort(), Object.keys(torchValues).sort());
  const target = emptyStateDict(Object.fromEntries(Object.entries(torchValues).map(([k, v]) => [k, v.shape])));
  loadStateDictInto(target, ckpt.model, ckpt.source);
  const got = await values(target);
  for (const [name, want] of Object.entries(torchValues)) {
    // Every value is exactly float32 after conversion (F64 is rounded once, as .float() would).
    assert.equal(got[name], want.values.map(Math.fround), name);
  }
  assert.equal(got['bn1.num_batches_tracked'], [3]);
  // Integer data also loads into an int32 tensor.
  const counter = Tensor.empty([], 'int32');
  loadStateDictInto({ 'bn1.num_batches_tracked': counter }, ckpt.model, ckpt.source, { strict: false });
  assert.equal(Array.from(await counter.data()), [3]);
  counter.dispose();
  disposeAll(target);
});

/** A tiny "model" (PyTorch's Tiny in scripts/fixtures/checkpoint.py) with an Adam that has taken steps. */
function trainedModel(seed: number, steps = 3): { model: Map<string, Tensor>; opt: Adam; rng: Rng } {
  const rng = new Rng(seed);
  const model = new Map<string, Tensor>();
  for (const [name, v] of Object.entries(torchValues)) {
    if (name.startsWith('extra.')) continue;
    const t = name.endsWith('num_batches_tracked') ? upload([5], []) : randn(v.shape, rng);
    t.requiresGrad = !name.includes('running') && !name.endsWith('num_batches_tracked');
    model.set(name, t);
  }
  const params = [...model.values()].filter((t) => t.requiresGrad);
  const opt = new Adam(params, { lr: 0.01, weightDecay: 0.001 });
  trainSteps(opt, rng, steps);
  return { model, opt, rng };
}

function trainSteps(opt: Adam, rng: Rng, n: number): void {
  for (let s = 0; s < n; s++) {
    opt.zeroGrad();
    // The first parameter sits out the first step, so per-parameter step counts differ.
    opt.params.forEach((p, i) => (p.grad = i === 0 && opt.steps === 0 ? null : randn(p.shape, rng)));
    opt.step();
  }
  opt.zeroGrad();
}

test('save -> load restores the model and the optimiser, which then continues bit-for-bit', async () => {
  const file = join(dir, 'resume.safetensors');
  const a = trainedModel(11);
  await saveCheckpoint(file, { model: a.model, optimizer: a.opt.stateDict(), metadata: { epoch: '3' } });
  const raw = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
  assert.is(raw.tensors.get('bn1.num_batches_tracked')!.dtype, 'I64');
  assert.is(raw.tensors.get('__optimizer__.0.exp_avg')!.dtype, 'F32');
  assert.is(raw.metadata.format, 'pt');
  assert.equal(JSON.parse(raw.metadata['gradmix.optimizer']).counters, { '0.step': 2, '1.step': 3, '2.step': 3, '3.step': 3, '4.step': 3 });

  const b = trainedModel(99, 5); // different values everywhere, and other step counts
  assert.is(b.opt.steps, 5);
  const loaded = await loadCheckpoint(file, { model: b.model, optimizer: b.opt });
  assert.equal(loaded.metadata, { epoch: '3' });
  assert.equal(await values(b.model), await values(a.model));
  assert.is(b.opt.steps, 3);
  trainSteps(a.opt, new Rng(5), 2);
  trainSteps(b.opt, new Rng(5), 2);
  assert.equal(await values(b.model), await values(a.model));
  for (const m of [a, b]) {
    m.opt.dispose();
    disposeAll(m.model);
  }
  assert.equal(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary files left behind',
  );
});

test('writes are atomic: a failed save leaves the old file intact and no temporary file', async () => {
  const file = join(dir, 'atomic.safetensors');
  await writeFileAtomic(file, new Uint8Array([1, 2, 3]));
  await writeFileAtomic(file, new Uint8Array([4, 5]));
  assert.equal(Array.from(readFileSync(file)), [4, 5]);
  const gone = upload([1], [1]);
  gone.dispose();
  try {
    await saveCheckpoint(file, { model: { w: gone } });
    assert.unreachable('saving a disposed tensor must fail');
  } catch (e) {
    assert.match((e as Error).message, /used after dispose/);
  }
  assert.equal(Array.from(readFileSync(file)), [4, 5]);
  try {
    await writeFileAtomic(join(dir, 'no-such-folder', 'x.safetensors'), new Uint8Array([1]));
    assert.unreachable('writing into a missing folder must fail');
  } catch (e) {
    assert.match((e as Error).message, /ENOENT/);
  }
  assert.equal(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('a state dict that does not match the model is a clear error, and nothing is loaded', async () => {
  const file = join(dir, 'mismatch.safetensors');
  const w = upload([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = upload([7, 8], [2]);
  await saveCheckpoint(file, { model: { 'fc.weight': w, 'fc.bias': b } });
  const ckpt = await readCheckpoint(file);
  const cases: [Record<string, number[]>, RegExp][] = [
    [{ 'fc.weight': [2, 3], 'fc.bias': [2], 'fc2.weight': [1] }, /mismatch\.safetensors: does not match the model: missing tensor 'fc2\.weight'/],
    [{ 'fc.weight': [2, 3] }, /does not match the model: unexpected tensor 'fc\.bias'/],
    [{ 'fc.weight': [3, 2], 'fc.bias': [2] }, /mismatch\.safetensors: tensor 'fc\.weight' has shape \[2, 3\] in the file, the model expects \[3, 2\]/],
  ];
  for (const [shapes, message] of cases) {
    const sd = emptyStateDict(shapes); // NaN-poisoned
    assert.throws(() => loadStateDictInto(sd, ckpt.model, ckpt.source), message);
    for (const [name, t] of sd) assert.ok((await read(t)).every(Number.isNaN), `${name}: nothing may be written on a mismatch`);
    disposeAll(sd);
  }
  const opt = new Adam([w]);
  assert.throws(() => restoreOptimizer(opt, ckpt), /mismatch\.safetensors: holds no optimiser state/);
  for (const t of [w, b]) t.dispose();
});

/** A file from raw parts: header text (or object), data bytes, and optionally a lying length. */
function rawFile(header: string | object, data: number[] = [], lengthField?: number): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthField ?? text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

test('corrupt files are clear errors naming the file and the tensor', async () => {
  const good = encodeSafetensors([
    ['a', float32Tensor([2, 3], new Float32Array(6))],
    ['b', float32Tensor([2], new Float32Array([1, 2]))],
  ]);
  const f32 = (shape: number[], offsets: number[]) => ({ dtype: 'F32', shape, data_offsets: offsets });
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /0 bytes is too short for the 8-byte header length/],
    ['short', good.subarray(0, 5), /5 bytes is too short/],
    // A plausible length past the end is a cut file; an implausible one, another kind of file.
    ['cut-header', rawFile({}, [], 1000), /header length 1000 exceeds the 2 bytes after the length field \(corrupt or truncated file\)/],
    ['huge-header', rawFile({}, [], 1e12), /not a \.safetensors checkpoint \(starts with 00 10 a5 d4 e8 00 00 00 \.\.\.\)$/],
    ['json', new TextEncoder().encode('{\n  "protocol": "mnist-mini"\n}\n'), /: not a \.safetensors checkpoint \(starts with '\{\\n {2}"protocol": "mnist-m\.\.\.'\)$/],
    ['png', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), /not a \.safetensors checkpoint \(starts with 89 50 4e 47 0d 0a 1a 0a \.\.\.\)$/],
    ['bad-json', rawFile('{"a": {"dtype": "F32",'), /header is not valid UTF-8 JSON/],
    ['not-object', rawFile('[1, 2]'), /header is not a JSON object/],
    ['bad-dtype', rawFile({ a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /tensor 'a': unknown dtype "F33"/],
    ['bad-shape', rawFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /tensor 'a': invalid shape \[-1\]/],
    ['truncated', good.subarray(0, good.length - 4), /tensor 'b': data_offsets \[24, 32\] are out of range: the data section has 28 bytes \(truncated file\?\)/],
    ['wrong-size', rawFile({ a: f32([2, 3], [0, 20]) }, new Array(20).fill(0)), /tensor 'a': shape \[2, 3\] of F32 needs 24 bytes, data_offsets \[0, 20\] hold 20/],
    ['overlap', rawFile({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, new Array(12).fill(0)), /tensor 'b' overlaps/],
    ['gap', rawFile({ a: f32([1], [4, 8]) }, new Array(8).fill(0)), /bytes \[0, 4\) of the data section belong to no tensor/],
    ['trailing', rawFile({ a: f32([1], [0, 4]) }, new Array(8).fill(0)), /data section has 8 bytes but the tensors cover 4/],
    ['bad-metadata', rawFile({ __metadata__: { epoch: 3 } }), /__metadata__ 'epoch' is not a string/],
    ['bad-optimizer', rawFile({ __metadata__: { 'gradmix.optimizer': '{' } }), /metadata 'gradmix\.optimizer' is not valid JSON/],
  ];
  // The good file decodes, so each failure is down to its one defect.
  assert.equal(decodeSafetensors(good).tensors.get('b')!.shape, [2]);
  for (const [name, bytes, message] of cases) {
    const file = join(dir, `${name}.safetensors`);
    writeFileSync(file, bytes);
    try {
      await readCheckpoint(file);
      assert.unreachable(`${name}: no error`);
    } catch (e) {
      const text = (e as Error).message;
      assert.ok(text.startsWith(file + ': '), `${name}: error does not name the file: ${text}`);
      assert.match(text, message, `${name}: ${text}`);
    }
  }
});

test('every safetensors dtype reads as float32; integer reads are range-checked', () => {
  const host = (dtype: HostTensor['dtype'], shape: number[], bytes: number[]): HostTensor => ({ dtype, shape, data: new Uint8Array(bytes) });
  const cases: [HostTensor, number[]][] = [
    [host('BF16', [2], [0xc0, 0x3f, 0x80, 0xbf]), [1.5, -1]],
    [host('I32', [1], [0xf9, 0xff, 0xff, 0xff]), [-7]],
    [host('I16', [1], [0x00, 0x80]), [-32768]],
    [host('I8', [2], [0xfd, 0x05]), [-3, 5]],
    [host('U8', [2], [200, 0]), [200, 0]],
    [host('BOOL', [2], [1, 0]), [1, 0]],
    [int64Tensor([2], [-5, 2 ** 40]), [-5, 2 ** 40]],
  ];
  for (const [t, want] of cases) {
    const bytes = encodeSafetensors([['x', t]]);
    assert.equal(Array.from(toFloat32(decodeSafetensors(bytes).tensors.get('x')!)), want, t.dtype);
  }
  assert.throws(() => toInt32(int64Tensor([1], [2 ** 40]), 'x'), /x: value 1099511627776 at index 0 does not fit int32/);
  assert.throws(() => toInt32(float32Tensor([1], new Float32Array([1])), 'x'), /x: cannot read F32 data as integers/);
});

hostTorchTest(test, 'round trip through PyTorch: save here, load + save in Python, load here', async () => {
  const a = trainedModel(3);
  const mine = join(dir, 'mine.safetensors');
  const theirs = join(dir, 'theirs.safetensors');
  await saveCheckpoint(mine, { model: a.model, optimizer: a.opt.stateDict(), metadata: { note: 'round trip' } });
  const script = new URL('../scripts/fixtures/checkpoint.py', import.meta.url).pathname;
  const py = spawnSync('/usr/bin/python3', [script, 'roundtrip', mine, theirs], { encoding: 'utf8' });
  assert.is(py.status, 0, py.stderr);
  const b = trainedModel(4);
  const loaded = await loadCheckpoint(theirs, { model: b.model, optimizer: b.opt });
  assert.equal(loaded.metadata, { note: 'round trip' });
  assert.is(loaded.model.get('bn1.num_batches_tracked')!.dtype, 'I64');
  assert.equal(await values(b.model), await values(a.model));
  trainSteps(a.opt, new Rng(8), 1);
  trainSteps(b.opt, new Rng(8), 1);
  assert.equal(await values(b.model), await values(a.model));
  for (const m of [a, b]) {
    m.opt.dispose();
    disposeAll(m.model);
  }
});

test('a non-finite tensor is refused with its name; the previous checkpoint stays', async () => {
  const file = join(dir, 'finite.safetensors');
  await saveCheckpoint(file, { model: { w: upload([1, 2], [2]) } });
  const before = readFileSync(file);
  try {
    await saveCheckpoint(file, { model: { 'layer.weight': upload([1, NaN], [2]) } });
    assert.unreachable('a NaN must not be saved');
  } catch (e) {
    assert.match((e as Error).message, /refusing to save tensor 'layer.weight': element 1 is NaN/);
  }
  assert.equal(readFileSync(file), before);
});

test('file errors name the path and what is wrong; a newer format version is refused; old files load', async () => {
  const expectError = async (f: () => Promise<unknown>, re: RegExp) => {
    try {
      await f();
      assert.unreachable(`should fail with ${re}`);
    } catch (e) {
      assert.match((e as Error).message, re);
    }
  };
  await expectError(() => readCheckpoint(dir), new RegExp(`${dir}: cannot read the checkpoint: is a folder, not a file \\(EISDIR\\)`));
  await expectError(() => readCheckpoint(join(dir, 'missing.safetensors')), /missing\.safetensors: cannot read the checkpoint: no such file or folder \(ENOENT\)/);
  const meta = (m: Record<string, string>) => encodeSafetensors([['w', float32Tensor([1], Float32Array.of(1))]], m);
  assert.throws(() => decodeCheckpoint(meta({ 'gradmix.format_version': '99' }), 'new.safetensors'), /new\.safetensors: checkpoint format version 99 is newer than this gradmix reads \(up to 1\)/);
  assert.throws(() => decodeCheckpoint(meta({ 'gradmix.format_version': 'x' }), 'v.safetensors'), /v\.safetensors: metadata 'gradmix.format_version' is "x"/);
  assert.is(decodeCheckpoint(meta({ format: 'pt' }), 'old.safetensors').model.size, 1, 'a file without a version (written before versions) loads');
  const { metadataJson } = await import('../src/checkpoint/index.js');
  assert.throws(() => metadataJson(decodeCheckpoint(meta({ training: '{oops' }), 'b.safetensors'), 'training'), /b\.safetensors: metadata 'training' is not valid JSON/);
  const file = join(dir, 'versioned.safetensors');
  await saveCheckpoint(file, { model: { w: upload([1], [1]) } });
  assert.is(decodeSafetensors(readFileSync(file)).metadata['gradmix.format_version'], '1', 'new files carry their version');
});

test('a full disk (ENOSPC) mid-save is a clear error; the previous file stays and no temporary is left', async () => {
  const { writeFaults } = await import('../src/checkpoint/index.js');
  const file = join(dir, 'full.safetensors');
  await saveCheckpoint(file, { model: { w: upload([1, 2], [2]) } });
  const before = readFileSync(file);
  writeFaults.hook = (stage) => {
    if (stage === 'partial') throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  try {
    await saveCheckpoint(file, { model: { w: upload([3, 4], [2]) } });
    assert.unreachable('the save must fail');
  } catch (e) {
    assert.match((e as Error).message, /full\.safetensors: cannot write .*no space left on the device \(disk full\) \(ENOSPC\)/);
  } finally {
    writeFaults.hook = null;
  }
  assert.equal(readFileSync(file), before);
  assert.equal(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test.run();
