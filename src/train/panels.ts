// GradMix's attribution panels, computed (browser-safe): for a few fixed images, view 1, its
// LayerCAM map, the box GradMix pastes and the mixed image, as host arrays. train/pictures.ts
// writes them as PNG files each epoch; a page draws them on a canvas (src/browser/panels.ts); both
// render them with panel-image.ts. Attentive CutMix runs show its own mixing instead: the attention
// network's grid over each image, the cells pasted into it from its partner, the mixed image.
import { tensor } from '../creation.js';
import { scope } from '../scope.js';
import { Rng } from '../random.js';
import * as ops from '../ops/index.js';
import { augmentViews, resizeNormalize, sampleViews, type AugmentConfig } from '../augment/index.js';
import { gradMix } from '../gradmix/index.js';
import type { SupConResNet } from '../nn/index.js';
import { attribution, type AttentionSource } from './mixing.js';
import { createObjective, simclrTarget } from './objectives.js';
import { mixingConfig, type TrainOptions } from './options.js';

export interface AttributionPanels {
  /** View 1 of each image, normalised, [b, c, h, w]. */
  view1: Float32Array;
  /** Aggregated LayerCAM map [b, h, w] (a sum of per-layer maps in [0, 1]). */
  cam: Float32Array;
  /** View 1 with the partner's patch pasted on the map's argmax, [b, c, h, w]. */
  mixed: Float32Array;
  /** int32 [b, 4]: top, left, height, width of each box. */
  boxes: Int32Array;
  /** Attentive CutMix: [b, h, w], 1 where the partner's cells were pasted (outlined instead of the box). */
  region?: Uint8Array;
  /**
   * Attentive CutMix: each image's partner (view 1 of the image whose cells it receives), [b, c, h, w];
   * cam is then the partner's attention grid, and both are drawn over the partner.
   */
  partner?: Float32Array;
  b: number;
  c: number;
  h: number;
  w: number;
}

export interface PanelOptions {
  /** Seed of the views and boxes (default from the options' seed: the same every call, so panels change only with the model). */
  seed?: number;
  /** View 1 is the image itself (resized and normalised) instead of a random crop. */
  plainView1?: boolean;
  /** Attentive CutMix's network (TrainStep.attention), required for that method's panels. */
  attention?: AttentionSource;
  /**
   * The images' labels: the maps then come from the run's own objective's loss, as training's
   * boxes do (SupCon's, cross-entropy's); without them (images of no known class), from SimCLR's.
   */
  labels?: Int32Array;
}

/** The panels' draws: the same every epoch (the seed is the run's, moved off training's own stream), or options.seed's. */
function panelRng(o: TrainOptions, options: PanelOptions): Rng {
  return new Rng(options.seed ?? o.seed ^ 0x2545f491);
}

/**
 * Runs GradMix's attribution (the SimCLR loss of the batch's two views, its gradient at the
 * LayerCAM layers) and pasting on `images` ([b, c, h, w] in [0, 1], b >= 2: every image needs a
 * partner and the loss needs negatives). The model stays in train mode as in training, with its
 * BatchNorm running statistics untouched; parameters and their gradients are not changed.
 */
export async function attributionPanels(
  model: SupConResNet,
  o: TrainOptions,
  augment: AugmentConfig,
  images: Float32Array,
  shape: [number, number, number, number],
  options: PanelOptions = {},
): Promise<AttributionPanels> {
  const [b, c, h, w] = shape;
  if (b < 2) throw new Error(`attributionPanels: need at least 2 images (a partner and a negative for each), got ${b}`);
  if (options.labels && options.labels.length !== b) throw new Error(`attributionPanels: ${options.labels.length} labels for ${b} images`);
  if (o.method === 'attentive-cutmix') return attentivePanels(o, augment, images, shape, options);
  const wasTraining = model.training;
  model.train();
  try {
    const out = model.withFrozenRunningStats(() =>
      scope(() => {
        const rng = panelRng(o, options);
        const raw = tensor(images, shape);
        const views = options.plainView1
          ? ops.concat([resizeNormalize(raw, augment), augmentViews(raw, sampleViews(rng, b, h, w, augment, 1), augment)], 0)
          : augmentViews(raw, sampleViews(rng, b, h, w, augment), augment);
        const labels = options.labels;
        const { result: target, activations } = model.withActivations(o.layers, () =>
          labels ? createObjective(o.objective, model, o).loss(views, labels) : simclrTarget(model, model.call(views), o.tau),
        );
        const config = mixingConfig(o);
        const { map, centres } = attribution({ config, target, views, activations });
        const view1 = ops.slice(views, 0, 0, b);
        const mix = gradMix(view1, centres, rng, { gammaMin: config.gammaMin, gammaMax: config.gammaMax, fill: config.fill });
        return { view1, cam: map, mixed: mix.mixed, boxes: mix.boxes };
      }),
    );
    try {
      const [view1, cam, mixed, boxes] = await Promise.all([out.view1.data(), out.cam.data(), out.mixed.data(), out.boxes.data()]);
      return { view1: view1 as Float32Array, cam: cam as Float32Array, mixed: mixed as Float32Array, boxes: boxes as Int32Array, b, c, h, w };
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  } finally {
    model.train(wasTraining);
  }
}

/** Attentive CutMix's panels: view 1, its partner with the partner's attention grid, the cells that grid chose, the mixed image. */
async function attentivePanels(o: TrainOptions, augment: AugmentConfig, images: Float32Array, shape: [number, number, number, number], options: PanelOptions): Promise<AttributionPanels> {
  const [b, c, h, w] = shape;
  if (!options.attention) throw new Error('attributionPanels: attentive-cutmix panels need its attention network (PanelOptions.attention, as TrainStep.attention holds it)');
  const { net, code, imageMean, imageStd } = options.attention;
  const { attentiveCutmix, gridToPixels } = code;
  const out = scope(() => {
    const rng = panelRng(o, options);
    const raw = tensor(images, shape);
    const view1 = options.plainView1 ? resizeNormalize(raw, augment) : augmentViews(raw, sampleViews(rng, b, h, w, augment, 1), augment);
    const mix = attentiveCutmix(view1, net, rng, { grid: o.attentionGrid, topK: o.attentionTopK, imageMean, imageStd });
    return { tensors: { view1, scores: mix.scores, cells: mix.cells, mixed: mix.mixed }, partner: mix.partner };
  });
  try {
    const { tensors, partner } = out;
    const [view1, scores, cells, mixed] = (await Promise.all([tensors.view1.data(), tensors.scores.data(), tensors.cells.data(), tensors.mixed.data()])) as [
      Float32Array,
      Float32Array,
      Int32Array,
      Float32Array,
    ];
    const g = o.attentionGrid;
    const region = Uint8Array.from(gridToPixels(cells, b, g, h, w));
    // Row i shows image partner[i]: its view and its attention, the grid that chose image i's cells.
    const byPartner = (rows: Float32Array, size: number) => {
      const picked = new Float32Array(b * size);
      partner.forEach((j, i) => picked.set(rows.subarray(j * size, (j + 1) * size), i * size));
      return picked;
    };
    return { view1, cam: byPartner(gridToPixels(scores, b, g, h, w), h * w), mixed, boxes: new Int32Array(4 * b), region, partner: byPartner(view1, c * h * w), b, c, h, w };
  } finally {
    for (const t of Object.values(out.tensors)) t.dispose();
  }
}
