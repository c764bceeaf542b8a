// The GradMix picture grid: for a fixed set of training images, one row each of
//   view 1 | LayerCAM heatmap over it (viridis) | the pasted box outlined | the mixed image.
// Written each epoch as a PNG, so a user sees where the boxes land as the model learns.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { tensor } from '../creation.js';
import { scope } from '../scope.js';
import { Rng } from '../random.js';
import * as ops from '../ops/index.js';
import { augmentViews, sampleViews, type AugmentConfig } from '../augment/index.js';
import { gradMix } from '../gradmix/index.js';
import { BatchNorm2d, type SupConResNet } from '../nn/index.js';
import { valuesPerImage, type Dataset } from '../data/index.js';
import type { TrainOptions } from './options.js';
import { attribution } from './mixing.js';
import type { Tensor } from '../tensor.js';

/** matplotlib's viridis as a degree-6 polynomial fit (perceptually uniform, colour-blind safe). */
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

interface Panels {
  view1: Float32Array;
  cam: Float32Array;
  mixed: Float32Array;
  boxes: Int32Array;
  b: number;
  c: number;
  h: number;
  w: number;
}

/** Runs the attribution and pasting of one training step on the fixed images, touching nothing. */
async function panels(model: SupConResNet, o: TrainOptions, augment: AugmentConfig, images: Float32Array, shape: [number, number, number, number]): Promise<Panels> {
  const [b, c, h, w] = shape;
  const bns = [...model.modules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  bns.forEach((m) => (m.updateRunningStats = false));
  try {
    const { view1, cam, mixed, boxes } = scope(() => {
      const rng = new Rng(o.seed ^ 0x2545f491); // the same views every epoch
      const raw = tensor(images, shape);
      const views = augmentViews(raw, sampleViews(rng, b, h, w, augment), augment);
      const names = o.layers.map((n) => model.layer(n).path);
      const acts = new Map<string, Tensor>();
      const remove = model.addForwardHook(names, (p, out) => acts.set(p, out));
      let z: Tensor;
      try {
        z = model.call(views);
      } finally {
        remove();
      }
      const { map, centres } = attribution({ model, options: o, views, z, activations: names.map((n) => acts.get(n)!), rng });
      const v1 = ops.slice(views, 0, 0, b);
      const mix = gradMix(v1, centres, rng, { gammaMin: o.gammaMin, gammaMax: o.gammaMax, fill: o.fill });
      return { view1: v1, cam: map, mixed: mix.mixed, boxes: mix.boxes };
    });
    const out = { view1: (await view1.data()) as Float32Array, cam: (await cam.data()) as Float32Array, mixed: (await mixed.data()) as Float32Array, boxes: (await boxes.data()) as Int32Array, b, c, h, w };
    for (const t of [view1, cam, mixed, boxes]) t.dispose();
    return out;
  } finally {
    bns.forEach((m) => (m.updateRunningStats = true));
  }
}

/** Renders the grid as RGBA: `scale` screen pixels per image pixel, a 2 px gap between panels. */
export function renderGrid(p: Panels, mean: readonly number[], std: readonly number[], scale = 4): PNG {
  const gap = 2;
  const cellW = p.w * scale;
  const cellH = p.h * scale;
  const png = new PNG({ width: 4 * cellW + 5 * gap, height: p.b * cellH + (p.b + 1) * gap });
  png.data.fill(255);
  const hw = p.h * p.w;
  const pixel = (img: Float32Array, i: number, y: number, x: number): [number, number, number] => {
    const ch = (k: number) => {
      const cc = p.c === 1 ? 0 : k;
      return Math.min(1, Math.max(0, img[(i * p.c + cc) * hw + y * p.w + x] * std[cc] + mean[cc]));
    };
    return [ch(0), ch(1), ch(2)];
  };
  for (let i = 0; i < p.b; i++) {
    let camMax = 1e-12;
    for (let k = 0; k < hw; k++) camMax = Math.max(camMax, p.cam[i * hw + k]);
    const [top, left, bh, bw] = p.boxes.subarray(4 * i, 4 * i + 4);
    const onBorder = (y: number, x: number) =>
      (y === top || y === top + bh - 1) && x >= left && x < left + bw || (x === left || x === left + bw - 1) && y >= top && y < top + bh;
    for (let y = 0; y < p.h; y++) {
      for (let x = 0; x < p.w; x++) {
        const img = pixel(p.view1, i, y, x);
        const heat = viridis(p.cam[i * hw + y * p.w + x] / camMax);
        const panelsRgb: [number, number, number][] = [
          img,
          img.map((v, k) => 0.35 * v + 0.65 * heat[k]) as [number, number, number],
          onBorder(y, x) ? [1, 0.15, 0.1] : img,
          pixel(p.mixed, i, y, x),
        ];
        panelsRgb.forEach((rgb, col) => {
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const X = gap + col * (cellW + gap) + x * scale + dx;
              const Y = gap + i * (cellH + gap) + y * scale + dy;
              const at = (Y * png.width + X) * 4;
              png.data[at] = Math.round(255 * rgb[0]);
              png.data[at + 1] = Math.round(255 * rgb[1]);
              png.data[at + 2] = Math.round(255 * rgb[2]);
              png.data[at + 3] = 255;
            }
          }
        });
      }
    }
  }
  return png;
}

/** Writes <out>/pictures/epoch-<n>.png for `count` training images spread evenly over the set. */
export async function writePictures(model: SupConResNet, o: TrainOptions, augment: AugmentConfig, ds: Dataset, epoch: number, count = 8): Promise<string> {
  const b = Math.min(count, ds.n);
  if (b < 2) throw new Error('pictures need at least 2 training images (GradMix pastes from a partner)');
  const per = valuesPerImage(ds);
  const images = new Float32Array(b * per);
  for (let i = 0; i < b; i++) {
    const j = Math.floor((i * ds.n) / b);
    images.set(ds.images.subarray(j * per, (j + 1) * per), i * per);
  }
  const p = await panels(model, o, augment, images, [b, ds.channels, ds.height, ds.width]);
  const dir = join(o.out, 'pictures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `epoch-${String(epoch).padStart(3, '0')}.png`);
  writeFileSync(file, PNG.sync.write(renderGrid(p, augment.mean, augment.std)));
  return file;
}
