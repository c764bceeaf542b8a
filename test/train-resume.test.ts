// Saving and resuming a training run folder: a fresh start clears an earlier run's results, an
// image folder may move (or be spelled otherwise) between sessions, checkpoints of the previous
// fingerprint form still resume, a resume with another attention network is refused, a resume
// killed while it rewrites log.jsonl keeps the earlier rows, and a resume runs the kernel variants
// its checkpoint recorded; a fresh start into a folder of a run of other settings is refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Rng } from '../src/random.js';
import { TorchvisionResNet } from '../src/nn/torchvision-resnet.js';
import { readSafetensors, toHost, writeFaults, writeSafetensors, type HostTensor } from '../src/checkpoint/index.js';
import { train, type TrainResult } from '../src/train/train.js';
import type { TrainOptions } from '../src/train/options.js';
import { CORRUPT_PICTURE, CORRUPT_RESULTS, KERNELS_METADATA, OOD_FOLDER, PROBE_FOLDER, RESULT_FILES } from '../src/train/epoch-loop.js';
import { pinTunedChoices, resetTunedChoices, tunedChoices } from '../src/ops/kernel-choice.js';
import { gpu } from '../runtime/gpu.js';
import { rejects, removeTempDirs, tempDir } from './data-fixtures.js';
import { writeShapesFolder } from './shapes-folder.js';
import { setupGpu } from './helpers.js';

const test = suite('train-resume');
test.before(setupGpu);
test.after(removeTempDirs);

const quick = { protocol: 'mnist-mini', width: 2, batchSize: 8, maxTrain: 16, epochs: 2, method: 'none' as const, progress: false, evaluate: false };

/** Trains `o`, stopping after step `stopAfter` (0-based) when given; frees the model. */
async function run(o: Partial<TrainOptions>, stopAfter?: number): Promise<TrainResult> {
  const controller = new AbortController();
  const r = await train(o, stopAfter === undefined ? {} : { signal: controller.signal, onStep: (s) => s === stopAfter && controller.abort() });
  r.model.dispose();
  return r;
}

/** Rewrites the checkpoint's 'training' metadata (as an older version would have written it). */
async function editTraining(checkpoint: string, edit: (meta: Record<string, unknown>) => void): Promise<void> {
  const { tensors, metadata } = await readSafetensors(checkpoint);
  const meta = JSON.parse(metadata.training) as Record<string, unknown>;
  edit(meta);
  await writeSafetensors(checkpoint, tensors, { ...metadata, training: JSON.stringify(meta) });
}

test("a fresh start in a finished run's folder removes its results, so an interrupted new run does not look finished", async () => {
  const out = tempDir();
  for (const f of RESULT_FILES) writeFileSync(join(out, f), f.endsWith('.json') ? JSON.stringify({ status: 'finished', auroc: 0.9 }) : '<svg/>');
  // What corrupt, ood and probe wrote beside the earlier model by default goes with it.
  writeFileSync(join(out, CORRUPT_RESULTS), '{}');
  writeFileSync(join(out, CORRUPT_PICTURE), 'png');
  for (const folder of [OOD_FOLDER, PROBE_FOLDER]) {
    mkdirSync(join(out, folder));
    writeFileSync(join(out, folder, 'x.json'), '{}');
  }
  writeFileSync(join(out, 'notes.txt'), 'mine');
  const r = await run({ ...quick, out }, 0);
  assert.ok(r.interrupted);
  for (const f of [...RESULT_FILES, CORRUPT_RESULTS, CORRUPT_PICTURE, OOD_FOLDER, PROBE_FOLDER]) assert.not.ok(existsSync(join(out, f)), `${f} of the earlier run is left`);
  assert.ok(existsSync(join(out, 'notes.txt')), "a file of the user's own was removed");
  // A resume keeps what is there (a finished run's evaluation is rewritten only by its own end).
  writeFileSync(join(out, 'results.json'), '{}');
  await run({ ...quick, out, resume: true });
  assert.ok(existsSync(join(out, 'results.json')), 'a resume removed results.json');
});

test('an image-folder run resumes with its folder moved and given by another spelling; a checkpoint whose fingerprint holds the paths too', async () => {
  const dir = tempDir();
  const options = { ...quick, protocol: 'folder', known: ['bars', 'columns', 'disc'], imageSize: 16, batchSize: 4, maxTrain: 0 };
  const first = writeShapesFolder(join(dir, 'shapes'), { perClass: 3 });
  const out = join(dir, 'run');
  assert.ok((await run({ ...options, dataDir: first, out }, 0)).interrupted);
  // The older form of the same checkpoint: the fingerprint named the folders as typed.
  const older = join(dir, 'older');
  cpSync(out, older, { recursive: true });
  await editTraining(join(older, 'checkpoint.safetensors'), (meta) => {
    const now = JSON.parse(meta.fingerprint as string) as Record<string, unknown>;
    meta.fingerprint = JSON.stringify({ ...now, dataDir: first, known: now.known, unknownDataDir: join(dir, 'elsewhere') });
  });
  const moved = join(dir, 'photos');
  renameSync(first, moved);
  const spelled = relative(process.cwd(), moved);
  for (const o of [out, older]) {
    const r = await run({ ...options, dataDir: spelled, out: o, resume: true });
    assert.is(r.epochs.length, 2, `${o}: resumed to the end`);
  }
  // Settings other than the paths still count.
  await rejects(() => run({ ...options, dataDir: moved, known: ['bars', 'columns'], out, resume: true }), /written with different settings/);
});

test('a resume with another attention network than the run trained with is refused, naming --attention-model and the checkpoint', async () => {
  const dir = tempDir();
  const save = async (seed: number, name: string) => {
    const net = new TorchvisionResNet(new Rng(seed), { width: 2, numClasses: 5 });
    const file = join(dir, name);
    await writeSafetensors(file, await Promise.all([...net.stateDict()].map(async ([n, t]) => [n, await toHost(n, t)] as [string, HostTensor])));
    net.dispose();
    return file;
  };
  const a = await save(7, 'a.safetensors');
  const b = await save(8, 'b.safetensors');
  const options = { ...quick, epochs: 1, batchSize: 4, maxTrain: 8, method: 'attentive-cutmix' as const, attentionGrid: 3, attentionTopK: 2 };
  const out = join(dir, 'run');
  await run({ ...options, attentionModel: a, out });
  const checkpoint = join(out, 'checkpoint.safetensors');
  await rejects(
    () => run({ ...options, attentionModel: b, out, resume: true }),
    new RegExp(`${checkpoint}: --attention-model ${b} is not the attention network this run trained with \\(digest [0-9a-f]{8}-\\d+, now [0-9a-f]{8}-\\d+\\)`),
  );
  // The same network under another path is the same run (paths may move between sessions).
  const copy = join(dir, 'moved.safetensors');
  cpSync(a, copy);
  await run({ ...options, attentionModel: copy, out, resume: true });
  // A checkpoint written before the digest was kept cannot tell: it resumes as before.
  await editTraining(checkpoint, (meta) => delete meta.inputs);
  await run({ ...options, attentionModel: b, out, resume: true });
});

test('a resume stopped while it rewrites log.jsonl keeps the earlier rows; a resume that is refused adds none', async () => {
  const out = tempDir();
  assert.ok((await run({ ...quick, out }, 2)).interrupted);
  const log = join(out, 'log.jsonl');
  const before = readFileSync(log, 'utf8');
  writeFaults.hook = (stage, file) => {
    if (stage === 'partial' && file === log) throw new Error('killed');
  };
  try {
    await rejects(() => run({ ...quick, out, resume: true }), /killed/);
  } finally {
    writeFaults.hook = null;
  }
  assert.is(readFileSync(log, 'utf8'), before, 'the log lost rows');
  await rejects(() => run({ ...quick, width: 4, out, resume: true }), /written with different settings/);
  assert.is(readFileSync(log, 'utf8'), before, 'a refused resume wrote into the log of the run it did not open');
  const r = await run({ ...quick, out, resume: true });
  assert.is(r.epochs.length, 1);
  assert.match(readFileSync(log, 'utf8'), /"status":"finished"/);
});

test('a fresh start into a folder holding a run of other settings is refused, naming them and the ways out; the same settings start again with a note', async () => {
  const dir = tempDir();
  const data = writeShapesFolder(join(dir, 'shapes'), { perClass: 3 });
  const options = { ...quick, epochs: 1, protocol: 'folder', dataDir: data, imageSize: 16, batchSize: 4, maxTrain: 0 };
  const out = join(dir, 'run');
  await run({ ...options, known: ['bars', 'columns', 'disc'], out });
  const kept = ['checkpoint.safetensors', 'config.json', 'log.jsonl'].map((f) => readFileSync(join(out, f)));
  await rejects(
    () => run({ ...options, known: ['bars', 'columns'], out }),
    new RegExp(`^${out} holds a run of other settings \\(${out}/config\\.json\\): --known bars,columns \\(the run's known: bars,columns,disc\\); a fresh start would replace it`),
    /another --out/,
    /--resume/,
    new RegExp(`delete ${out}`),
  );
  ['checkpoint.safetensors', 'config.json', 'log.jsonl'].forEach((f, i) => assert.equal(readFileSync(join(out, f)), kept[i], `${f} was touched`));
  // A saved run whose settings cannot be read (a damaged checkpoint, no config.json) is not replaced either.
  const damaged = join(dir, 'damaged');
  mkdirSync(damaged);
  writeFileSync(join(damaged, 'checkpoint.safetensors'), 'not a checkpoint');
  await rejects(() => run({ ...options, known: ['bars', 'columns'], out: damaged }), new RegExp(`^${damaged} holds a run whose settings cannot be read \\(.*\\); a fresh start would replace it`));
  assert.is(readFileSync(join(damaged, 'checkpoint.safetensors'), 'utf8'), 'not a checkpoint');
  // The same settings: trained again from the start (npm run demo reruns into runs/demo), with a note.
  const errors: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => void errors.push(a.join(' '));
  try {
    await run({ ...options, known: ['bars', 'columns', 'disc'], out });
  } finally {
    console.error = error;
  }
  assert.ok(
    errors.some((l) => l === `note: ${out} holds a run of the same settings; training it again from the start (--resume would continue it)`),
    errors.join('\n'),
  );
});

test('a resume takes back the kernel variants its checkpoint recorded on the same adapter, not on another', async () => {
  const out = tempDir();
  const ran = { 'conv2d.forward|probe-a': 'tiled', 'matmul|probe-b': 'skinny' };
  resetTunedChoices();
  pinTunedChoices(ran);
  await run({ ...quick, epochs: 1, out });
  const file = join(out, 'checkpoint.safetensors');
  const { tensors, metadata } = await readSafetensors(file);
  const recorded = JSON.parse(metadata[KERNELS_METADATA]) as { adapter: string; choices: Record<string, string> };
  assert.equal(recorded, { adapter: gpu().describe(), choices: ran });
  // Another session whose own choices differ (another cache): the resume runs the recorded ones.
  resetTunedChoices();
  pinTunedChoices({ 'matmul|probe-b': 'register' });
  await run({ ...quick, epochs: 1, out, resume: true });
  assert.equal(Object.fromEntries(tunedChoices()), ran);
  // Recorded on another adapter: chosen anew here.
  await writeSafetensors(file, tensors, { ...metadata, [KERNELS_METADATA]: JSON.stringify({ ...recorded, adapter: 'another GPU' }) });
  resetTunedChoices();
  await run({ ...quick, epochs: 1, out, resume: true });
  assert.equal(Object.fromEntries(tunedChoices()), {});
  resetTunedChoices();
});

test.run();
