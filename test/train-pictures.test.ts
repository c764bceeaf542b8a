// The GradMix picture panels, shared by the Node PNG grid (train/pictures.ts) and the browser's
// canvas (src/browser/panels.ts): the bitmap font of their header, the pixels of a hand-built panel
// set, the header naming the columns truthfully per method, the PNG grid being exactly the shared
// rendering of the shared computation, and the computation leaving the model as it was.
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
import { PANEL_COLUMNS, panelColumns, panelLayout, panelOrigin, panelTitle, renderPanels, viridis, type RgbaImage } from '../src/train/panel-image.js';
import { drawText, glyph, textWidth, wrapText, GLYPH_ADVANCE } from '../src/train/bitmap-font.js';
import { setupGpu } from './helpers.js';

const test = suite('train-pictures');
test.before(setupGpu);

const out = mkdtempSync(join(tmpdir(), 'gradmix-pictures-'));
test.after(() => rmSync(out, { recursive: true, force: true }));

const blank = (width: number, height: number): RgbaImage => ({ width, height, data: new Uint8ClampedArray(width * height * 4).fill(255) });
/** '#' where the pixel is not white, '.' elsewhere, one string per row of the rectangle. */
const inkRows = (img: RgbaImage, x0: number, y0: number, w: number, h: number) =>
  Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => (img.data[((y0 + y) * img.width + x0 + x) * 4] < 255 ? '#' : '.')).join(''));

test('bitmap font: known strings draw as their glyphs, scaled, clipped; unknown characters as ?', () => {
  const img = blank(20, 9);
  drawText(img, 'a1', 1, 1, [0, 0, 0]);
  // Written out independently of the font's table: 'a', a space column, '1'.
  assert.equal(inkRows(img, 1, 1, 11, 7), ['........#..', '.......##..', '.###....#..', '....#...#..', '.####...#..', '#...#...#..', '.####..###.']);
  assert.equal(Array.from(img.data.subarray(((1 + 2) * 20 + 2) * 4, ((1 + 2) * 20 + 2) * 4 + 4)), [0, 0, 0, 255], 'ink is the colour, opaque');
  assert.equal(inkRows(img, 0, 0, 20, 1)[0], '.'.repeat(20), 'nothing above the text');
  const big = blank(12, 18);
  drawText(big, 'L', 0, 0, [0, 0, 0], 2);
  assert.equal(
    inkRows(big, 0, 0, 10, 16),
    glyph('L').flatMap((r) => {
      const row = r.map((on) => (on ? '##' : '..')).join('');
      return [row, row];
    }),
    'scale 2 doubles every font pixel',
  );
  const clipped = blank(20, 9);
  drawText(clipped, 'MM', 0, 0, [0, 0, 0], 1, { x0: 0, y0: 0, x1: 3, y1: 9 });
  assert.equal(inkRows(clipped, 3, 0, 17, 9).join(''), '.'.repeat(17 * 9), 'no ink right of the clip');
  assert.equal(glyph('\u00e9'), glyph('?'));
  const descender = blank(6, 9);
  drawText(descender, 'g', 0, 0, [0, 0, 0]);
  assert.equal(inkRows(descender, 0, 5, 5, 3), ['.####', '....#', '.###.'], "g's tail below the baseline (row 7)");
  assert.is(textWidth('ab', 2), (2 * GLYPH_ADVANCE - 1) * 2);
  assert.equal(wrapText('mix (unused) now', textWidth('mix (unused)'), 1), ['mix (unused)', 'now']);
  assert.equal(wrapText('LayerCAM', 3, 1), ['LayerCAM'], 'a word wider than the line gets a line of its own');
});

test('panel header: columns named truthfully per method, with the epoch', () => {
  assert.equal(PANEL_COLUMNS, ['view 1', 'LayerCAM', 'box', 'mixed']);
  assert.equal(panelColumns({ method: 'gradmix', plainView1: true }), ['image', 'LayerCAM', 'box', 'mixed']);
  for (const method of ['none', 'mixup', 'cutmix']) {
    assert.equal(panelColumns({ method }), ['view 1', 'LayerCAM', 'box (unused)', 'mix (unused)'], method);
  }
  assert.is(panelTitle({ epoch: 3, method: 'gradmix' }), 'epoch 3, method gradmix');
  assert.is(panelTitle({ epoch: 2, method: 'none' }), 'epoch 2, method none: box and mix show where GradMix would paste, unused; training mixes nothing');
  assert.match(panelTitle({ method: 'cutmix' }), /training mixes with cutmix$/);
  assert.is(panelTitle({ plainView1: true }), '');
});

// One 1-channel 2x2 image: view1 = 0.5 everywhere after un-normalising (mean 0.5, std 1).
const tiny = (): AttributionPanels => ({
  view1: new Float32Array(4),
  cam: Float32Array.from([0, 0, 0, 2]),
  mixed: Float32Array.from([0.5, 0.5, -0.5, -0.5]),
  boxes: Int32Array.from([0, 0, 1, 1]),
  b: 1,
  c: 1,
  h: 2,
  w: 2,
});

test('renderPanels: un-normalised images, the heatmap over view 1, the box outline, gaps', () => {
  const p = tiny();
  const img = renderPanels(p, [0.5], [1], 1);
  const l = panelLayout(p, 1);
  assert.equal([img.width, img.height], [PANEL_COLUMNS.length * 2 + 5 * 2, l.header + 2 + 2 * 2]);
  const at = (col: number, y: number, x: number) => {
    const o = panelOrigin(l, 0, col);
    return Array.from(img.data.subarray(((o.y + y) * img.width + o.x + x) * 4, ((o.y + y) * img.width + o.x + x) * 4 + 4));
  };
  assert.equal(Array.from(img.data.subarray((img.height - 1) * img.width * 4, (img.height - 1) * img.width * 4 + 4)), [255, 255, 255, 255], 'gaps are white');
  assert.equal(at(0, 1, 1), [128, 128, 128, 255], 'view 1: 0 * std + mean = 0.5');
  const heat = viridis(1); // the map's maximum, at (1, 1)
  assert.equal(at(1, 1, 1), [...heat.map((h) => Math.round(255 * (0.35 * 0.5 + 0.65 * h))), 255], 'LayerCAM over view 1');
  assert.equal(at(2, 0, 0), [255, 38, 26, 255], 'the 1x1 box at (0, 0) is outlined');
  assert.equal(at(2, 1, 1), [128, 128, 128, 255], 'outside the box: view 1');
  assert.equal(
    [at(3, 0, 0), at(3, 1, 0)],
    [
      [255, 255, 255, 255],
      [0, 0, 0, 255],
    ],
    'mixed, clamped to [0, 1]',
  );
});

test('renderPanels: the header above the panels is the title and the column names in the bitmap font', () => {
  const p = { ...tiny(), h: 32, w: 32, view1: new Float32Array(1024), cam: new Float32Array(1024), mixed: new Float32Array(1024) };
  const caption = { epoch: 7, method: 'mixup' };
  const img = renderPanels(p, [0.5], [1], 4, 1, caption);
  const l = panelLayout(p, 4, 1, caption);
  assert.is(l.textScale, 2);
  const small = panelLayout(p, 3, 1, { method: 'gradmix' });
  assert.equal([small.textScale, small.columns], [2, [['view 1'], ['LayerCAM'], ['box'], ['mixed']]], 'at scale 3 (the demo page) the names fit one line');
  assert.equal(l.title, ['epoch 7, method mixup: box and mix show', 'where GradMix would paste, unused; training', 'mixes with mixup'], 'wrapped to the picture');
  assert.equal(l.columns, [['view 1'], ['LayerCAM'], ['box', '(unused)'], ['mix', '(unused)']]);
  assert.is(l.header, 2 + 5 * 10 * 2, 'three title lines and two name lines, 10 font pixels apart at text scale 2');
  assert.is(panelOrigin(l, 0, 0).y, l.header + 2);
  // Every header line, and nothing else, has ink, and each column's name sits over its own column.
  const ink = inkRows(img, 0, 0, img.width, l.header);
  const lineHasInk = (k: number) => ink.slice(2 + k * 20, 2 + k * 20 + 16).some((r) => r.includes('#'));
  assert.equal([0, 1, 2, 3, 4].map(lineHasInk), [true, true, true, true, true]);
  const gapsBlank = [0, 1, 2, 3, 4].every((k) => ink.slice(2 + k * 20 + 16, 2 + k * 20 + 20).every((r) => !r.includes('#')));
  assert.ok(gapsBlank, 'no ink between the lines');
  const inkIn = (k: number, x: number) => ink.slice(2 + k * 20, 2 + k * 20 + 16).some((r) => r.slice(x, x + l.cellW).includes('#'));
  // Names sit on the panels: one-line names on the last line, two-line ones on both.
  const xs = [0, 1, 2, 3].map((col) => panelOrigin(l, 0, col).x);
  assert.equal(
    xs.map((x) => [inkIn(3, x), inkIn(4, x)]),
    [
      [false, true],
      [false, true],
      [true, true],
      [true, true],
    ],
  );
  // The pixels of "LayerCAM": the font's rendering of that string, centred over column 1.
  const expected = blank(textWidth('LayerCAM', 2), 16);
  drawText(expected, 'LayerCAM', 0, 0, [51, 51, 51], 2);
  const left = panelOrigin(l, 0, 1).x + Math.floor((l.cellW - expected.width) / 2);
  const y = 2 + 4 * 20; // the bottom name line
  assert.equal(inkRows(img, left, y, expected.width, 16), inkRows(expected, 0, 0, expected.width, 16));
  assert.equal(Array.from(img.data.subarray(((y + 0) * img.width + left) * 4, ((y + 0) * img.width + left) * 4 + 4)), [51, 51, 51, 255], "L's top-left pixel");
});

test("writePictures' PNG is the shared rendering of the shared panels of the images it picks", async () => {
  const n = 6;
  const rng = new Rng(7);
  const images = Float32Array.from({ length: n * 32 * 32 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
  const ds = { images, labels: Int32Array.from({ length: n }, (_, i) => i % 4), n, channels: 1, height: 32, width: 32 };
  // SupCon's maps use the labels (two of the images picked share a class; the default objective's
  // maps come from its SimCLR term, which does not).
  const o = resolveOptions({ protocol: 'mnist-mini', width: 2, seed: 3, out, progress: false, evaluate: false, objective: 'supcon' });
  const augment = augmentPreset('mnist');
  const model = new SupConResNet(new Rng(1), { width: 2, inChannels: 1 });
  model.train();
  try {
    const file = await writePictures(model, o, augment, ds, 1, 3);
    const png = PNG.sync.read(readFileSync(file));
    // count 3 of 6 images spread evenly: 0, 2, 4
    const picked = new Float32Array(3 * 1024);
    [0, 2, 4].forEach((j, i) => picked.set(images.subarray(j * 1024, (j + 1) * 1024), i * 1024));
    const panels = await attributionPanels(model, o, augment, picked, [3, 1, 32, 32], { labels: Int32Array.from([0, 2, 0]) });
    const unlabelled = await attributionPanels(model, o, augment, picked, [3, 1, 32, 32]);
    assert.not.equal(Array.from(panels.cam), Array.from(unlabelled.cam), "the maps are the objective's (SupCon with the labels), not SimCLR's");
    const caption = { epoch: 1, method: o.method };
    const expected = renderPanels(panels, augment.mean, augment.std, 4, 3, caption);
    assert.equal([png.width, png.height], [expected.width, expected.height]);
    assert.equal([png.width, png.height], [4 * 128 + 5 * 2, panelLayout(panels, 4, 3, caption).header + 3 * 128 + 4 * 2]);
    assert.equal(panelLayout(panels, 4, 3, caption).title, ['epoch 1, method gradmix']);
    assert.ok(Buffer.from(png.data).equals(Buffer.from(expected.data)), 'PNG pixels equal renderPanels of attributionPanels, given the labels');
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
