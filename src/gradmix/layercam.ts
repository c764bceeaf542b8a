// LayerCAM aggregated over several layers (docs/TRAINING.md section 3): from (activation, gradient) pairs
// straight to one attribution map per image at the input resolution and each image's argmax
// centre, all on the GPU (kernels/layercam.wgsl). With L layers it takes ceil(L/3) + 3 dispatches
// (one more for normalize 'batch'): 4 for the default three layers.
import { Tensor, formatShape } from '../tensor.js';
import { WG, grid, launch, requireFloat } from '../ops/launch.js';
import { launching } from './launching.js';

export type CamNormalize = 'image' | 'batch';

export interface LayerCamOptions {
  /**
   * Min-max normalisation of each layer's map: per image (default, the paper) or with one min and
   * max over all the rows given per layer (the authors' code, given both views: see
   * src/train/mixing.ts attribution).
   */
  normalize?: CamNormalize;
}

export interface LayerCam {
  /** [B, outH, outW]: the sum over layers of the normalised, upsampled maps (each in [0, 1]). */
  map: Tensor;
  /** int32 [B]: flat index y * outW + x of each map's first maximum in row-major order. */
  centres: Tensor;
}

/** Layers one call takes: the kernels address them as components of two vec4 uniforms. */
export const MAX_CAM_LAYERS = 8;
/** Layers one channel-reduction dispatch covers (three A/G binding pairs). */
const SLOTS = 3;

interface LayerShape {
  channels: number;
  h: number;
  w: number;
  /** Where this layer's [B, h, w] block starts in the packed per-layer maps. */
  offset: number;
}

function layerShapes(activations: readonly Tensor[], gradients: readonly Tensor[]): { batch: number; layers: LayerShape[] } {
  if (activations.length !== gradients.length) {
    throw new Error(`layerCam: ${activations.length} activations but ${gradients.length} gradients; pass one gradient per activation`);
  }
  if (activations.length === 0) throw new Error('layerCam: no layers given');
  if (activations.length > MAX_CAM_LAYERS) throw new Error(`layerCam: ${activations.length} layers, at most ${MAX_CAM_LAYERS} are supported`);
  const batch = activations[0].shape[0];
  const layers: LayerShape[] = [];
  let offset = 0;
  activations.forEach((a, l) => {
    const g = gradients[l];
    requireFloat('layerCam', a, g);
    if (a.rank !== 4 || a.shape.some((d) => d === 0)) throw new Error(`layerCam: activation ${l} has shape ${formatShape(a.shape)}, expected a non-empty [B, C, h, w]`);
    if (g.shape.join() !== a.shape.join()) throw new Error(`layerCam: gradient ${l} has shape ${formatShape(g.shape)} but its activation has ${formatShape(a.shape)}`);
    if (a.shape[0] !== batch) throw new Error(`layerCam: activation ${l} has batch ${a.shape[0]} but activation 0 has ${batch}`);
    const [, channels, h, w] = a.shape;
    layers.push({ channels, h, w, offset });
    offset += batch * h * w;
  });
  return { batch, layers };
}

/** Component l of the lo (l < 4) or hi (l >= 4) vector of a per-layer uniform field. */
function split8(values: number[]): [number[], number[]] {
  const padded = [...values, ...new Array<number>(MAX_CAM_LAYERS - values.length).fill(0)];
  return [padded.slice(0, 4), padded.slice(4)];
}

/**
 * The aggregated LayerCAM of `activations[l]` / `gradients[l]` ([B, C_l, h_l, w_l] each, any
 * resolutions) at outH x outW: per layer ReLU(sum_c ReLU(G) * A), min-max normalised, bilinearly
 * upsampled (align_corners=False), summed over layers; plus each image's argmax. Forward only:
 * nothing is recorded for autograd and nothing is read back to the CPU.
 */
export function layerCam(activations: readonly Tensor[], gradients: readonly Tensor[], outH: number, outW: number, options: LayerCamOptions = {}): LayerCam {
  const normalize = options.normalize ?? 'image';
  if (normalize !== 'image' && normalize !== 'batch') throw new Error(`layerCam: normalize must be 'image' or 'batch', got '${String(normalize)}'`);
  for (const [name, v] of [
    ['outH', outH],
    ['outW', outW],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`layerCam: ${name} must be a positive integer, got ${v}`);
  }
  const { batch, layers } = layerShapes(activations, gradients);
  const last = layers[layers.length - 1];
  const cams = Tensor.empty([last.offset + batch * last.h * last.w]);
  const stats = Tensor.empty([layers.length, batch, 2]);
  const map = Tensor.empty([batch, outH, outW]);
  const centres = Tensor.empty([batch], 'int32');
  return launching([cams, stats], [map, centres], () => {
    for (let first = 0; first < layers.length; first += SLOTS) {
      const slots = layers.slice(first, first + SLOTS);
      // Unused slots bind slot 0's tensors (never read).
      const pick = (k: number) => (first + k < layers.length ? first + k : first);
      const n = slots.reduce((s, l) => s + batch * l.h * l.w, 0);
      const vec = (f: (l: LayerShape) => number) => [0, 1, 2, 3].map((k) => (k < slots.length ? f(slots[k]) : 0));
      launch('layercam.channels', {
        tensors: { a0: activations[pick(0)], g0: gradients[pick(0)], a1: activations[pick(1)], g1: gradients[pick(1)], a2: activations[pick(2)], g2: gradients[pick(2)], cams },
        params: { n, slots: slots.length, chan: vec((l) => l.channels), hw: vec((l) => l.h * l.w), off: vec((l) => l.offset) },
        workgroups: grid(n, WG),
        overrides: { WG },
      });
    }
    const [h_lo, h_hi] = split8(layers.map((l) => l.h));
    const [w_lo, w_hi] = split8(layers.map((l) => l.w));
    const [off_lo, off_hi] = split8(layers.map((l) => l.offset));
    const params = { b: batch, layers: layers.length, out_h: outH, out_w: outW, h_lo, h_hi, w_lo, w_hi, off_lo, off_hi };
    launch('layercam.minmax', { tensors: { cams, stats }, params, workgroups: grid(layers.length * batch, WG), overrides: { WG } });
    if (normalize === 'batch') launch('layercam.minmax_batch', { tensors: { stats }, params, workgroups: grid(layers.length, WG), overrides: { WG } });
    launch('layercam.upsample_sum', { tensors: { cams, stats, map }, params, workgroups: grid(map.size, WG), overrides: { WG } });
    launch('layercam.argmax', { tensors: { map, centres }, params, workgroups: grid(batch, WG), overrides: { WG } });
    return { map, centres };
  });
}
