// GradMix's picture panels for a page: for a few fixed images, view 1 | its LayerCAM map over it |
// the pasted box | the mixed image, computed like src/train/pictures.ts (which writes them as PNG
// files with node:fs and pngjs) and rendered to RGBA pixels for a canvas.
import { tensor } from '../creation.js';
import { scope } from '../scope.js';
import { Rng } from '../random.js';
import * as ops from '../ops/index.js';
import { augmentViews, resizeNormalize, sampleViews, type AugmentConfig } from '../augment/index.js';
import { gradMix } from '../gradmix/index.js';
import { BatchNorm2d, type SupConResNet } from '../nn/index.js';
import { attribution } from '../train/mixing.js';
import type { TrainOptions } from '../train/options.js';
import type { Tensor } from '../tensor.js';

export interface AttributionPanels {
  /** View 1 of each image, normalised, [b, c, h, w]. */
  view1: Float32Array;
  /** Aggregated LayerCAM map [b, h, w] (a sum of per-layer maps in [0, 1]). */
  cam: Float32Array;
  /** View 1 with the partner's patch pasted on the map's argmax, [b, c, h, w]. */
  mixed: Float32Array;
  /** int32 [b, 4]: top, left, height, width of each box. */
  boxes: Int32Array;
  b: number;
  c: number;
  h: number;
  w: number;
}

export interface PanelOptions {
  /** Seed of the views and boxes (the same every call, so panels change only with the model). */
  seed?: number;
  /** View 1 is the image itself (resized and normalised) instead of a random crop. */
  plainView1?: boolean;
}

/**
 * Runs GradMix's attribution (the SimCLR loss of the batch's two views, its gradient at the
 * LayerCAM layers) and pasting on `images` ([b, c, h, w] in [0, 1], b >= 2: every image needs a
 * partner and the loss needs negatives). The model stays in train mode as in training, with its
 * BatchNorm running statistics untouched; parameters and their gradients are not changed.
 */
export async function attributionPanels(model: SupConResNet, o: TrainOptions, augment: AugmentConfig, images: Float32Array, shape: [number, number, number, number], options: PanelOptions = {}): Promise<AttributionPanels> {
  const [b, c, h, w] = shape;
  if (b < 2) throw new Error(`attributionPanels: need at least 2 images (a partner and a negative for each), got ${b}`);
  const bns = [...model.modules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  const wasTraining = model.training;
  model.train();
  bns.forEach((m) => (m.updateRunningStats = false));
  try {
    const out = scope(() => {
      const rng = new Rng(options.seed ?? o.seed ^ 0x2545f491);
      const raw = tensor(images, shape);
      const views = options.plainView1
        ? ops.concat([resizeNormalize(raw, augment), augmentViews(raw, sampleViews(rng, b, h, w, augment, 1), augment)], 0)
        : augmentViews(raw, sampleViews(rng, b, h, w, augment), augment);
      const names = o.layers.map((n) => model.layer(n).path);
      const acts = new Map<string, Tensor>();
      const remove = model.addForwardHook(names, (p, t) => acts.set(p, t));
      let z: Tensor;
      try {
        z = model.call(views);
      } finally {
        remove();
      }
      const { map, centres } = attribution({ model, options: o, views, z, activations: names.map((n) => acts.get(n)!), rng });
      const view1 = ops.slice(views, 0, 0, b);
      const mix = gradMix(view1, centres, rng, { gammaMin: o.gammaMin, gammaMax: o.gammaMax, fill: o.fill });
      return { view1, cam: map, mixed: mix.mixed, boxes: mix.boxes };
    });
    try {
      const [view1, cam, mixed, boxes] = await Promise.all([out.view1.data(), out.cam.data(), out.mixed.data(), out.boxes.data()]);
      return { view1: view1 as Float32Array, cam: cam as Float32Array, mixed: mixed as Float32Array, boxes: boxes as Int32Array, b, c, h, w };
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  } finally {
    bns.forEach((m) => (m.updateRunningStats = true));
    model.train(wasTraining);
  }
}

/** matplotlib's viridis as a degree-6 polynomial fit (the colour map of src/train/pictures.ts). */
export function viridis(t: number): [number, number, number] {
  const c = [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ];
  const x = Math.min(1, Math.max(0, t));
  return [0, 1, 2].map((k) => {
    let v = c[6][k];
    for (let i = 5; i >= 0; i--) v = c[i][k] + x * v;
    return Math.min(1, Math.max(0, v));
  }) as [number, number, number];
}

export interface RgbaImage {
  width: number;
  height: number;
  /** width x height x 4 bytes, row-major (ImageData's layout). */
  data: Uint8ClampedArray;
}

export const PANEL_COLUMNS = ['view 1', 'LayerCAM', 'box', 'mixed'] as const;

/**
 * The panels as one RGBA picture: a row per image (the first `rows`), columns PANEL_COLUMNS,
 * `scale` pixels per image pixel, 2 px gaps. Images are un-normalised with `mean`/`std`; each
 * heatmap is scaled by its own maximum.
 */
export function renderPanels(p: AttributionPanels, mean: readonly number[], std: readonly number[], scale = 4, rows = p.b): RgbaImage {
  const gap = 2;
  const n = Math.min(rows, p.b);
  const cellW = p.w * scale;
  const cellH = p.h * scale;
  const width = PANEL_COLUMNS.length * cellW + (PANEL_COLUMNS.length + 1) * gap;
  const height = n * cellH + (n + 1) * gap;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  const hw = p.h * p.w;
  const pixel = (img: Float32Array, i: number, y: number, x: number): [number, number, number] => {
    const ch = (k: number) => {
      const cc = p.c === 1 ? 0 : k;
      return Math.min(1, Math.max(0, img[(i * p.c + cc) * hw + y * p.w + x] * std[cc] + mean[cc]));
    };
    return [ch(0), ch(1), ch(2)];
  };
  for (let i = 0; i < n; i++) {
    let camMax = 1e-12;
    for (let k = 0; k < hw; k++) camMax = Math.max(camMax, p.cam[i * hw + k]);
    const [top, left, bh, bw] = p.boxes.subarray(4 * i, 4 * i + 4);
    const onBorder = (y: number, x: number) =>
      ((y === top || y === top + bh - 1) && x >= left && x < left + bw) || ((x === left || x === left + bw - 1) && y >= top && y < top + bh);
    for (let y = 0; y < p.h; y++) {
      for (let x = 0; x < p.w; x++) {
        const img = pixel(p.view1, i, y, x);
        const heat = viridis(p.cam[i * hw + y * p.w + x] / camMax);
        const cells: [number, number, number][] = [
          img,
          img.map((v, k) => 0.35 * v + 0.65 * heat[k]) as [number, number, number],
          onBorder(y, x) ? [1, 0.15, 0.1] : img,
          pixel(p.mixed, i, y, x),
        ];
        cells.forEach((rgb, col) => {
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const at = ((gap + i * (cellH + gap) + y * scale + dy) * width + gap + col * (cellW + gap) + x * scale + dx) * 4;
              data[at] = 255 * rgb[0];
              data[at + 1] = 255 * rgb[1];
              data[at + 2] = 255 * rgb[2];
              data[at + 3] = 255;
            }
          }
        });
      }
    }
  }
  return { width, height, data };
}

/** Shows rendered panels on a canvas (resized to fit), with the column names above when `captions`. */
export function drawPanels(canvas: HTMLCanvasElement, img: RgbaImage, captions = true): void {
  const top = captions ? 16 : 0;
  canvas.width = img.width;
  canvas.height = img.height + top;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, top);
  ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, top);
  if (!captions) return;
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'center';
  const cell = img.width / PANEL_COLUMNS.length;
  PANEL_COLUMNS.forEach((name, col) => ctx.fillText(name, (col + 0.5) * cell, 12));
}
