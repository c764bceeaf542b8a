// Host-side sampling of per-image augmentation parameters, following torchvision's sampling
// algorithms (RandomResizedCrop.get_params, RandomHorizontalFlip, RandomApply(ColorJitter),
// ColorJitter.get_params, RandomGrayscale) with the seeded Rng, and their packing into the small
// float buffer that kernels/augment.wgsl reads. Draws happen only for transforms that are
// configured (a zero probability or a missing jitter draws nothing), so a config fixes the stream.
// As torchvision does for 1-channel images, saturation, hue and grayscale leave them unchanged.
import type { Rng } from '../random.js';
import { MNIST_MEAN, MNIST_STD } from '../data/mnist-digits.js';

/** A crop box in input pixels (torchvision's i, j, h, w). */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

export type JitterOp = 'brightness' | 'contrast' | 'saturation' | 'hue';

/** One colour-jitter step: brightness/contrast/saturation factors, or the hue shift. */
export interface JitterStep {
  op: JitterOp;
  factor: number;
}

/** Everything random about one view of one image. */
export interface ViewParams {
  crop: CropBox;
  flip: boolean;
  /** Jitter steps in the order applied; empty when jitter is off or RandomApply skipped it. */
  jitter: JitterStep[];
  grayscale: boolean;
}

/** A jitter strength as torchvision takes it: x gives [1 - x, 1 + x] (hue: [-x, x]), or a range. */
export type JitterAmount = number | readonly [number, number];

export interface ColorJitterConfig {
  brightness: JitterAmount;
  contrast: JitterAmount;
  saturation: JitterAmount;
  hue: JitterAmount;
  /** Probability of applying the jitter at all (SimCLR's RandomApply). */
  p: number;
}

export interface AugmentConfig {
  /** Output size: a square side or [height, width]. */
  size: number | readonly [number, number];
  /** RandomResizedCrop area fraction range. */
  scale: readonly [number, number];
  /** RandomResizedCrop aspect-ratio range (sampled log-uniformly). */
  ratio: readonly [number, number];
  /** Horizontal flip probability. */
  flip: number;
  jitter: ColorJitterConfig | null;
  /** Random grayscale probability. */
  grayscale: number;
  /** Per-channel normalisation (one entry per image channel). */
  mean: readonly number[];
  std: readonly number[];
}

/** Floats per output image in the packed parameter buffer (see kernels/augment.wgsl). */
export const PARAMS_PER_VIEW = 16;
const JITTER_OPS: readonly JitterOp[] = ['brightness', 'contrast', 'saturation', 'hue'];
const MAX_CROP_TRIES = 10;

export function outputSize(size: AugmentConfig['size']): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new Error(`augment: output size ${JSON.stringify(size)} must be positive integers`);
  return [h, w];
}

/** Python's round(): halves go to the even neighbour (torchvision rounds crop sides with it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** RandomResizedCrop.get_params: up to 10 tries at a box of the sampled area and ratio, then the centre-crop fallback. */
export function sampleCrop(rng: Rng, height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number]): CropBox {
  if (!(scale[0] > 0 && scale[0] <= scale[1])) throw new Error(`augment: crop scale range [${scale}] must satisfy 0 < lo <= hi`);
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw new Error(`augment: crop ratio range [${ratio}] must satisfy 0 < lo <= hi`);
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) throw new Error(`augment: cannot crop a ${height}x${width} image`);
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let t = 0; t < MAX_CROP_TRIES; t++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  // max(1, ...): torchvision would return an empty box for images a pixel or two wide.
  if (inRatio < ratio[0]) h = Math.max(1, roundHalfEven(w / ratio[0]));
  else if (inRatio > ratio[1]) w = Math.max(1, roundHalfEven(h * ratio[1]));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** torchvision's ColorJitter._check_input: the factor range, or null when the step is a no-op. */
export function jitterRange(op: JitterOp, amount: JitterAmount): [number, number] | null {
  const centre = op === 'hue' ? 0 : 1;
  let range: [number, number];
  if (typeof amount === 'number') {
    if (amount < 0) throw new Error(`augment: ${op} jitter ${amount} must be non-negative`);
    range = op === 'hue' ? [-amount, amount] : [Math.max(0, 1 - amount), 1 + amount];
  } else range = [amount[0], amount[1]];
  if (!(range[0] <= range[1])) throw new Error(`augment: ${op} jitter range [${range}] is empty`);
  if (op === 'hue' && (range[0] < -0.5 || range[1] > 0.5)) throw new Error(`augment: hue jitter range [${range}] must lie within [-0.5, 0.5]`);
  if (op !== 'hue' && range[0] < 0) throw new Error(`augment: ${op} jitter range [${range}] must be non-negative`);
  return range[0] === centre && range[1] === centre ? null : range;
}

/** ColorJitter.get_params: a random order of the four steps, then a factor for each enabled one. */
function sampleJitter(rng: Rng, cfg: ColorJitterConfig): JitterStep[] {
  const order = [0, 1, 2, 3];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const factors = JITTER_OPS.map((op) => {
    const range = jitterRange(op, cfg[op]);
    return range ? rng.uniform(range[0], range[1]) : null;
  });
  const steps: JitterStep[] = [];
  for (const k of order) {
    const factor = factors[k];
    if (factor !== null) steps.push({ op: JITTER_OPS[k], factor });
  }
  return steps;
}

/** Throws a clear error for a config the sampler or the kernel cannot honour. */
export function checkConfig(cfg: AugmentConfig): void {
  outputSize(cfg.size);
  if (!(cfg.scale[0] > 0 && cfg.scale[0] <= cfg.scale[1])) throw new Error(`augment: crop scale range [${cfg.scale}] must satisfy 0 < lo <= hi`);
  if (!(cfg.ratio[0] > 0 && cfg.ratio[0] <= cfg.ratio[1])) throw new Error(`augment: crop ratio range [${cfg.ratio}] must satisfy 0 < lo <= hi`);
  const probabilities: [string, number][] = [
    ['flip', cfg.flip],
    ['grayscale', cfg.grayscale],
    ['jitter', cfg.jitter?.p ?? 0],
  ];
  for (const [name, p] of probabilities) if (!(p >= 0 && p <= 1)) throw new Error(`augment: ${name} probability ${p} must lie in [0, 1]`);
  if (cfg.jitter) for (const op of JITTER_OPS) jitterRange(op, cfg.jitter[op]);
  if (cfg.mean.length !== cfg.std.length) throw new Error(`augment: ${cfg.mean.length} mean values but ${cfg.std.length} std values`);
}

/** One view of one height x width image, drawn as torchvision's SimCLR pipeline would. */
export function sampleView(rng: Rng, height: number, width: number, cfg: AugmentConfig): ViewParams {
  const crop = sampleCrop(rng, height, width, cfg.scale, cfg.ratio);
  const flip = cfg.flip > 0 && rng.uniform() < cfg.flip;
  // RandomApply skips the transform when p < rand.
  const jitter = cfg.jitter && cfg.jitter.p > 0 && !(cfg.jitter.p < rng.uniform()) ? sampleJitter(rng, cfg.jitter) : [];
  const grayscale = cfg.grayscale > 0 && rng.uniform() < cfg.grayscale;
  return { crop, flip, jitter, grayscale };
}

/** `views` views of each of `batch` images; entry v * batch + b is view v of image b. Draws image by image. */
export function sampleViews(rng: Rng, batch: number, height: number, width: number, cfg: AugmentConfig, views = 2): ViewParams[] {
  const out = new Array<ViewParams>(batch * views);
  for (let b = 0; b < batch; b++) for (let v = 0; v < views; v++) out[v * batch + b] = sampleView(rng, height, width, cfg);
  return out;
}

/** The deterministic eval view: the whole image, no flip, jitter or grayscale. */
export function wholeImageViews(batch: number, height: number, width: number): ViewParams[] {
  return Array.from({ length: batch }, () => ({ crop: { top: 0, left: 0, height, width }, flip: false, jitter: [], grayscale: false }));
}

/**
 * Packs views for the kernel, PARAMS_PER_VIEW floats each: top, left, height, width, flip,
 * grayscale, step count, (unused), then (op, factor) for up to four jitter steps (op: index in
 * brightness, contrast, saturation, hue).
 */
export function packViews(views: readonly ViewParams[]): Float32Array {
  const buf = new Float32Array(views.length * PARAMS_PER_VIEW);
  views.forEach((v, n) => {
    const o = n * PARAMS_PER_VIEW;
    buf.set([v.crop.top, v.crop.left, v.crop.height, v.crop.width, v.flip ? 1 : 0, v.grayscale ? 1 : 0, v.jitter.length, 0], o);
    v.jitter.forEach((s, k) => buf.set([JITTER_OPS.indexOf(s.op), s.factor], o + 8 + 2 * k));
  });
  return buf;
}

/** Throws a clear error naming the first view whose parameters the kernel cannot honour. */
export function checkViews(views: readonly ViewParams[], height: number, width: number): void {
  views.forEach((v, n) => {
    const { top, left, height: h, width: w } = v.crop;
    if (![top, left, h, w].every(Number.isInteger) || top < 0 || left < 0 || h < 1 || w < 1 || top + h > height || left + w > width) {
      throw new Error(`augment: view ${n} crop box ${JSON.stringify(v.crop)} is not inside the ${height}x${width} image`);
    }
    if (v.jitter.length > JITTER_OPS.length) throw new Error(`augment: view ${n} has ${v.jitter.length} jitter steps (at most ${JITTER_OPS.length})`);
    for (const s of v.jitter) {
      if (!JITTER_OPS.includes(s.op)) throw new Error(`augment: view ${n} has unknown jitter step '${s.op}'`);
      if (s.op === 'hue' ? Math.abs(s.factor) > 0.5 : !(s.factor >= 0)) throw new Error(`augment: view ${n} ${s.op} factor ${s.factor} is out of range`);
    }
  });
}

/** MNIST (docs/TRAINING.md section 6): RandomResizedCrop(32, scale 0.6-1.0, ratio 3/4-4/3), no flips, no colour. */
export const MNIST_AUGMENT: AugmentConfig = {
  size: 32,
  scale: [0.6, 1],
  ratio: [3 / 4, 4 / 3],
  flip: 0,
  jitter: null,
  grayscale: 0,
  mean: [MNIST_MEAN],
  std: [MNIST_STD],
};

/**
 * SimCLR's CIFAR recipe as in the SupCon code: RandomResizedCrop(32, scale (0.2, 1)), flip 0.5,
 * RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), p 0.8), RandomGrayscale(0.2), and that code's CIFAR mean/std.
 */
export const CIFAR_AUGMENT: AugmentConfig = {
  size: 32,
  scale: [0.2, 1],
  ratio: [3 / 4, 4 / 3],
  flip: 0.5,
  jitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 },
  grayscale: 0.2,
  mean: [0.4914, 0.4822, 0.4465],
  std: [0.2023, 0.1994, 0.201],
};

export const AUGMENT_PRESETS = { mnist: MNIST_AUGMENT, cifar: CIFAR_AUGMENT } as const;
export type AugmentPreset = keyof typeof AUGMENT_PRESETS;

/**
 * A preset by name; `size` overrides its output size (the presets are written for 32x32, while
 * e.g. TinyImageNet trains at 64x64: views keep the data's resolution).
 */
export function augmentPreset(name: string, size?: AugmentConfig['size']): AugmentConfig {
  if (!(name in AUGMENT_PRESETS)) throw new Error(`augment: unknown preset '${name}'; known: ${Object.keys(AUGMENT_PRESETS).join(', ')}`);
  const preset = AUGMENT_PRESETS[name as AugmentPreset];
  return size === undefined ? preset : { ...preset, size };
}
