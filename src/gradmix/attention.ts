// Attentive CutMix's light part: its settings, its types and the loader of its code. The code
// (attentive-cutmix.ts, with kernels/attentive_mix.wgsl) runs only beside a frozen ImageNet
// network (ResNet18 is 45 MB) that few runs load, so it is not imported statically: loadAttention
// imports it together with the network, and mixing and the panels call the code it returns. A
// browser page thus fetches it (in the optional-code chunk, src/optional-code.ts) only when it
// offers Attentive CutMix.
import type { Tensor } from '../tensor.js';

/** The original paper's grid side (ResNet's last feature map at 224 x 224) and cells pasted. */
export const ATTENTIVE_GRID = 7;
export const ATTENTIVE_TOP_K = 6;
/** torchvision's ImageNet input: 224 x 224, normalised with these per-channel statistics. */
export const ATTENTION_INPUT_SIZE = 224;
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** Images per forward of the attention network (bounds its memory: ResNet activations at 224 x 224 are ~3 MB per image at width 64). */
export const ATTENTION_CHUNK = 32;

/** A frozen attention network (torchvision's ResNets): its last feature map [B, F, h, w] of RGB input. */
export interface AttentionNet {
  featureMap(x: Tensor): Tensor;
  /** Switched to eval mode (BatchNorm's running statistics) before it is used. */
  eval(): unknown;
}

export interface AttentiveOptions {
  /** Grid side g (cells per image: g * g); default 7. */
  grid?: number;
  /** Cells pasted per image, 1..g * g; default 6. */
  topK?: number;
  /** The attention network's input side; default 224. */
  inputSize?: number;
  /** The per-channel normalisation the images carry (their [0, 1] values are (x - mean) / std); default none. */
  imageMean?: readonly number[];
  imageStd?: readonly number[];
}

export interface AttentiveMixed {
  /** [B, C, H, W]: each image with its partner's chosen cells pasted in. */
  mixed: Tensor;
  /** partner[i] != i: the image pasted into image i. */
  partner: Int32Array;
  /** [B] on the GPU: the pasted pixel fraction of each image, the mixed term's weight. */
  weights: Tensor;
  /** int32 [B, g, g]: 1 where image i took the partner's cell. */
  cells: Tensor;
  /** [B, g, g]: each image's attention grid (row j = image j; image i's cells come from row partner[i]). */
  scores: Tensor;
}

/** Attentive CutMix's code (attentive-cutmix.ts) as loadAttention imports it. */
export type AttentiveCutmixCode = typeof import('./attentive-cutmix.js');

/** Attentive CutMix ready to run: the frozen network and the code that mixes with it. */
export interface AttentionModel<N extends AttentionNet = AttentionNet> {
  readonly net: N;
  readonly code: AttentiveCutmixCode;
}

/** Attentive CutMix with the network `net` (its code is imported now, once per process or page). */
export async function loadAttention<N extends AttentionNet>(net: N): Promise<AttentionModel<N>> {
  return { net, code: await import('../optional-code.js') };
}
