// Mixing view 1 of a batch with a partner image (docs/TRAINING.md section 4), one dispatch each
// (kernels/mix.wgsl): GradMix's attribution-centred patch pasting and the Mixup and CutMix
// baselines. Each comes as a deterministic op (explicit partners, sides, weights: what the tests
// check) and a sampling wrapper that draws them from a seeded Rng. These are data augmentations:
// nothing is recorded for autograd.
//
// Loss weights (paper eq. 8): GradMix weights image i's mixed SimCLR term by gamma_i^2, the masked
// fraction up to the rounding of the box side. Mixup and CutMix use the analogue, the mixed-in
// fraction 1 - lam (CutMix: lam corrected to the clipped box, so 1 - lam = box area / (H * W)).
//
// Batches of one image cannot be mixed (no partner other than itself): the wrappers throw, and a
// training loop should drop such a batch or skip its mixed term.
import { tensor } from '../creation.js';
import type { Rng } from '../random.js';
import { Tensor, formatShape } from '../tensor.js';
import { WG, grid, launch, requireFloat } from '../ops/launch.js';
import { boxSide, cutmixBox, derangement, sampleBeta, type Box } from './sampling.js';
import { launching } from './launching.js';

export type PasteFill = 'partner' | 'noise' | 'zero';
const FILL_CODES: Record<PasteFill, number> = { partner: 0, noise: 1, zero: 2 };

export interface Mixed {
  /** [B, C, H, W]: view 1 with each image's partner mixed in. */
  mixed: Tensor;
  /** partner[i] != i: the image mixed into image i. */
  partner: Int32Array;
  /** Per-image weight of the mixed term of the loss (see the file comment). */
  weights: Float32Array;
}

export interface BoxMixed extends Mixed {
  /** int32 [B, 4]: top, left, height, width of each image's box. */
  boxes: Tensor;
}

function imageDims(op: string, x: Tensor): [number, number, number, number] {
  requireFloat(op, x);
  if (x.rank !== 4 || x.size === 0) throw new Error(`${op}: expected a non-empty batch [B, C, H, W], got ${formatShape(x.shape)}`);
  return x.shape as unknown as [number, number, number, number];
}

function checkPartners(op: string, partner: Int32Array, B: number): void {
  if (partner.length !== B) throw new Error(`${op}: ${partner.length} partners for a batch of ${B}`);
  partner.forEach((j, i) => {
    if (!Number.isInteger(j) || j < 0 || j >= B) throw new Error(`${op}: partner ${j} of image ${i} is outside the batch of ${B}`);
  });
}

function mixParams(x: Tensor, fill = 0, seed = 0) {
  const [b, c, h, w] = x.shape;
  return { b, c, h, w, fill, seed };
}

export interface PastePlan {
  /** Partner of each image. */
  partner: Int32Array;
  /** Box height and width of each image, in [1, H] and [1, W]. */
  boxH: Int32Array;
  boxW: Int32Array;
  fill: PasteFill;
  /** Seed of the noise fill's hash (uint32). */
  seed: number;
}

/**
 * Pastes into each image of x [B, C, H, W] a box of boxH[i] x boxW[i] centred on centres[i]
 * (int32 [B], flat index y * W + x) and shifted inside the image, filled per plan.fill.
 */
export function pastePatches(x: Tensor, centres: Tensor, plan: PastePlan): { mixed: Tensor; boxes: Tensor } {
  const [B, , H, W] = imageDims('pastePatches', x);
  if (centres.dtype !== 'int32' || centres.shape.join() !== String(B)) {
    throw new Error(`pastePatches: centres must be int32 [${B}], got ${centres.dtype} ${formatShape(centres.shape)}`);
  }
  checkPartners('pastePatches', plan.partner, B);
  for (let i = 0; i < B; i++) {
    const [h, w] = [plan.boxH[i], plan.boxW[i]];
    if (!(Number.isInteger(h) && h >= 1 && h <= H && Number.isInteger(w) && w >= 1 && w <= W)) {
      throw new Error(`pastePatches: box ${h} x ${w} of image ${i} does not fit a ${H} x ${W} image (sides 1..${H} x 1..${W})`);
    }
  }
  if (!(plan.fill in FILL_CODES)) throw new Error(`pastePatches: fill must be 'partner', 'noise' or 'zero', got '${plan.fill}'`);
  if (!Number.isInteger(plan.seed) || plan.seed < 0 || plan.seed > 0xffffffff) throw new Error(`pastePatches: seed must be a uint32, got ${plan.seed}`);
  const table = new Int32Array(3 * B);
  for (let i = 0; i < B; i++) table.set([plan.partner[i], plan.boxH[i], plan.boxW[i]], 3 * i);
  const planT = tensor(table, [B, 3], { dtype: 'int32' });
  const mixed = Tensor.empty(x.shape);
  const boxes = Tensor.empty([B, 4], 'int32');
  return launching([planT], [mixed, boxes], () => {
    launch('mix.paste', {
      tensors: { x, centres, plan: planT, out: mixed, boxes },
      params: mixParams(x, FILL_CODES[plan.fill], plan.seed),
      workgroups: grid(mixed.size, WG),
      overrides: { WG },
    });
    return { mixed, boxes };
  });
}

export interface GradMixOptions {
  /** gamma ~ U(gammaMin, gammaMax): the box side as a fraction of the image side (0.1, 0.5). */
  gammaMin?: number;
  gammaMax?: number;
  /** What fills the box: the partner's resized image (default, the paper), noise, or zeros. */
  fill?: PasteFill;
}

export interface GradMixed extends BoxMixed {
  /** The sampled gamma of each image; weights = gamma^2. */
  gamma: Float32Array;
}

/**
 * GradMix patch pasting: per image gamma ~ U(gammaMin, gammaMax), box side max(1, round(gamma *
 * H)) x max(1, round(gamma * W)) (round half to even, as Python), centred on the LayerCAM centre
 * and shifted inside the image, filled from a derangement partner. Throws for B = 1.
 */
export function gradMix(x: Tensor, centres: Tensor, rng: Rng, options: GradMixOptions = {}): GradMixed {
  const { gammaMin = 0.1, gammaMax = 0.5, fill = 'partner' } = options;
  if (!(gammaMin >= 0 && gammaMin <= gammaMax && gammaMax <= 1)) {
    throw new Error(`gradMix: need 0 <= gammaMin <= gammaMax <= 1, got gammaMin ${gammaMin}, gammaMax ${gammaMax}`);
  }
  const [B, , H, W] = imageDims('gradMix', x);
  const partner = derangement(B, rng);
  const gamma = Float32Array.from({ length: B }, () => rng.uniform(gammaMin, gammaMax));
  const boxH = gamma.map((g) => boxSide(g, H));
  const boxW = gamma.map((g) => boxSide(g, W));
  const seed = rng.nextU32();
  const { mixed, boxes } = pastePatches(x, centres, { partner, boxH: Int32Array.from(boxH), boxW: Int32Array.from(boxW), fill, seed });
  return { mixed, boxes, partner, gamma, weights: gamma.map((g) => g * g) };
}

/** Mixup's pixel blend: out[i] = x[i] * lam[i] + x[partner[i]] * (1 - lam[i]). */
export function blendImages(x: Tensor, partner: Int32Array, lam: Float32Array): Tensor {
  const [B] = imageDims('blendImages', x);
  checkPartners('blendImages', partner, B);
  if (lam.length !== B) throw new Error(`blendImages: ${lam.length} mixing weights for a batch of ${B}`);
  const planT = tensor(partner, [B], { dtype: 'int32' });
  const lamT = tensor(lam, [B]);
  const mixed = Tensor.empty(x.shape);
  return launching([planT, lamT], [mixed], () => {
    launch('mix.blend', { tensors: { x, plan: planT, lam: lamT, out: mixed }, params: mixParams(x), workgroups: grid(mixed.size, WG), overrides: { WG } });
    return mixed;
  });
}

export interface MixupOptions {
  /** lam ~ Beta(alpha, alpha) (default 1: uniform). */
  alpha?: number;
}

/** Mixup with a derangement partner and lam ~ Beta(alpha, alpha) per image; weights 1 - lam. */
export function mixup(x: Tensor, rng: Rng, options: MixupOptions = {}): Mixed & { lam: Float32Array } {
  const { alpha = 1 } = options;
  if (!(alpha > 0)) throw new Error(`mixup: alpha must be positive, got ${alpha}`);
  const [B] = imageDims('mixup', x);
  const partner = derangement(B, rng);
  const lam = Float32Array.from({ length: B }, () => sampleBeta(alpha, alpha, rng));
  return { mixed: blendImages(x, partner, lam), partner, lam, weights: lam.map((l) => 1 - l) };
}

/** CutMix's paste: inside boxes[i] (top, left, height, width; within the image) image i takes partner[i]'s pixels. */
export function cutRegions(x: Tensor, partner: Int32Array, boxes: readonly Box[]): { mixed: Tensor; boxes: Tensor } {
  const [B, , H, W] = imageDims('cutRegions', x);
  checkPartners('cutRegions', partner, B);
  if (boxes.length !== B) throw new Error(`cutRegions: ${boxes.length} boxes for a batch of ${B}`);
  const table = new Int32Array(5 * B);
  boxes.forEach(([top, left, h, w], i) => {
    if (!(top >= 0 && left >= 0 && h >= 0 && w >= 0 && top + h <= H && left + w <= W)) {
      throw new Error(`cutRegions: box [${top}, ${left}, ${h}, ${w}] of image ${i} is not inside the ${H} x ${W} image`);
    }
    table.set([partner[i], top, left, h, w], 5 * i);
  });
  const planT = tensor(table, [B, 5], { dtype: 'int32' });
  const mixed = Tensor.empty(x.shape);
  const boxesT = Tensor.empty([B, 4], 'int32');
  return launching([planT], [mixed, boxesT], () => {
    launch('mix.cut', { tensors: { x, plan: planT, out: mixed, boxes: boxesT }, params: mixParams(x), workgroups: grid(mixed.size, WG), overrides: { WG } });
    return { mixed, boxes: boxesT };
  });
}

/**
 * CutMix with a derangement partner: lam ~ Beta(alpha, alpha), a box of side sqrt(1 - lam) of
 * the image's at a uniform random centre, clipped, and lam corrected to 1 - area / (H * W).
 */
export function cutmix(x: Tensor, rng: Rng, options: MixupOptions = {}): BoxMixed & { lam: Float32Array } {
  const { alpha = 1 } = options;
  if (!(alpha > 0)) throw new Error(`cutmix: alpha must be positive, got ${alpha}`);
  const [B, , H, W] = imageDims('cutmix', x);
  const partner = derangement(B, rng);
  const boxes = Array.from({ length: B }, () => cutmixBox(sampleBeta(alpha, alpha, rng), H, W, rng));
  const lam = Float32Array.from(boxes, ([, , h, w]) => 1 - (h * w) / (H * W));
  const { mixed, boxes: boxesT } = cutRegions(x, partner, boxes);
  return { mixed, boxes: boxesT, partner, lam, weights: Float32Array.from(boxes, ([, , h, w]) => (h * w) / (H * W)) };
}
