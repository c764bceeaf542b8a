// Augmentation on the GPU: the views op (one dispatch for all views of a batch, plus a small
// per-image pass when some view has a contrast step), the seeded Augmentation that samples
// parameters for it, and the deterministic eval transform. Forward only (inputs are data).
// Resizing is plain bilinear (torchvision's resized_crop with antialias=False).
// Kernels: kernels/augment.wgsl.
import { Tensor, formatShape } from '../tensor.js';
import { tensor } from '../creation.js';
import { Rng } from '../random.js';
import { WG, grid, launch, requireFloat } from '../ops/launch.js';
import { checkConfig, checkViews, outputSize, packViews, sampleViews, wholeImageViews, PARAMS_PER_VIEW, type AugmentConfig, type ViewParams } from './params.js';

/** Output size and per-channel normalisation of a views call. */
export interface ViewsOutput {
  size: AugmentConfig['size'];
  mean: readonly number[];
  std: readonly number[];
}

function checkImages(op: string, images: Tensor, o: ViewsOutput): [number, number, number, number] {
  requireFloat(op, images);
  if (images.rank !== 4) throw new Error(`${op}: expected images of shape [B, C, H, W], got ${formatShape(images.shape)}`);
  const [B, C, H, W] = images.shape;
  if (B < 1 || H < 1 || W < 1) throw new Error(`${op}: images ${formatShape(images.shape)} are empty`);
  if (C !== 1 && C !== 3) throw new Error(`${op}: images have ${C} channels; augmentation supports 1 or 3`);
  if (o.mean.length !== C || o.std.length !== C) {
    throw new Error(`${op}: normalisation has ${o.mean.length} mean and ${o.std.length} std values, images have ${C} channel${C > 1 ? 's' : ''}`);
  }
  if (!o.std.every((s) => s > 0)) throw new Error(`${op}: std [${o.std}] must be positive`);
  return [B, C, H, W];
}

const vec4 = (v: readonly number[], fill: number) => [0, 1, 2, 3].map((i) => v[i] ?? fill);

/**
 * Augmented, normalised views of `images` ([B, C, H, W] in [0, 1]): row n of the result
 * ([views.length, C, outH, outW]) is image n % B under views[n].
 */
export function augmentViews(images: Tensor, views: readonly ViewParams[], o: ViewsOutput): Tensor {
  const [B, C, H, W] = checkImages('augmentViews', images, o);
  if (views.length === 0 || views.length % B !== 0) throw new Error(`augmentViews: ${views.length} views for ${B} images (need a positive multiple)`);
  checkViews(views, H, W);
  const [outH, outW] = outputSize(o.size);
  const n = views.length;
  const params = { batch: B, channels: C, in_h: H, in_w: W, out_h: outH, out_w: outW, images: n, norm_mean: vec4(o.mean, 0), norm_std: vec4(o.std, 1) };
  const workgroups = grid(n * outH * outW, WG);
  const contrast = views.some((v) => v.jitter.some((s) => s.op === 'contrast'));
  const vp = tensor(packViews(views), [n, PARAMS_PER_VIEW]);
  const means = contrast ? Tensor.empty([n]) : null;
  const out = Tensor.empty([n, C, outH, outW]);
  // A launch can throw (a disposed input, a lost device) where no scope frees what this made.
  try {
    if (means) {
      launch('augment.contrast_means', { tensors: { vp, src: images, means_out: means }, params, workgroups: grid(n, WG), overrides: { WG } });
      launch('augment.views_contrast', { tensors: { vp, src: images, means, out }, params, workgroups, overrides: { WG } });
    } else {
      launch('augment.views', { tensors: { vp, src: images, out }, params, workgroups, overrides: { WG } });
    }
    return out;
  } catch (err) {
    out.dispose();
    throw err;
  } finally {
    vp.dispose();
    means?.dispose();
  }
}

/** The eval transform: resize (bilinear, when the size differs) and normalise; no randomness. */
export function resizeNormalize(images: Tensor, o: ViewsOutput): Tensor {
  const [B, , H, W] = checkImages('resizeNormalize', images, o);
  return augmentViews(images, wholeImageViews(B, H, W), o);
}

/** A seeded augmentation: two views per image per batch, with a sampler state that checkpoints can save. */
export class Augmentation {
  readonly config: AugmentConfig;
  private rng: Rng;

  constructor(config: AugmentConfig, seed: number | Rng) {
    checkConfig(config);
    this.config = config;
    this.rng = typeof seed === 'number' ? new Rng(seed) : seed;
  }

  /** Parameters for `views` views of each of `batch` images (advances the generator). */
  sample(batch: number, height: number, width: number, views = 2): ViewParams[] {
    return sampleViews(this.rng, batch, height, width, this.config, views);
  }

  /** [2B, C, outH, outW]: rows 0..B-1 are view 1 of each image, rows B..2B-1 view 2. */
  views(images: Tensor): Tensor {
    const [B, , H, W] = checkImages('Augmentation.views', images, this.config);
    return augmentViews(images, this.sample(B, H, W), this.config);
  }

  /** The eval transform with this config's output size and normalisation. */
  eval(images: Tensor): Tensor {
    return resizeNormalize(images, this.config);
  }

  state(): number[] {
    return this.rng.state();
  }

  setState(state: readonly number[]): void {
    this.rng.setState(state);
  }
}
