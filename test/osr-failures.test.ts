// Open-set evaluation, calibration and feature extraction free what they made when they fail
// part-way (a later batch, the unknown test set, the held-out scores): GPU memory returns exactly
// to where it was, and the error is the one the failure raised.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluateOpenSet } from '../src/osr/evaluate.js';
import { extractFeatures } from '../src/osr/features.js';
import { OpenSetModel } from '../src/osr/open-set-model.js';
import { SupConResNet } from '../src/nn/index.js';
import { gpu } from '../runtime/gpu.js';
import { Rng } from '../src/random.js';
import type { Dataset } from '../src/data/index.js';
import { setupGpu } from './helpers.js';
import { rejects } from './data-fixtures.js';

const test = suite('osr-failures');
test.before(setupGpu);

const live = () => gpu().memory().bytesLive;

/** n 1-channel 8x8 images with labels; `short` leaves the last image's pixels out, so the batch holding it fails. */
function images(rng: Rng, labels: number[], short = false): Dataset {
  const n = labels.length;
  return { images: Float32Array.from({ length: (short ? n - 1 : n) * 64 }, () => rng.uniform()), labels: Int32Array.from(labels), n, channels: 1, height: 8, width: 8 };
}

/** The failure `short` sets up: the last batch, one image, has none of its 64 pixels. */
const SHORT_BATCH = /0 values do not fill shape \[1, 1, 8, 8\]/;

test('a failure after some batches, test sets or features are made leaves nothing live', async () => {
  const rng = new Rng(5);
  const model = new SupConResNet(new Rng(1), { width: 2, inChannels: 1 });
  const transform = { size: 8, mean: [0.5], std: [0.25] } as const;
  const train = images(rng, [0, 1, 2, 0, 1, 2, 0, 1]);
  const before = live();

  // The third batch of two fails: the first two batches are freed.
  await rejects(() => extractFeatures(model, images(rng, [0, 1, 2, 0, 1], true), transform, { batchSize: 2 }), SHORT_BATCH);
  assert.is(live(), before, 'extractFeatures: nothing live after a failed batch');

  // The unknown test set fails after the train and known-test features exist.
  const data = { protocol: 'test', split: 0, knownClasses: [0, 1, 2], unknownClasses: [3], train, testKnown: images(rng, [2, 0, 1]), testUnknown: images(rng, [-1, -1, -1], true) };
  await rejects(() => evaluateOpenSet(model, data, transform, { k: 2, batchSize: 2 }), SHORT_BATCH);
  assert.is(live(), before, 'evaluateOpenSet: nothing live after a failed test set');

  // The held-out scores fail after the gallery's features exist; a bad tpr fails before any work.
  const input = { channels: 1, imageSize: 8, augmentation: 'mnist' as const };
  const options = { classNames: ['a', 'b', 'c'], input, k: 2, batchSize: 2 };
  await rejects(() => OpenSetModel.calibrate(model, train, images(rng, [0, 1, 2], true), options), SHORT_BATCH);
  assert.is(live(), before, 'calibrate: nothing live after failed held-out scores');
  await rejects(() => OpenSetModel.calibrate(model, train, images(rng, [0, 1]), { ...options, tpr: 1.5 }), /tpr must be in \(0, 1\], got 1\.5/);
  assert.is(live(), before, 'calibrate: nothing live after a bad tpr');

  // And the same calls succeed on whole data (the failures above came from the short sets).
  const recogniser = await OpenSetModel.calibrate(model, train, images(rng, [0, 1, 2]), options);
  assert.ok(Number.isFinite(recogniser.threshold));
  recogniser.dispose();
  model.dispose();
});

test.run();
