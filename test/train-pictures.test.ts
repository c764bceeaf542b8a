// The GradMix picture panels, shared by the Node PNG grid (train/pictures.ts) and the browser's
// canvas (src/browser/panels.ts): the pixels of a hand-built panel set, the PNG grid being exactly
// the shared rendering of the shared computation, and the computation leaving the model as it was.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { BatchNorm2d, SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { augmentPreset } from '../src/augment/index.js';
import { resolveOptions } from '../src/train/options.js';
import { writePictures } from '../src/train/pictures.js';
import { attributionPanels, type AttributionPanels } from '../src/train/panels.js';
import { PANEL_COLUMNS, renderPanels, viridis } from '../src/train/panel-image.js';
import { setupGpu } from './helpers.js';

const test = suite('train-pictures');
test.before(setupGpu);

const out = mkdtempSync(join(tmpdir(), 'gradmix-pictures-'));
test.after(() => rmSync(out, { recursive: true, force: true }));

test('renderPanels: un-normalised images, the heatmap over view 1, the box outline, gaps', () => {
  // One 1-channel 2x2 image, scale 1: view1 = 0.5 everywhere after un-normalising (mean 0.5, std 1).
  const p: AttributionPanels = {
    view1: new Float32Array(4), cam: Float32Array.from([0, 0, 0, 2]), mixed: Float32Array.from([0.5, 0.5, -0.5, -0.5]),
    boxes: Int32Array.from([0, 0, 1, 1]), b: 1, c: 1, h: 2, w: 2,
  };
  const img = renderPanels(p, [0.5], [1], 1);
  assert.equal([img.width, img.height], [PANEL_COLUMNS.length * 2 + 5 * 2, 2 + 2 * 2]);
  const at = (col: number, y: number, x: number) => Array.from(img.data.subarray(((2 + y) * img.width + 2 + col * 4 + x) * 4, ((2 + y) * img.width + 2 + col * 4 + x) * 4 + 4));
  assert.equal(Array.from(img.data.subarray(0, 4)), [255, 255, 255, 255], 'gaps are white');
  assert.equal(at(0, 1, 1), [128, 128, 128, 255], 'view 1: 0 * std + mean = 0.5');
  const heat = viridis(1); // the map's maximum, at (1, 1)
  assert.equal(at(1, 1, 1), [...heat.map((h) => Math.round(255 * (0.35 * 0.5 + 0.65 * h))), 255], 'LayerCAM over view 1');
  assert.equal(at(2, 0, 0), [255, 38, 26, 255], 'the 1x1 box at (0, 0) is outlined');
  assert.equal(at(2, 1, 1), [128, 128, 128, 255], 'outside the box: view 1');
  assert.equal([at(3, 0, 0), at(3, 1, 0)], [[255, 255, 255, 255], [0, 0, 0, 255]], 'mixed, clamped to [0, 1]');
});

test("writePictures' PNG is the shared rendering of the shared panels of the images it picks", async () => {
  const n = 6;
  const rng = new Rng(7);
  const images = Float32Array.from({ length: n * 32 * 32 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
  const ds = { images, labels: Int32Array.from({ length: n }, (_, i) => i % 2), n, channels: 1, height: 32, width: 32 };
  const o = resolveOptions({ protocol: 'mnist-mini', width: 2, seed: 3, out, progress: false, evaluate: false });
  const augment = augmentPreset('mnist');
  const model = new SupConResNet(new Rng(1), { width: 2, inChannels: 1 });
  model.train();
  try {
    const file = await writePictures(model, o, augment, ds, 1, 3);
    const png = PNG.sync.read(readFileSync(file));
    // count 3 of 6 images spread evenly: 0, 2, 4
    const picked = new Float32Array(3 * 1024);
    [0, 2, 4].forEach((j, i) => picked.set(images.subarray(j * 1024, (j + 1) * 1024), i * 1024));
    const expected = renderPanels(await attributionPanels(model, o, augment, picked, [3, 1, 32, 32]), augment.mean, augment.std);
    assert.equal([png.width, png.height], [expected.width, expected.height]);
    assert.equal([png.width, png.height], [4 * 128 + 5 * 2, 3 * 128 + 4 * 2]);
    assert.ok(Buffer.from(png.data).equals(Buffer.from(expected.data)), 'PNG pixels equal renderPanels of attributionPanels');
  } finally {
    model.dispose();
  }
});

test('attributionPanels leaves the mode, the parameters and the BatchNorm statistics as they were', async () => {
  const model = new SupConResNet(new Rng(2), { width: 2, inChannels: 1 });
  model.eval();
  const bn = [...model.modules()].map(([, m]) => m).find((m): m is BatchNorm2d => m instanceof BatchNorm2d)!;
  const snapshot = async () => Promise.all([...model.stateDict().values()].map(async (t) => Array.from(await t.data())));
  const before = await snapshot();
  const rng = new Rng(5);
  const images = Float32Array.from({ length: 2 * 1024 }, () => rng.uniform());
  const o = resolveOptions({ protocol: 'mnist-mini', width: 2, seed: 1, progress: false, evaluate: false });
  const p = await attributionPanels(model, o, augmentPreset('mnist'), images, [2, 1, 32, 32]);
  assert.equal([p.b, p.c, p.h, p.w, p.view1.length, p.cam.length, p.boxes.length], [2, 1, 32, 32, 2048, 2048, 8]);
  assert.is(model.training, false, 'eval mode restored');
  assert.ok(bn.updateRunningStats, 'running statistics updates switched back on');
  assert.equal(await snapshot(), before, 'parameters and running statistics unchanged');
  model.dispose();
});

test.run();
