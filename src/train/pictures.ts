// The GradMix picture grid: under a header naming the epoch, the method and the columns, for a
// fixed set of training images, one row each of
//   view 1 | LayerCAM heatmap over it (viridis) | the pasted box outlined | the mixed image.
// (Attentive CutMix runs: its attention grid, pasted cells and mixed image instead; panels.ts.)
// Written each epoch as a PNG, so a user sees where the boxes land as the model learns. The
// panels and their pixels are panels.ts's and panel-image.ts's (a page draws the same ones).
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { AugmentConfig } from '../augment/index.js';
import type { SupConResNet } from '../nn/index.js';
import { valuesPerImage, type Dataset } from '../data/dataset.js';
import type { TrainOptions } from './options.js';
import { attributionPanels, type AttributionPanels } from './panels.js';
import type { AttentionSource } from './mixing.js';
import { renderPanels, type PanelCaption } from './panel-image.js';

/** Renders the grid as a PNG: `scale` screen pixels per image pixel, a 2 px gap between panels, the header of `caption`. */
export function renderGrid(p: AttributionPanels, mean: readonly number[], std: readonly number[], scale = 4, caption: PanelCaption = {}): PNG {
  const img = renderPanels(p, mean, std, scale, p.b, caption);
  const png = new PNG({ width: img.width, height: img.height });
  png.data.set(img.data);
  return png;
}

/** Writes <out>/pictures/epoch-<n>.png for `count` training images spread evenly over the set (Attentive CutMix: with its network). */
export async function writePictures(model: SupConResNet, o: TrainOptions, augment: AugmentConfig, ds: Dataset, epoch: number, count = 8, attention?: AttentionSource): Promise<string> {
  const b = Math.min(count, ds.n);
  if (b < 2) throw new Error('pictures need at least 2 training images (GradMix pastes from a partner)');
  const per = valuesPerImage(ds);
  const images = new Float32Array(b * per);
  const labels = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const j = Math.floor((i * ds.n) / b);
    images.set(ds.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = ds.labels[j];
  }
  const p = await attributionPanels(model, o, augment, images, [b, ds.channels, ds.height, ds.width], { attention, labels });
  const dir = join(o.out, 'pictures');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `epoch-${String(epoch).padStart(3, '0')}.png`);
  writeFileSync(file, PNG.sync.write(renderGrid(p, augment.mean, augment.std, 4, { epoch, method: o.method })));
  return file;
}
