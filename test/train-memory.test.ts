// GPU memory around whole runs: train() frees everything it made except the model it returns (the
// optimiser's moments included), the result of trainAndEvaluate frees the rest with dispose(), and
// a run that fails (train, pretrain, or after training) frees it all itself: its caller gets no
// result to free.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpu } from '../runtime/gpu.js';
import { pretrain } from '../src/ssl/pretrain.js';
import { train } from '../src/train/train.js';
import { trainAndEvaluate } from '../src/train/train-and-evaluate.js';
import { setupGpu } from './helpers.js';

const test = suite('train-memory');
test.before(setupGpu);

const QUICK = { protocol: 'mnist-mini', width: 2, batchSize: 8, maxTrain: 16, epochs: 1, method: 'none', progress: false } as const;
const live = () => gpu().memory().bytesLive;

test('train() leaves only its model live; trainAndEvaluate frees everything on dispose() and on a failure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-train-memory-'));
  try {
    const before = live();
    const trained = await train({ ...QUICK, evaluate: false, out: join(dir, 'train') });
    assert.ok(live() > before, 'the model is live');
    trained.model.dispose();
    assert.is(live(), before, "nothing live once the model is freed (Adam's moments included)");

    const run = await trainAndEvaluate({ ...QUICK, out: join(dir, 'evaluated') });
    assert.ok(run.recogniser && run.metrics);
    run.dispose();
    assert.is(live(), before, 'nothing live after dispose()');

    // results.json cannot be written (a folder of that name): the run fails after its evaluation.
    const failing = join(dir, 'failing');
    mkdirSync(join(failing, 'results.json'), { recursive: true });
    await trainAndEvaluate({ ...QUICK, out: failing }).then(
      () => assert.unreachable('writing results.json should fail'),
      (e: Error) => assert.match(e.message, /results\.json/),
    );
    assert.is(live(), before, 'nothing live after a failed run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run that fails mid-training (train, pretrain with MoCo) leaves nothing live', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-train-memory-'));
  const failAtStep = {
    onStep: () => {
      throw new Error('stopped by the test');
    },
  };
  try {
    const before = live();
    await train({ ...QUICK, evaluate: false, out: join(dir, 'train') }, failAtStep).then(
      () => assert.unreachable('the hook stops the run'),
      (e: Error) => assert.match(e.message, /stopped by the test/),
    );
    assert.is(live(), before, 'train(): nothing live after the failure');
    await pretrain({ ...QUICK, ssl: 'moco', queueSize: 16, evaluate: false, out: join(dir, 'pretrain') }, failAtStep).then(
      () => assert.unreachable('the hook stops the run'),
      (e: Error) => assert.match(e.message, /stopped by the test/),
    );
    assert.is(live(), before, 'pretrain(): nothing live after the failure');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
