// The mixed-view term of paper eq. 8: mean over anchors of w_i * SimCLR_i(mixed view 1, view 2),
// where w_i = gamma_i^2 for GradMix (the box's share of the image) and the mixed-in fraction for
// the Mixup/CutMix baselines. GradMix places each box on the argmax of the LayerCAM map of the
// batch's SimCLR loss (docs/TRAINING.md sections 3 and 4).
import { grad } from '../autograd.js';
import { tensor } from '../creation.js';
import * as ops from '../ops/index.js';
import { simclrLoss } from '../losses/index.js';
import { cutmix, gradMix, layerCam, mixup, type Mixed } from '../gradmix/index.js';
import type { SupConResNet } from '../nn/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import type { TrainOptions } from './options.js';

export interface MixingInput {
  model: SupConResNet;
  options: TrainOptions;
  /** Both views [2B, C, H, W], rows 0..B-1 view 1. */
  views: Tensor;
  /** Their projections [2B, D]; needed unless both attributionLoss and mixedLoss are given. */
  z?: Tensor;
  /** GradMix: outputs of the LayerCAM layers in the forward that made z. */
  activations: Tensor[];
  rng: Rng;
  /** LayerCAM's target loss in place of the batch's SimCLR loss (objectives without ssl, src/train/objectives.ts). */
  attributionLoss?: Tensor;
  /**
   * Per-anchor losses of the mixed images in place of SimCLR(mixed view 1, view 2): [B] or [2B]
   * rows, row r carrying image (r mod B)'s weight (objectives without ssl).
   */
  mixedLoss?: (mixed: Tensor) => Tensor;
}

function projections(input: MixingInput): Tensor {
  if (!input.z) throw new Error('mixing: the views\' projections z are needed for the SimCLR terms');
  return input.z;
}

export interface MixingResult {
  /** The weighted mixed term (a scalar in the graph). */
  term: Tensor;
  mix: Mixed & { boxes?: Tensor };
  /** GradMix: the aggregated LayerCAM map [B, H, W]. */
  cam?: Tensor;
}

/**
 * GradMix's attribution: the gradient of the batch's SimCLR loss w.r.t. the layers' activations
 * (without touching the parameters' gradients), reduced to each view-1 image's LayerCAM map.
 */
export function attribution(input: MixingInput): { map: Tensor; centres: Tensor } {
  const { options: o, views, activations } = input;
  const b = views.shape[0] / 2;
  const target = input.attributionLoss ?? simclrLoss(projections(input), { tau: o.tau });
  const grads = grad(target, activations);
  const view1 = (t: Tensor) => ops.slice(t, 0, 0, b);
  return ops.noGrad(() => layerCam(activations.map(view1), grads.map(view1), views.shape[2], views.shape[3], { normalize: o.camNormalize }));
}

export function mixedTerm(input: MixingInput): MixingResult {
  const { model, options: o, views, rng } = input;
  const b = views.shape[0] / 2;
  const view1 = ops.noGrad(() => ops.slice(views, 0, 0, b));
  let mix: Mixed & { boxes?: Tensor };
  let cam: Tensor | undefined;
  if (o.method === 'gradmix') {
    const { map, centres } = attribution(input);
    cam = map;
    mix = gradMix(view1, centres, rng, { gammaMin: o.gammaMin, gammaMax: o.gammaMax, fill: o.fill });
  } else if (o.method === 'mixup') {
    mix = mixup(view1, rng, { alpha: o.mixAlpha });
  } else if (o.method === 'cutmix') {
    mix = cutmix(view1, rng, { alpha: o.mixAlpha });
  } else {
    throw new Error(`mixedTerm: method '${o.method}' has no mixed term`);
  }
  const perAnchor = input.mixedLoss
    ? input.mixedLoss(mix.mixed)
    : simclrLoss([model.call(mix.mixed), ops.slice(projections(input), 0, b, 2 * b)], { tau: o.tau, reduction: 'none' });
  // Anchor i (mixed image i) and anchor b + i (view 2 of image i) both carry image i's weight.
  const rows = perAnchor.shape[0];
  const w = new Float32Array(rows);
  for (let r = 0; r < rows; r += b) w.set(mix.weights, r);
  const term = ops.meanAll(ops.mul(perAnchor, tensor(w, [rows])));
  return { term, mix, cam };
}
