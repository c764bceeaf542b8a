// The mixed-view term of paper eq. 8: mean over anchors of w_i * L_i(mixed view 1), where
// w_i = gamma_i^2 for GradMix (the box's share of the image) and the mixed-in fraction for the
// Mixup, CutMix and Attentive CutMix baselines, and L_i is the per-anchor loss the objective asks
// for (SimCLR against view 2 by default). GradMix places each box on the argmax of the LayerCAM map
// of the batch's loss the objective names (docs/TRAINING.md sections 3 and 4). Mixing sees only its own settings
// (MixingConfig) and what it asks of the objective (MixingTarget), never the whole run's options.
import { grad } from '../autograd.js';
import { tensor } from '../creation.js';
import * as ops from '../ops/index.js';
import { cutmix, gradMix, layerCam, mixup, type AttentionModel, type AttentiveMixed, type Mixed } from '../gradmix/index.js';
import type { SupConResNet } from '../nn/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import type { Fill, Method } from './options.js';

/** The mixing method and its settings: the part of the options the mixed term reads (options.ts mixingConfig). */
export interface MixingConfig {
  method: Method;
  /** GradMix: the LayerCAM layers by module name (relative to the encoder) and how their maps are normalised. */
  layers: readonly string[];
  camNormalize: 'image' | 'batch';
  /** GradMix: box side fraction gamma ~ U(gammaMin, gammaMax), and what fills the box. */
  gammaMin: number;
  gammaMax: number;
  fill: Fill;
  /** Mixup/CutMix: Beta(alpha, alpha). */
  mixAlpha: number;
  /** Attentive CutMix: grid side and cells pasted. */
  attentionGrid: number;
  attentionTopK: number;
}

/** Attentive CutMix's frozen network with its code (loadAttention) and the per-channel normalisation of the views it is shown. */
export interface AttentionSource extends AttentionModel {
  imageMean: readonly number[];
  imageStd: readonly number[];
}

/** What the mixed term asks of the loss it extends, for one batch (built by the objective). */
export interface MixingTarget {
  /** GradMix: the batch's loss whose gradient at the LayerCAM layers' outputs makes the maps. */
  attributionLoss(): Tensor;
  /** Per-anchor losses of the mixed view-1 images: [B] or [2B] rows, row r carrying image (r mod B)'s weight. */
  mixedLoss(mixed: Tensor): Tensor;
}

export interface MixingInput {
  config: MixingConfig;
  target: MixingTarget;
  /** Both views [2B, C, H, W], rows 0..B-1 view 1. */
  views: Tensor;
  /** GradMix: outputs of the LayerCAM layers in the forward that made the target's loss (recordActivations). */
  activations: Tensor[];
  rng: Rng;
  /** Attentive CutMix: the attention network (loaded from the options' attentionModel). */
  attention?: AttentionSource;
}

export interface MixingResult {
  /** The weighted mixed term (a scalar in the graph). */
  term: Tensor;
  /** The weights are on the host, except Attentive CutMix's ([B] on the GPU: its cells are chosen there). */
  mix: (Mixed & { boxes?: Tensor }) | AttentiveMixed;
  /** GradMix: the aggregated LayerCAM map [B, H, W]. */
  cam?: Tensor;
}

/** Runs the forward `fn` of the model, with the LayerCAM layers' outputs when the method attributes (GradMix). */
export function recordActivations<T>(model: SupConResNet, config: MixingConfig, fn: () => T): { result: T; activations: Tensor[] } {
  return config.method === 'gradmix' ? model.withActivations(config.layers, fn) : { result: fn(), activations: [] };
}

/**
 * GradMix's attribution: the gradient of the target's batch loss w.r.t. the layers' activations
 * (without touching the parameters' gradients), reduced to each view-1 image's LayerCAM map.
 */
export function attribution(input: Omit<MixingInput, 'rng'>): { map: Tensor; centres: Tensor } {
  const { config, target, views, activations } = input;
  const b = views.shape[0] / 2;
  const grads = grad(target.attributionLoss(), activations);
  const view1 = (t: Tensor) => ops.slice(t, 0, 0, b);
  const [outH, outW] = [views.shape[2], views.shape[3]];
  return ops.noGrad(() => {
    if (config.camNormalize === 'image') return layerCam(activations.map(view1), grads.map(view1), outH, outW);
    // The batch's min and max span every row the forward saw (both views, as the authors'
    // layer_salient_maps; MoCo's forward sees view 1 only), so the maps of all rows are made.
    const all = layerCam(activations, grads, outH, outW, { normalize: config.camNormalize });
    const kept = { map: view1(all.map), centres: view1(all.centres) };
    all.map.dispose();
    all.centres.dispose();
    return kept;
  });
}

export function mixedTerm(input: MixingInput): MixingResult {
  const { config: c, target, views, rng } = input;
  const b = views.shape[0] / 2;
  const view1 = ops.noGrad(() => ops.slice(views, 0, 0, b));
  let mix: MixingResult['mix'];
  let cam: Tensor | undefined;
  if (c.method === 'gradmix') {
    const { map, centres } = attribution(input);
    cam = map;
    mix = gradMix(view1, centres, rng, { gammaMin: c.gammaMin, gammaMax: c.gammaMax, fill: c.fill });
  } else if (c.method === 'mixup') {
    mix = mixup(view1, rng, { alpha: c.mixAlpha });
  } else if (c.method === 'cutmix') {
    mix = cutmix(view1, rng, { alpha: c.mixAlpha });
  } else if (c.method === 'attentive-cutmix') {
    if (!input.attention) throw new Error('mixedTerm: attentive-cutmix needs its attention network (MixingInput.attention; train() loads it from the attentionModel option)');
    const { net, code, imageMean, imageStd } = input.attention;
    mix = code.attentiveCutmix(view1, net, rng, { grid: c.attentionGrid, topK: c.attentionTopK, imageMean, imageStd });
  } else {
    throw new Error(`mixedTerm: method '${c.method}' has no mixed term`);
  }
  const perAnchor = target.mixedLoss(mix.mixed);
  // Anchor i (mixed image i) and anchor b + i (view 2 of image i) both carry image i's weight.
  const rows = perAnchor.shape[0];
  const perImage = mix.weights instanceof Float32Array ? tensor(mix.weights, [b]) : mix.weights;
  const w =
    rows === b
      ? perImage
      : ops.concat(
          Array.from({ length: rows / b }, () => perImage),
          0,
        );
  const term = ops.meanAll(ops.mul(perAnchor, w));
  return { term, mix, cam };
}
