// Attentive CutMix (Walawalkar et al., "Attentive CutMix: An Enhanced Data Augmentation Approach
// for Deep Learning Based Image Classification", ICASSP 2020), the paper's last baseline
// (docs/TRAINING.md section 4): a frozen ImageNet network looks at each image's partner (resized
// to the network's input size); its last feature map, summed over channels and pooled to a g x g
// grid, scores the partner's cells; the k best cells are pasted from the partner into the image at
// the same positions, and the mixed term's weight is the pasted pixel fraction. The original
// settings: ResNet's 7 x 7 last feature map at 224 x 224 input, k = 6.
//
// Everything after the partners' draw runs on the GPU (kernels/attentive_mix.wgsl): the grid
// scores, the top-k choice, the weights and the paste; the weights stay a GPU tensor, so a step
// reads nothing back. A data augmentation: nothing is recorded for autograd. Imported only through
// loadAttention (attention.ts), beside the network, so pages that never mix this way never load it.
import { Tensor, formatShape } from '../tensor.js';
import { tensor } from '../creation.js';
import { scope } from '../scope.js';
import type { Rng } from '../random.js';
import * as ops from '../ops/index.js';
import { WG, grid, launch, requireFloat } from '../ops/launch.js';
import { resizeNormalize } from '../augment/index.js';
import { derangement } from './sampling.js';
import { launching } from './launching.js';
import { ATTENTIVE_GRID, ATTENTIVE_TOP_K, ATTENTION_INPUT_SIZE, IMAGENET_MEAN, IMAGENET_STD, ATTENTION_CHUNK, type AttentionNet, type AttentiveOptions, type AttentiveMixed } from './attention.js';

export { ATTENTIVE_GRID, ATTENTIVE_TOP_K, ATTENTION_INPUT_SIZE, IMAGENET_MEAN, IMAGENET_STD, ATTENTION_CHUNK, type AttentionNet, type AttentiveOptions, type AttentiveMixed };

function checkGrid(op: string, g: number, k: number): void {
  if (!Number.isInteger(g) || g < 1) throw new Error(`${op}: the grid side must be a positive integer, got ${g}`);
  if (!Number.isInteger(k) || k < 1 || k > g * g) throw new Error(`${op}: top-k must be an integer in 1..${g * g} (the cells of a ${g} x ${g} grid), got ${k}`);
}

function kernelParams(b: number, g: number, k = 0, image = [0, 0, 0], feat = [0, 0, 0]) {
  return { b, c: image[0], h: image[1], w: image[2], f: feat[0], fh: feat[1], fw: feat[2], g, k };
}

/**
 * The attention grid [B, g, g] of a feature map [B, F, h, w]: the sum over channels, average-pooled
 * to g x g (adaptive pooling as PyTorch's adaptive_avg_pool2d; the identity for g = h = w).
 */
export function attentionGrid(features: Tensor, g: number): Tensor {
  requireFloat('attentionGrid', features);
  if (features.rank !== 4 || features.size === 0) throw new Error(`attentionGrid: expected a non-empty feature map [B, F, h, w], got ${formatShape(features.shape)}`);
  checkGrid('attentionGrid', g, 1);
  const [B, F, FH, FW] = features.shape;
  const scores = Tensor.empty([B, g, g]);
  return launching([], [scores], () => {
    launch('attentive_mix.grid_scores', { tensors: { feat: features, scores }, params: kernelParams(B, g, 0, undefined, [F, FH, FW]), workgroups: grid(B * g * g, WG), overrides: { WG } });
    return scores;
  });
}

/**
 * Pastes into each image of x [B, C, H, W] the k cells of partner[i]'s row of `scores` [B, g, g]
 * with the highest scores (ties: the lowest row-major cell index first), from partner[i], at the
 * same positions. Cell (r, c) spans rows floor(r * H / g) to floor((r + 1) * H / g) (exclusive),
 * columns likewise.
 */
export function attentivePaste(x: Tensor, scores: Tensor, partner: Int32Array, topK: number): Omit<AttentiveMixed, 'partner' | 'scores'> {
  requireFloat('attentivePaste', x, scores);
  if (x.rank !== 4 || x.size === 0) throw new Error(`attentivePaste: expected a non-empty batch [B, C, H, W], got ${formatShape(x.shape)}`);
  const [B, C, H, W] = x.shape;
  const g = scores.shape[1];
  if (scores.rank !== 3 || scores.shape[0] !== B || scores.shape[2] !== g) throw new Error(`attentivePaste: scores must be [${B}, g, g], got ${formatShape(scores.shape)}`);
  checkGrid('attentivePaste', g, topK);
  if (partner.length !== B) throw new Error(`attentivePaste: ${partner.length} partners for a batch of ${B}`);
  partner.forEach((j, i) => {
    if (!Number.isInteger(j) || j < 0 || j >= B) throw new Error(`attentivePaste: partner ${j} of image ${i} is outside the batch of ${B}`);
  });
  const plan = tensor(partner, [B], { dtype: 'int32' });
  const cells = Tensor.empty([B, g, g], 'int32');
  const weights = Tensor.empty([B]);
  const mixed = Tensor.empty(x.shape);
  const params = kernelParams(B, g, topK, [C, H, W]);
  const run = (entry: string, tensors: Record<string, Tensor>, n: number) => launch(`attentive_mix.${entry}`, { tensors, params, workgroups: grid(n, WG), overrides: { WG } });
  return launching([plan], [cells, weights, mixed], () => {
    run('choose', { scores, plan, cells }, B * g * g);
    run('weigh', { cells, weights }, B);
    run('paste', { plan, cells, x, out: mixed }, mixed.size);
    return { mixed, cells, weights };
  });
}

/**
 * The attention network's input from normalised images [B, C, H, W] (C = 1 or 3): grey images
 * repeated to RGB, resized bilinearly to size x size and renormalised from the images' statistics
 * to ImageNet's, so the network sees what it was trained on.
 */
export function attentionInput(images: Tensor, size: number, imageMean?: readonly number[], imageStd?: readonly number[]): Tensor {
  const C = images.shape[1];
  if (images.rank !== 4 || (C !== 1 && C !== 3)) throw new Error(`attentionInput: expected images [B, 1 or 3, H, W], got ${formatShape(images.shape)}`);
  const mean = imageMean ?? Array<number>(C).fill(0);
  const std = imageStd ?? Array<number>(C).fill(1);
  if (mean.length !== C || std.length !== C) throw new Error(`attentionInput: the images' normalisation has ${mean.length} mean and ${std.length} std values for ${C} channels`);
  const rgb = C === 3 ? images : ops.concat([images, images, images], 1);
  const ch = (i: number) => (C === 3 ? i : 0);
  // v = (x - m) / s and the network wants (x - mI) / sI = (v - (mI - m) / s) / (sI / s).
  return resizeNormalize(rgb, {
    size,
    mean: IMAGENET_MEAN.map((mI, i) => (mI - mean[ch(i)]) / std[ch(i)]),
    std: IMAGENET_STD.map((sI, i) => sI / std[ch(i)]),
  });
}

/** Attentive CutMix of a batch with explicit partners (what the tests check); see the file comment. */
export function attentiveMixWith(x: Tensor, net: AttentionNet, partner: Int32Array, options: AttentiveOptions = {}): AttentiveMixed {
  const { grid: g = ATTENTIVE_GRID, topK = ATTENTIVE_TOP_K, inputSize = ATTENTION_INPUT_SIZE } = options;
  checkGrid('attentiveCutmix', g, topK);
  net.eval();
  // Every image's grid (row j = image j): each image is some image's partner under a derangement.
  // In chunks, each in its own scope, so the network's 224 x 224 activations of only one chunk live at a time.
  const B = x.shape[0];
  const chunks: Tensor[] = [];
  for (let start = 0; start < B; start += ATTENTION_CHUNK) {
    chunks.push(
      scope(() =>
        ops.noGrad(() => {
          const part = ops.slice(x, 0, start, Math.min(start + ATTENTION_CHUNK, B));
          return attentionGrid(net.featureMap(attentionInput(part, inputSize, options.imageMean, options.imageStd)), g);
        }),
      ),
    );
  }
  const scores = chunks.length === 1 ? chunks[0] : ops.concat(chunks, 0);
  if (chunks.length > 1) chunks.forEach((t) => t.dispose());
  return { ...attentivePaste(x, scores, partner, topK), partner, scores };
}

/** Attentive CutMix with a derangement partner (the partners Mixup and CutMix draw). Throws for B = 1. */
export function attentiveCutmix(x: Tensor, net: AttentionNet, rng: Rng, options: AttentiveOptions = {}): AttentiveMixed {
  return attentiveMixWith(x, net, derangement(x.shape[0], rng), options);
}

/** The grid cell holding pixel y of an n-pixel axis (the kernel's rule: the last cell starting at or before y). */
export function cellOf(y: number, n: number, g: number): number {
  return Math.floor(((y + 1) * g - 1) / n);
}

/** Host values of a grid [B, g, g] per pixel of H x W images ([B, H, W]: each pixel its cell's value), for pictures. */
export function gridToPixels(grid: ArrayLike<number>, B: number, g: number, H: number, W: number): Float32Array {
  const out = new Float32Array(B * H * W);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < H; y++) {
      const row = (b * g + cellOf(y, H, g)) * g;
      for (let x = 0; x < W; x++) out[(b * H + y) * W + x] = grid[row + cellOf(x, W, g)];
    }
  }
  return out;
}
