// Storing the open-set recogniser rewrites the checkpoint: it must not certify damage (a fresh
// checksum over a changed byte), save a gallery holding NaN, or race another run on the folder.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { evalCommand } from '../src/cli/commands.js';
import { float32Tensor } from '../src/checkpoint/safetensors.js';
import { OPENSET_GALLERY } from '../src/osr/open-set-model.js';
import { loadOpenSetModel, storeOpenSetModel } from '../src/osr/open-set-file.js';
import { LOCK_FILE } from '../src/train/run-lock.js';
import { train } from '../src/train/train.js';
import { rejects, removeTempDirs, tempDir } from './data-fixtures.js';
import { writeShapesFolder } from './shapes-folder.js';
import { setupGpu } from './helpers.js';

const test = suite('recogniser store');
test.before(setupGpu);
test.after(removeTempDirs);

/** A tiny own-data run with its recogniser stored by `eval --calibrate`; returns the checkpoint. */
async function calibratedCheckpoint(): Promise<string> {
  const out = tempDir();
  await train({ dataDir: writeShapesFolder(tempDir(), { perClass: 4 }), known: ['bars', 'columns', 'disc'], width: 2, batchSize: 8, epochs: 1, imageSize: 16, progress: false, evaluate: false, out });
  const checkpoint = join(out, 'checkpoint.safetensors');
  const log = console.log;
  console.log = () => undefined;
  try {
    await evalCommand(['--checkpoint', checkpoint, '--calibrate', '--out', tempDir()]);
  } finally {
    console.log = log;
  }
  return checkpoint;
}

test('a checkpoint damaged since it was read is refused, not written back with a fresh checksum', async () => {
  const checkpoint = await calibratedCheckpoint();
  const recogniser = await loadOpenSetModel(checkpoint);
  try {
    const bytes = readFileSync(checkpoint);
    bytes[bytes.length - 5] ^= 0x10; // a bit of the last tensor's data
    writeFileSync(checkpoint, bytes);
    await rejects(() => storeOpenSetModel(checkpoint, recogniser), new RegExp(`${checkpoint}: the contents do not match the checksum`));
    assert.ok(readFileSync(checkpoint).equals(bytes), 'the damaged file is left as it was, still detectable');
  } finally {
    recogniser.dispose();
  }
});

test('a gallery holding NaN is refused and the checkpoint is kept', async () => {
  const checkpoint = await calibratedCheckpoint();
  const recogniser = await loadOpenSetModel(checkpoint);
  try {
    const parts = await recogniser.checkpointParts();
    const gallery = parts.extras.get(OPENSET_GALLERY)!;
    const values = new Float32Array(gallery.data.slice().buffer);
    values[3] = NaN;
    parts.extras.set(OPENSET_GALLERY, float32Tensor(gallery.shape, values));
    recogniser.checkpointParts = async () => parts;
    const before = readFileSync(checkpoint);
    await rejects(() => storeOpenSetModel(checkpoint, recogniser), new RegExp(`refusing to save tensor '${OPENSET_GALLERY}': element 3 is NaN`));
    assert.ok(readFileSync(checkpoint).equals(before));
  } finally {
    recogniser.dispose();
  }
});

test('eval --calibrate takes the run folder lock: a live run in the folder is not overwritten', async () => {
  const checkpoint = await calibratedCheckpoint();
  const folder = join(checkpoint, '..');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
  try {
    writeFileSync(join(folder, LOCK_FILE), JSON.stringify({ pid: live.pid, host: hostname(), started: new Date().toISOString() }));
    const before = readFileSync(checkpoint);
    await rejects(
      () => evalCommand(['--checkpoint', checkpoint, '--calibrate', '--out', tempDir()]),
      /is in use by another gradmix run .*; wait for it to finish or evaluate without --calibrate until it is done$/,
    );
    assert.ok(readFileSync(checkpoint).equals(before));
  } finally {
    live.kill();
  }
});

test.run();
