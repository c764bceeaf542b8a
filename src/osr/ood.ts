// Out-of-distribution detection (paper section 4.3): a model trained on every class of one data
// set scores that set's test images (in-distribution, the positives) against the test images of
// other sets (out-of-distribution, the negatives) with the kNN score of docs/OPEN-SET.md section 2: train
// features of all in-distribution classes, per class the sum of the k largest cosine
// similarities, score = max_c d_c / sum_c d_c. Metrics per out-set: TNR at 95% TPR, AUROC, DTACC,
// AUIN, AUOUT (src/osr/metrics.ts defines them).
//
// Out-of-distribution images are converted to the in-distribution image shape on the host, before
// the evaluation transform (which normalises with the in-set's statistics):
// - channels: equal -> unchanged; 1 -> 3 replicates the gray plane into R, G and B (torchvision's
//   Grayscale(3), PIL's convert('RGB')); 3 -> 1 is the ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B
//   (PIL's convert('L'), as the image-folder loader decodes gray); any other pair is an error.
// - size ('resize' option): 'bilinear' (default) resamples with half-pixel centres
//   (align_corners=False, no antialiasing; e.g. TinyImageNet 64x64 -> 32x32 averages 2x2 blocks);
//   'antialias' is torchvision's Resize (the triangle widened when shrinking: 64 -> 32 weighs
//   4x4 blocks 1/8, 3/8, 3/8, 1/8 per axis, normalised at the edges; growing, as 'bilinear');
//   'pad' zero-pads (black) a smaller image and centre-crops a larger one, per axis, with the
//   extra pixel of an odd difference at the bottom/right; 'none' refuses a size mismatch.
import type { ViewsOutput } from '../augment/index.js';
import { resizeEach } from '../data/resize.js';
import type { Dataset } from '../data/dataset.js';
import type { SupConResNet } from '../nn/index.js';
import type { Tensor } from '../tensor.js';
import { extractFeatures, type FeatureKind } from './features.js';
import { scoreOpenSet, type OpenSetScores } from './knn.js';
import { openSetMetrics } from './metrics.js';

/** The detection metrics of the paper's OOD table, fractions in [0, 1]. */
export interface OodMetrics {
  tnr95: number;
  auroc: number;
  dtacc: number;
  auin: number;
  auout: number;
}

/** Table order and labels (the paper's columns). */
export const OOD_METRIC_LABELS: Record<keyof OodMetrics, string> = {
  tnr95: 'TNR@95TPR',
  auroc: 'AUROC',
  dtacc: 'DTACC',
  auin: 'AUIN',
  auout: 'AUOUT',
};

export const RESIZE_RULES = ['bilinear', 'antialias', 'pad', 'none'] as const;
export type ResizeRule = (typeof RESIZE_RULES)[number];

export type ImageShape = Pick<Dataset, 'channels' | 'height' | 'width'>;

const shapeText = (s: ImageShape) => `${s.channels}x${s.height}x${s.width}`;

/** Luma weights of ITU-R 601 (what PIL's convert('L') and toPlanar use). */
const LUMA = [0.299, 0.587, 0.114];

const channelsError = (from: number, to: number, what: string) => `${what}: cannot convert ${from}-channel images to ${to} channels (only 1 <-> 3 is defined)`;

/** Whether images of `from` channels can be converted to `to` (the same, grey to RGB, RGB to luma). */
const channelsConvert = (from: number, to: number) => from === to || (from === 1 && to === 3) || (from === 3 && to === 1);

function convertChannels(ds: Dataset, channels: number, what: string): Dataset {
  if (!channelsConvert(ds.channels, channels)) throw new Error(channelsError(ds.channels, channels, what));
  if (ds.channels === channels) return ds;
  const plane = ds.height * ds.width;
  const images = new Float32Array(ds.n * channels * plane);
  if (ds.channels === 1 && channels === 3) {
    for (let i = 0; i < ds.n; i++) {
      const src = ds.images.subarray(i * plane, (i + 1) * plane);
      for (let c = 0; c < 3; c++) images.set(src, (i * 3 + c) * plane);
    }
  } else {
    for (let i = 0; i < ds.n; i++) {
      for (let p = 0; p < plane; p++) {
        const at = i * 3 * plane + p;
        images[i * plane + p] = LUMA[0] * ds.images[at] + LUMA[1] * ds.images[at + plane] + LUMA[2] * ds.images[at + 2 * plane];
      }
    }
  }
  return { ...ds, images, channels };
}

/**
 * Source index of output index 0 along one axis, centred: negative pads, positive crops. trunc
 * puts the extra pixel of an odd difference at the bottom/right both ways (torchvision's
 * CenterCrop padding does the same).
 */
const centreOffset = (from: number, to: number) => Math.trunc((from - to) / 2);

function padOrCrop(ds: Dataset, height: number, width: number): Dataset {
  const { n, channels: c, height: h, width: w } = ds;
  const dy = centreOffset(h, height);
  const dx = centreOffset(w, width);
  const images = new Float32Array(n * c * height * width);
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < height; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= h) continue;
      const x0 = Math.max(0, -dx);
      const x1 = Math.min(width, w - dx);
      const src = (plane * h + sy) * w + dx;
      images.set(ds.images.subarray(src + x0, src + x1), (plane * height + y) * width + x0);
    }
  }
  return { ...ds, images, height, width };
}

/** (after checkConversion) */
function resize(ds: Dataset, height: number, width: number, rule: ResizeRule): Dataset {
  if (ds.height === height && ds.width === width) return ds;
  if (rule === 'pad') return padOrCrop(ds, height, width);
  return { ...ds, images: resizeEach(ds.images, ds.n, ds.channels, ds.height, ds.width, height, width, rule === 'antialias'), height, width };
}

/**
 * Throws what convertImages would for images of shape `from`, without touching pixels: a caller
 * checks every set this way before the GPU work and converts each only when its turn comes.
 */
export function checkConversion(from: ImageShape, to: ImageShape, rule: ResizeRule, what = 'out-of-distribution set'): void {
  if (!(RESIZE_RULES as readonly string[]).includes(rule)) throw new Error(`unknown resize rule '${rule}'; use one of ${RESIZE_RULES.join(', ')}`);
  if (!channelsConvert(from.channels, to.channels)) throw new Error(channelsError(from.channels, to.channels, what));
  if (rule === 'none' && (from.height !== to.height || from.width !== to.width)) {
    throw new Error(`${what}: images are ${from.height}x${from.width}, the in-distribution set's ${to.height}x${to.width}; choose a resize rule (bilinear, antialias or pad) to convert them`);
  }
}

/** `ds` converted to the image shape `to` by the rules at the top of this file (a no-op when equal). */
export function convertImages(ds: Dataset, to: ImageShape, rule: ResizeRule = 'bilinear', what = 'out-of-distribution set'): Dataset {
  checkConversion(ds, to, rule, what);
  return resize(convertChannels(ds, to.channels, what), to.height, to.width, rule);
}

/** Detection metrics of in-distribution scores (positives) against out-of-distribution ones. */
export function oodMetrics(inScores: ArrayLike<number>, outScores: ArrayLike<number>): OodMetrics {
  const n = inScores.length + outScores.length;
  const scores = new Float64Array(n);
  scores.set(inScores, 0);
  scores.set(outScores, inScores.length);
  const isIn = new Uint8Array(n).fill(1, 0, inScores.length);
  // Classification does not enter the five detection metrics: every prediction counts as right.
  const zeros = new Int32Array(n);
  const { tnr95, auroc, dtacc, auin, auout } = openSetMetrics(scores, isIn, zeros, zeros);
  return { tnr95, auroc, dtacc, auin, auout };
}

export interface OodScoreOptions {
  k?: number;
  /** In-distribution classes (default: largest train label + 1). */
  numClasses?: number;
}

export interface OodScores {
  /** kNN scores and predictions of the in-distribution test features. */
  in: OpenSetScores;
  /** Per out-set, in the order given: its scores and the metrics against the in-set. */
  out: { scores: Float32Array; metrics: OodMetrics }[];
}

/** The kNN scores and metrics from features (L2-normalised [N, D] tensors). */
export async function scoreOutOfDistribution(trainFeats: Tensor, trainLabels: ArrayLike<number>, inFeats: Tensor, outFeats: readonly Tensor[], options: OodScoreOptions = {}): Promise<OodScores> {
  const knn = { k: options.k ?? 3, numClasses: options.numClasses };
  const inScores = await scoreOpenSet(trainFeats, trainLabels, inFeats, knn);
  const out: OodScores['out'] = [];
  for (const f of outFeats) {
    const { scores } = await scoreOpenSet(trainFeats, trainLabels, f, knn);
    out.push({ scores, metrics: oodMetrics(inScores.scores, scores) });
  }
  return { in: inScores, out };
}

export interface OodSet {
  name: string;
  data: Dataset;
}

export interface OodEvaluateOptions extends OodScoreOptions {
  batchSize?: number;
  features?: FeatureKind;
  /** How out-set images of another size are brought to the in-set's (default 'bilinear'). */
  resize?: ResizeRule;
}

export interface OodSetResult {
  name: string;
  /** The out-set's image shape before conversion, e.g. "1x32x32". */
  shape: string;
  n: number;
  metrics: OodMetrics;
  scores: Float32Array;
}

export interface OodEvaluation {
  /** Fraction of in-distribution test images whose kNN class is their label. */
  inAccuracy: number;
  inScores: Float32Array;
  /** The in-distribution images' shape, e.g. "3x32x32" (what each out-set is converted to). */
  inShape: string;
  counts: { train: number; testIn: number };
  out: OodSetResult[];
}

/**
 * Evaluates OOD detection of `model` on eval-mode features: `train` and `testIn` are the
 * in-distribution train and test images (labels 0..C-1), each out-set is converted to their
 * image shape first. Out-set features are extracted and scored one set at a time.
 */
export async function evaluateOutOfDistribution(
  model: SupConResNet,
  data: { train: Dataset; testIn: Dataset; outSets: readonly OodSet[] },
  transform: ViewsOutput,
  options: OodEvaluateOptions = {},
): Promise<OodEvaluation> {
  const { train, testIn, outSets } = data;
  if (train.n === 0 || testIn.n === 0) throw new Error(`ood: need in-distribution train and test images; got ${train.n} train and ${testIn.n} test`);
  if (outSets.length === 0) throw new Error('ood: no out-of-distribution set given');
  if (testIn.channels !== train.channels || testIn.height !== train.height || testIn.width !== train.width) {
    throw new Error(`ood: in-distribution test images are ${shapeText(testIn)}, its train images ${shapeText(train)}`);
  }
  for (const s of outSets) if (s.data.n === 0) throw new Error(`ood: out-of-distribution set ${s.name} has no images`);
  const rule = options.resize ?? 'bilinear';
  const what = (s: OodSet) => `out-of-distribution set ${s.name}`;
  // Checked up front, so a shape that cannot be converted fails before any feature is computed;
  // converted one set at a time below (an upsampled copy of a large set is hundreds of MB).
  for (const s of outSets) checkConversion(s.data, train, rule, what(s));
  const extract = { batchSize: options.batchSize ?? 256, kind: options.features ?? 'encoder' };
  const knn = { k: options.k ?? 3, numClasses: options.numClasses };
  const held: Tensor[] = [];
  const hold = (t: Tensor) => (held.push(t), t);
  try {
    const trainF = hold(await extractFeatures(model, train, transform, extract));
    const inF = hold(await extractFeatures(model, testIn, transform, extract));
    const inScores = await scoreOpenSet(trainF, train.labels, inF, knn);
    let correct = 0;
    for (let i = 0; i < testIn.n; i++) if (inScores.predicted[i] === testIn.labels[i]) correct++;
    const out: OodSetResult[] = [];
    for (const s of outSets) {
      const outF = await extractFeatures(model, convertImages(s.data, train, rule, what(s)), transform, extract);
      try {
        const { scores } = await scoreOpenSet(trainF, train.labels, outF, knn);
        out.push({ name: s.name, shape: shapeText(s.data), n: s.data.n, metrics: oodMetrics(inScores.scores, scores), scores });
      } finally {
        outF.dispose();
      }
    }
    return { inAccuracy: correct / testIn.n, inScores: inScores.scores, inShape: shapeText(train), counts: { train: train.n, testIn: testIn.n }, out };
  } finally {
    for (const t of held) t.dispose();
  }
}
