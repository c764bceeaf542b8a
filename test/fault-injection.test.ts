// Fault injection: what a user's bad day does to a run, and that nothing bad is saved or lost.
// - kills: the CLI (from source, in a child process) trained at width 2 on 32 images is stopped by
//   SIGINT or SIGKILL at seeded points of training and of a checkpoint save, then resumed; the final
//   checkpoint's tensors must be bit-identical and the log (every step's loss terms, each epoch's
//   loss) identical to an uninterrupted run's; a second run on the same folder is refused at once;
// - corruption: every field of a checkpoint (header length, each header JSON token, each tensor's
//   data, truncation at every section boundary) and every header of the data formats the project
//   loads (IDX, CIFAR records, SVHN .mat, PNG and JPEG of image folders): a clear error that names
//   the file, never a crash, never different data taken as good;
// - a GPU device lost mid-run and a full disk during a save: a clear error, the previous checkpoint
//   intact, and --resume finishing the run exactly.
// Prints its counts (cases tried, all caught). SEED=<n> repeats a run's kill points.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpu, initGpu } from '../runtime/gpu.js';
import { decodeSafetensors, readCheckpoint, applyCheckpoint, metadataJson, writeFaults } from '../src/checkpoint/index.js';
import { train } from '../src/train/train.js';
import { resolveOptions } from '../src/train/options.js';
import { loadTrainingData } from '../src/train/train.js';
import { setUpRun } from '../src/train/training-run.js';
import { loadIdxPair } from '../src/data/idx.js';
import { loadCifar10 } from '../src/data/cifar.js';
import { loadSvhn } from '../src/data/svhn.js';
import { loadImageFolder } from '../src/data/image-folder.js';
import { cifarRecords, idxImages, idxLabels, jpegBytes, matFile, pixelBytes, pngBytes, put, rgbaImage } from './data-fixtures.js';
import { seeded, setupGpu } from './helpers.js';

const test = suite('fault-injection');
const repo = fileURLToPath(new URL('..', import.meta.url));
const counts = { runs: 0, kills: 0, corruptions: 0, caught: 0, harmless: 0 };
let root = '';
let reference = '';

test.before(async () => {
  await setupGpu();
  root = mkdtempSync(join(tmpdir(), 'gradmix-faults-'));
});
test.after(() => {
  rmSync(root, { recursive: true, force: true });
  console.log(
    `\nfault injection: ${counts.kills} kills, device losses and full disks (${counts.runs} CLI runs), all resumed bit-identical; ` +
      `${counts.corruptions} corrupted files, ${counts.caught} caught with an error naming the file, ${counts.harmless} harmless (unused bytes, same data); 0 crashes`,
  );
});

// ---- the CLI in a child process -------------------------------------------------------------

const RUN = { width: 2, batchSize: 8, maxTrain: 32, epochs: 2, evaluate: false, progress: false } as const;
const ARGS = ['train', '--width', '2', '--batch', '8', '--max-train', '32', '--epochs', '2', '--no-eval', '--quiet'];
const STEPS = 8;

interface Child {
  pid: number;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill: (signal: NodeJS.Signals) => void;
}

function cli(out: string, extra: string[] = [], env: Record<string, string> = {}, args = ARGS): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/fault-child.ts', 'bin/gradmix.js', ...args, '--out', out, ...extra], {
    cwd: repo,
    env: { ...process.env, GRADMIX_AUTOTUNE: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  counts.runs++;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return { pid: child.pid!, done, kill: (s) => child.kill(s) };
}

function stepRows(out: string): number {
  const file = join(out, 'log.jsonl');
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"kind":"step"')).length
    : 0;
}

/** Waits until the run has logged `k` steps (or ended), then `delay` ms more, then sends `signal`. */
async function killAfterStep(c: Child, out: string, k: number, delay: number, signal: NodeJS.Signals): Promise<void> {
  let ended = false;
  void c.done.then(() => (ended = true));
  while (!ended && stepRows(out) < k) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, delay));
  if (!ended) c.kill(signal);
}

/** What must be identical between runs: the checkpoint's tensors and training state, and the log. */
function snapshot(out: string) {
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(out, 'checkpoint.safetensors')));
  const rows = readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    tensors: [...tensors].map(([name, t]) => `${name} ${t.dtype} ${t.shape} ${Buffer.from(t.data).toString('base64')}`),
    training: metadata.training,
    optimizer: metadata['gradmix.optimizer'],
    log: rows.map((r) => (r.kind === 'epoch' ? { epoch: r.epoch, step: r.step, loss: r.loss, lr: r.lr } : r.kind === 'status' ? { status: r.status, step: r.step } : r)),
  };
}

function assertSameAsReference(out: string, what: string): void {
  const got = snapshot(out);
  const want = snapshot(reference);
  assert.equal(got.log, want.log, `${what}: log differs`);
  assert.equal(got.training, want.training, `${what}: training position differs`);
  assert.equal(got.optimizer, want.optimizer, `${what}: optimiser state differs`);
  assert.ok(got.tensors.length === want.tensors.length && got.tensors.every((t, i) => t === want.tensors[i]), `${what}: checkpoint tensors differ`);
  assert.equal(
    readdirSync(out).filter((f) => f.endsWith('.tmp') || f === 'run.lock'),
    [],
    `${what}: temporaries or a lock left behind`,
  );
}

/** Resumes a run in this process (as `gradmix train --resume` does), returning what it printed to stderr. */
async function resume(out: string): Promise<string> {
  const said: string[] = [];
  const print = console.error;
  console.error = (...a: unknown[]) => void said.push(a.join(' '));
  try {
    const r = await train({ ...RUN, out, resume: true });
    r.model.dispose();
  } finally {
    console.error = print;
  }
  return said.join('\n');
}

test('kills in training and in saves (SIGINT, SIGKILL), then --resume: bit-identical weights and identical logs', async () => {
  // The uninterrupted run, in this process: the CLI children below must match it exactly.
  reference = join(root, 'reference');
  (await train({ ...RUN, out: reference })).model.dispose();
  assert.is(snapshot(reference).log.filter((r) => (r as { kind?: string }).kind === 'step').length, STEPS);

  const { rng, seed } = seeded();
  const point = () => ({ k: 1 + Math.floor(rng.uniform() * (STEPS - 2)), delay: Math.floor(rng.uniform() * 300) });
  // The first SIGINT and SIGKILL come at once after their step (two or more steps still to run),
  // so the run is interrupted mid-way whatever the load; the others at random delays, which may
  // fall after the run's end.
  const scenarios = [
    ...(['SIGINT', 'SIGKILL', 'SIGINT', 'SIGKILL', 'SIGTERM'] as const).map((signal, i) => ({ signal, ...point(), save: '', ...(i < 2 ? { delay: 0 } : {}) })),
    { signal: 'SIGKILL' as const, k: 0, delay: 0, save: '1:partial:SIGKILL' },
    { signal: 'SIGKILL' as const, k: 0, delay: 0, save: '2:written:SIGKILL' },
    { signal: 'SIGINT' as const, k: 0, delay: 0, save: '1:partial:SIGINT' },
  ];
  // A second run on a folder in use is refused at once, naming the folder and the first run (a long first run, so the two overlap).
  const busy = join(root, 'busy');
  const long = cli(
    busy,
    [],
    {},
    ARGS.map((a, i) => (ARGS[i - 1] === '--epochs' ? '1000' : a)),
  );
  let ended = false;
  void long.done.then(() => (ended = true));
  while (stepRows(busy) < 1 && !ended) await new Promise((r) => setTimeout(r, 10));
  if (ended) assert.unreachable(`the first run ended before its first step: ${(await long.done).stderr}`);
  const second = await cli(busy).done;
  long.kill('SIGKILL');
  await long.done;
  assert.is(second.code, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`${busy} is in use by another gradmix run \\(pid ${long.pid} on`));

  const outcomes = new Set<string>();
  for (const [i, s] of scenarios.entries()) {
    const what = `${s.save ? `kill in save ${s.save}` : `${s.signal} after step ${s.k} + ${s.delay} ms`} (seed ${seed})`;
    const out = join(root, `kill${i}`);
    const first = cli(out, [], s.save ? { GRADMIX_FAULT_SAVE: s.save } : {});
    if (!s.save) await killAfterStep(first, out, s.k, s.delay, s.signal);
    const r1 = await first.done;
    counts.kills++;
    if (!s.save) outcomes.add(String(r1.code ?? r1.signal)); // the save scenarios' exits are fixed
    // A signal after the last step's handler is gone (the run finished: its log says so) takes the
    // default action, as for any finished command; during the run it is handled: exit 130.
    const finishedBefore = () => /"status":"finished"/.test(readFileSync(join(out, 'log.jsonl'), 'utf8'));
    if (s.signal !== 'SIGKILL') assert.ok(r1.code === 130 || r1.code === 0 || (r1.signal === s.signal && finishedBefore()), `${what}: exit ${r1.code} ${r1.signal}\n${r1.stderr}`);
    else assert.ok(r1.signal === 'SIGKILL' || r1.code === 0, `${what}: exit ${r1.code} ${r1.signal}\n${r1.stderr}`);
    if (r1.code === 130) assert.match(readFileSync(join(out, 'log.jsonl'), 'utf8'), /"status":"interrupted"/);
    if (s.save.includes('partial:SIGKILL'))
      assert.ok(
        readdirSync(out).some((f) => f.endsWith('.tmp')),
        'the killed save left its temporary',
      );
    // A SIGKILL after the run released its lock (while the process was exiting) leaves none to take over.
    const lockLeft = existsSync(join(out, 'run.lock'));
    const said = await resume(out);
    if (s.save.includes('partial:SIGKILL')) assert.match(said, /removed 1 temporary file\(s\) left by a save that was killed/);
    if (r1.signal === 'SIGKILL' && lockLeft) assert.match(said, /taking over the lock of .* from a run that is no longer running/);
    assertSameAsReference(out, what);
  }
  // Kills landed mid-run (not only after the end): an interrupted exit (130) and a killed one.
  assert.ok(outcomes.has('130') && outcomes.has('SIGKILL'), `exits seen: ${[...outcomes].join(', ')}`);
});

test('Ctrl-C during the evaluation after training: exit 130, lock released, the log says so, no results; --resume only evaluates', async () => {
  const out = join(root, 'eval-interrupted');
  const args = ['train', '--width', '2', '--batch', '8', '--max-train', '16', '--epochs', '1', '--quiet'];
  const rows = () =>
    readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  // The 2nd save is the recogniser's, stored in the checkpoint during the evaluation.
  const stopped = await cli(out, [], { GRADMIX_FAULT_SAVE: '2:written:SIGINT' }, args).done;
  counts.kills++;
  assert.is(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /interrupted during the evaluation: training had finished and its checkpoint is saved to .*checkpoint\.safetensors.*--resume.*gradmix eval --checkpoint/s);
  assert.not.ok(existsSync(join(out, 'run.lock')), 'the lock is released');
  assert.not.ok(existsSync(join(out, 'results.json')), 'no results.json');
  const [finished, interrupted] = rows().slice(-2);
  assert.equal([finished?.status, interrupted?.status, interrupted?.phase], ['finished', 'interrupted', 'evaluation']);
  const steps = stepRows(out);
  const resumed = await cli(out, ['--resume'], {}, args).done;
  assert.is(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /training finished earlier .*nothing left to train/);
  assert.not.match(resumed.stderr, /resuming from|taking over the lock/);
  assert.is(stepRows(out), steps, 'no training');
  assert.ok(existsSync(join(out, 'results.json')));
  assert.is(rows().at(-1)?.status, 'finished');
});

test('Ctrl-C in gradmix protocol and objectives (no --resume flag): the message says to rerun the same command', async () => {
  const tiny = ['--width', '2', '--batch', '8', '--max-train', '16', '--epochs', '2', '--quiet'];
  for (const args of [
    ['protocol', '--splits', '0', ...tiny],
    ['objectives', '--objectives', 'supcon', ...tiny],
  ]) {
    const stopped = await cli(join(root, `hint-${args[0]}`), [], { GRADMIX_FAULT_SAVE: '1:written:SIGINT' }, args).done;
    counts.kills++;
    assert.is(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /stopped; checkpoint saved to .*checkpoint\.safetensors\. Rerun the same command to continue\./, args[0]);
    assert.not.match(stopped.stderr, /--resume/, args[0]);
  }
});

// ---- in-process faults: a lost device, a full disk ---------------------------------------------

test('a GPU device lost mid-run: a clear error naming the step and the checkpoint kept; --resume finishes the run exactly', async () => {
  const out = join(root, 'lost');
  let saved: Buffer | null = null;
  try {
    await train(
      { ...RUN, out },
      {
        onStep: (step) => {
          if (step === 5) {
            saved = readFileSync(join(out, 'checkpoint.safetensors'));
            gpu().device.destroy(); // what a driver reset looks like to the engine
          }
        },
      },
    );
    assert.unreachable('the run must fail');
  } catch (e) {
    assert.match((e as Error).message, /GPU failure while training step 7 \(epoch 2, batch 3\): .*(lost|destroyed)/s);
    assert.match((e as Error).message, new RegExp(`The last checkpoint kept is ${out}/checkpoint\\.safetensors \\(next: epoch 2, batch 0\\); continue with --resume`));
  }
  assert.equal(readFileSync(join(out, 'checkpoint.safetensors')), saved, 'the checkpoint is intact');
  await initGpu(); // a new device, as a new process would get
  await resume(out);
  counts.kills++;
  assertSameAsReference(out, 'device lost');
});

test('a full disk (ENOSPC) during a save: a clear error, the previous checkpoint intact; --resume finishes the run exactly', async () => {
  const out = join(root, 'full');
  let saves = 0;
  let before: Buffer | null = null;
  writeFaults.hook = (stage, file) => {
    if (stage !== 'partial' || !file.endsWith('checkpoint.safetensors') || ++saves !== 2) return;
    before = readFileSync(file);
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  try {
    await train({ ...RUN, out });
    assert.unreachable('the save must fail');
  } catch (e) {
    assert.match((e as Error).message, /error while saving the checkpoint of epoch 2 .*: .*checkpoint\.safetensors: cannot write .*no space left on the device \(disk full\) \(ENOSPC\)/s);
    assert.match((e as Error).message, /The last checkpoint kept is .*\(next: epoch 2, batch 0\)/);
  } finally {
    writeFaults.hook = null;
  }
  assert.equal(readFileSync(join(out, 'checkpoint.safetensors')), before, 'the previous checkpoint is intact');
  await resume(out);
  counts.kills++;
  assertSameAsReference(out, 'full disk');
});

// ---- corruption ---------------------------------------------------------------------------------

/** Runs a loader on a corrupted file: it must throw an Error naming the file, or return data equal to the original's. */
async function expectCaught(file: string, load: () => Promise<unknown>, original: unknown, what: string): Promise<void> {
  counts.corruptions++;
  let result: unknown;
  try {
    result = await load();
  } catch (e) {
    const err = e as Error;
    assert.ok(err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError), `${what}: a crash, not a clear error: ${err?.stack ?? err}`);
    assert.ok(err.message.includes(basename(file)), `${what}: the message does not name ${basename(file)}: ${err.message}`);
    counts.caught++;
    return;
  }
  assert.equal(result, original, `${what}: corrupt data was loaded as good`);
  counts.harmless++;
}

const flip = (bytes: Uint8Array, at: number, mask = 0x01) => {
  const b = bytes.slice();
  b[at] ^= mask;
  return b;
};

test('a corrupted checkpoint: every field flipped and every section boundary truncated is a clear error naming the file', async () => {
  const good = new Uint8Array(readFileSync(join(reference, 'checkpoint.safetensors')));
  const headerLength = Number(new DataView(good.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(good.subarray(8, 8 + headerLength));
  const { tensors } = decodeSafetensors(good);
  const dataStart = 8 + headerLength;
  const boundaries = new Set([0, 1, 4, 7, 8, 9, 8 + (headerLength >> 1), dataStart - 1, dataStart, good.length - 1]);
  const cases: [string, Uint8Array][] = [];
  for (const at of boundaries) cases.push([`truncated at byte ${at}`, good.subarray(0, at)]);
  for (let i = 0; i < 8; i++) cases.push([`header length byte ${i} flipped`, flip(good, i)]);
  // Each JSON token of the header (names, dtypes, shape dims, data offsets, metadata keys and values): a bit flip in its middle.
  for (const m of header.matchAll(/"(?:[^"\\]|\\.)*"|-?\d+/g)) cases.push([`header token ${m[0].slice(0, 40)} at ${m.index} flipped`, flip(good, 8 + m.index! + (m[0].length >> 1))]);
  // Each tensor's data: a bit flip in its middle, and a truncation at its end (every data boundary).
  for (const [name, t] of tensors) {
    const begin = t.data.byteOffset - good.byteOffset;
    cases.push([`data of ${name} flipped`, flip(good, begin + (t.data.length >> 1))]);
    cases.push([`truncated after ${name}`, good.subarray(0, begin + t.data.length - 1)]);
  }
  // What a resume reads: the file, its training metadata, and the model and optimiser it fills.
  const o = resolveOptions({ ...RUN, out: join(root, 'unused') });
  const run = setUpRun(o, await loadTrainingData(o));
  const file = join(root, 'corrupt', 'checkpoint.safetensors');
  put(join(root, 'corrupt'), 'checkpoint.safetensors', good);
  const resumeRead = async () => {
    const d = await readCheckpoint(file);
    metadataJson(d, 'training');
    applyCheckpoint(d, { model: run.model.stateDict(), optimizer: run.optimizer });
    return 'loaded';
  };
  assert.is(await resumeRead(), 'loaded', 'the good file loads');
  for (const [what, bytes] of cases) {
    writeFileSync(file, bytes);
    await expectCaught(file, resumeRead, null, `checkpoint ${what}`);
  }
  run.model.dispose();
  run.optimizer.dispose();
});

/** Every byte of `ranges` flipped (all bits) and every boundary truncated, each loaded with `load`. */
async function corruptFile(file: string, load: () => Promise<unknown>, ranges: [number, number][], boundaries: number[], what: string): Promise<void> {
  const good = new Uint8Array(readFileSync(file));
  const original = await load();
  for (const [from, to] of ranges) {
    for (let at = from; at < to; at++) {
      writeFileSync(file, flip(good, at, 0xff));
      await expectCaught(file, load, original, `${what}: byte ${at} flipped`);
    }
  }
  for (const at of boundaries) {
    writeFileSync(file, good.subarray(0, at));
    await expectCaught(file, load, original, `${what}: truncated at ${at}`);
  }
  writeFileSync(file, good);
}

const plain = (d: { n: number; channels: number; height: number; width: number; images: Float32Array; labels: Int32Array }) => ({
  shape: [d.n, d.channels, d.height, d.width],
  images: Buffer.from(d.images.buffer).toString('base64'),
  labels: Array.from(d.labels),
});

test('corrupted data files: every header field of IDX, CIFAR records, SVHN .mat, PNG and JPEG is a clear error naming the file', async () => {
  const dir = join(root, 'data');
  // IDX: magic, count, rows, columns (images); magic, count (labels); truncated at each field and in the data.
  const images = put(dir, 'train-images-idx3-ubyte', idxImages(3, 4, 5, pixelBytes(60, 1)));
  const labels = put(dir, 'train-labels-idx1-ubyte', idxLabels([5, 0, 9]));
  const idx = async () => plain(await loadIdxPair(images, labels));
  await corruptFile(images, idx, [[0, 16]], [0, 3, 4, 8, 12, 15, 16, 16 + 20, 16 + 59], 'IDX images');
  await corruptFile(
    labels,
    idx,
    [
      [0, 8],
      [8, 11],
    ],
    [0, 4, 7, 8, 10],
    'IDX labels',
  );
  // CIFAR records: no header; each record's label byte, and truncation inside each record.
  const cifarDir = join(dir, 'cifar-10-batches-bin');
  const test3 = put(cifarDir, 'test_batch.bin', cifarRecords([[3], [1], [4]], 9).bytes);
  const cifar = async () => plain(await loadCifar10(cifarDir, 'test'));
  await corruptFile(
    test3,
    cifar,
    [
      [0, 1],
      [3073, 3074],
      [6146, 6147],
    ],
    [1, 100, 3072, 3074, 6145, 9218],
    'CIFAR-10 test batch',
  );
  // SVHN .mat: version and endianness, and each variable's tags (element, flags' class, dims, name, data).
  const n = 2;
  const mat = matFile([
    { name: 'X', dims: [32, 32, 3, n], values: pixelBytes(n * 3072, 5), type: 'uint8' },
    { name: 'y', dims: [n, 1], values: [10, 3], type: 'double' },
  ]);
  const svhnFile = put(join(dir, 'svhn'), 'train_32x32.mat', mat);
  const svhn = async () => plain(await loadSvhn(join(dir, 'svhn'), 'train'));
  const fields: [number, number][] = [[124, 128]];
  const varStarts: number[] = [];
  for (let at = 128; at < mat.length;) {
    varStarts.push(at);
    // element tag 8, flags: tag 8 + class byte (the other flag bytes and nzmax are unused for full arrays), dims: tag 8 + data, name: small element 8, data tag 8.
    const dimsBytes = new DataView(mat.buffer).getUint32(at + 8 + 16 + 4, true);
    const dimsEnd = at + 8 + 16 + 8 + Math.ceil(dimsBytes / 8) * 8;
    fields.push([at, at + 8 + 8 + 1], [at + 8 + 16, dimsEnd + 8 + 8]);
    at += 8 + new DataView(mat.buffer).getUint32(at + 4, true);
  }
  await corruptFile(svhnFile, svhn, fields, [0, 100, 127, 128, ...varStarts.flatMap((s) => [s + 4, s + 8, s + 40]), mat.length - 1], 'SVHN .mat');
  // PNG: the signature, IHDR (length, type, fields, CRC), the other chunks' length and type; truncated at each chunk.
  const folder = join(dir, 'folder');
  const png = pngBytes(rgbaImage(3, 2, 1));
  const pngFile = put(folder, 'dog/a.png', png);
  const jpg = jpegBytes(3, 2, [200, 100, 50]);
  const jpgFile = put(folder, 'cat/b.jpg', jpg);
  const imageFolder = async () => plain(await loadImageFolder(folder));
  const chunks: number[] = [];
  for (let at = 8; at < png.length; at += 12 + new DataView(png.buffer, png.byteOffset).getUint32(at)) chunks.push(at);
  await corruptFile(pngFile, imageFolder, [[0, 8 + 25], ...chunks.slice(1).map((c): [number, number] => [c, c + 8])], [0, 7, ...chunks.flatMap((c) => [c, c + 8, c + 9])], 'PNG');
  // JPEG: each marker (FF xx) and the frame header's fields (precision, height, width, components); truncated at each marker.
  const markers: number[] = [];
  for (let at = 0; at + 1 < jpg.length; at++) if (jpg[at] === 0xff && jpg[at + 1] >= 0xc0 && jpg[at + 1] !== 0xff) markers.push(at);
  const sof = markers.find((m) => jpg[m + 1] === 0xc0)!;
  const headerMarkers = markers.filter((m) => m <= markers.find((x) => jpg[x + 1] === 0xda)!);
  await corruptFile(jpgFile, imageFolder, [...headerMarkers.map((m): [number, number] => [m, m + 2]), [sof + 4, sof + 10]], [0, 1, 2, ...headerMarkers.slice(1)], 'JPEG');
});

test.run();
