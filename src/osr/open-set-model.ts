// A trained open-set recogniser, ready to answer "which known class, or something new?" for new
// images (browser-safe): the encoder, the L2-normalised encoder features of the known classes'
// training images (the gallery of the kNN score, Algorithm 1 of the paper) and a threshold on
// that score calibrated on held-out known images at a chosen true-positive rate (default 95%:
// 95% of known images are accepted). It travels inside the training checkpoint: the gallery as
// `__openset__.*` tensors and the settings as the `openset` metadata, so one .safetensors file
// is the whole recogniser.
import { tensor } from '../creation.js';
import { augmentPreset, type ViewsOutput } from '../augment/index.js';
import { float32Tensor, toFloat32, toInt32, type HostTensor } from '../checkpoint/safetensors.js';
import type { DecodedCheckpoint } from '../checkpoint/checkpoint.js';
import { modelFromDecoded } from '../checkpoint/model-from-checkpoint.js';
import type { Dataset } from '../data/dataset.js';
import type { InputInfo } from '../data/open-set.js';
import type { SupConResNet } from '../nn/index.js';
import type { Tensor } from '../tensor.js';
import { extractFeatures } from './features.js';
import { MAX_K, scoreOpenSet } from './knn.js';
import { checkTpr, thresholdAtTpr } from './metrics.js';

export const OPENSET_GALLERY = '__openset__.gallery';
export const OPENSET_LABELS = '__openset__.labels';
export const OPENSET_METADATA = 'openset';
const FORMAT_VERSION = 1;

/** What the recogniser needs besides its tensors (the `openset` metadata, as JSON). */
export interface OpenSetSettings {
  version: number;
  /** Names of the known classes, by label. */
  classNames: string[];
  /** Neighbours per class of the kNN score. */
  k: number;
  /** Scores at or above it are known. */
  threshold: number;
  /** The fraction of held-out known images the threshold was set to accept when calibrated (it accepts at least this many: ties and whole images round up). */
  tpr: number;
  /** Held-out known images the threshold was calibrated on. */
  calibrationImages: number;
  /** The network's input: new images are fitted to imageSize x imageSize (fit-input.ts) and normalised as `augmentation`'s preset. */
  input: InputInfo;
}

/** Images in [0, 1], planar: n x channels x height x width values. */
export interface ImageBatch {
  images: Float32Array;
  n: number;
  channels: number;
  height: number;
  width: number;
}

export interface OpenSetPrediction {
  /** The nearest known class (argmax of the per-class kNN sums), also for unknown images. */
  classIndex: number;
  className: string;
  /** The kNN score: max_c d_c / sum_c d_c (higher = more like a known class). */
  score: number;
  /** score >= threshold. */
  known: boolean;
  threshold: number;
}

export interface CalibrateOptions {
  /** Names of the known classes, by label. */
  classNames: string[];
  input: InputInfo;
  k?: number;
  /** Default 0.95. */
  tpr?: number;
  batchSize?: number;
  /** The gallery's features when already computed (e.g. by the evaluation): taken over, not copied. */
  galleryFeatures?: Tensor;
}

function evalTransform(input: InputInfo): ViewsOutput {
  return augmentPreset(input.augmentation, input.imageSize);
}

export class OpenSetModel {
  private constructor(
    readonly model: SupConResNet,
    private readonly gallery: Tensor,
    private readonly galleryLabels: Int32Array,
    private readonly settings: OpenSetSettings,
  ) {}

  get classNames(): readonly string[] {
    return this.settings.classNames;
  }
  get threshold(): number {
    return this.settings.threshold;
  }
  get k(): number {
    return this.settings.k;
  }
  get input(): InputInfo {
    return this.settings.input;
  }
  /** A copy of the settings, e.g. for a report. */
  describe(): OpenSetSettings {
    return structuredClone(this.settings);
  }

  /**
   * The recogniser of a trained model: the gallery from `gallery` (labels 0..K-1), the threshold
   * at `tpr` of the kNN scores of `heldOut` (known images the model did not train on).
   */
  static async calibrate(model: SupConResNet, gallery: Dataset, heldOut: Dataset, options: CalibrateOptions): Promise<OpenSetModel> {
    const { classNames, input, k = 3, tpr = 0.95, batchSize } = options;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new Error(`OpenSetModel: k must be an integer in 1..${MAX_K}, got ${k}`);
    checkTpr('OpenSetModel', tpr);
    if (heldOut.n === 0) throw new Error('OpenSetModel: no held-out known images to calibrate the threshold on');
    const features = options.galleryFeatures ?? (await extractFeatures(model, gallery, evalTransform(input), { batchSize }));
    try {
      const settings: OpenSetSettings = { version: FORMAT_VERSION, classNames, k, threshold: Infinity, tpr, calibrationImages: heldOut.n, input };
      const recogniser = new OpenSetModel(model, features, Int32Array.from(gallery.labels), settings);
      const scores = await recogniser.scores(heldOut, batchSize);
      settings.threshold = thresholdAtTpr(scores.scores, tpr);
      return recogniser;
    } catch (e) {
      // Features it extracted itself are its own to free; given ones stay the caller's.
      if (!options.galleryFeatures) features.dispose();
      throw e;
    }
  }

  /** The recogniser stored in a checkpoint by `gradmix train` (after its evaluation) or `gradmix eval --calibrate`. */
  static async fromCheckpoint(decoded: DecodedCheckpoint, source = decoded.source): Promise<OpenSetModel> {
    const json = decoded.metadata[OPENSET_METADATA];
    const galleryHost = decoded.extras.get(OPENSET_GALLERY);
    const labelsHost = decoded.extras.get(OPENSET_LABELS);
    if (json === undefined || !galleryHost || !labelsHost) {
      throw new Error(
        `${source}: holds no open-set recogniser (no '${OPENSET_METADATA}' metadata and ${OPENSET_GALLERY} tensors); gradmix train stores one after its evaluation (train without --no-eval), or store one now: gradmix eval --calibrate --checkpoint ${source}`,
      );
    }
    const settings = parseSettings(json, source);
    const labels = toInt32(labelsHost, `${source}: ${OPENSET_LABELS}`);
    const [n, dim] = galleryHost.shape;
    if (galleryHost.shape.length !== 2 || labels.length !== n || labels.some((l) => l < 0 || l >= settings.classNames.length)) {
      throw new Error(`${source}: ${OPENSET_GALLERY} [${galleryHost.shape}] and ${OPENSET_LABELS} (${labels.length} labels for ${settings.classNames.length} classes) do not fit together`);
    }
    const { model } = await modelFromDecoded(decoded, source);
    model.eval();
    const gallery = tensor(toFloat32(galleryHost, `${source}: ${OPENSET_GALLERY}`), [n, dim]);
    return new OpenSetModel(model, gallery, labels, settings);
  }

  /** The same recogniser with another threshold (e.g. from a stricter TPR); shares the gallery. */
  withThreshold(threshold: number): OpenSetModel {
    if (!Number.isFinite(threshold)) throw new Error(`OpenSetModel: threshold must be a finite number, got ${threshold}`);
    return new OpenSetModel(this.model, this.gallery, this.galleryLabels, { ...this.settings, threshold });
  }

  /**
   * Known-or-unknown for each image. Any size: one of the input size is taken as it is, another is
   * fitted as the training images were (resized, antialiased for own images that were, and padded
   * for MNIST's digits: src/osr/fit-input.ts).
   */
  async predict(images: ImageBatch | Float32Array, shape?: readonly [number, number, number, number], batchSize?: number): Promise<OpenSetPrediction[]> {
    let batch = images instanceof Float32Array ? batchOf(images, shape) : images;
    const { imageSize } = this.settings.input;
    if (batch.height !== imageSize || batch.width !== imageSize) batch = (await import('../optional-code.js')).fitToInput(batch, this.settings.input);
    const { scores, predicted } = await this.scores(batch, batchSize);
    const { threshold, classNames } = this.settings;
    return Array.from(scores, (score, i) => ({ classIndex: predicted[i], className: classNames[predicted[i]], score, known: score >= threshold, threshold }));
  }

  /** kNN scores and nearest classes of images, in batches on the GPU. */
  private async scores(batch: ImageBatch, batchSize = 256) {
    const { input, k, classNames } = this.settings;
    if (batch.channels !== input.channels) {
      throw new Error(`OpenSetModel: the images have ${batch.channels} channel(s), the model takes ${input.channels}`);
    }
    const ds: Dataset = { ...batch, labels: new Int32Array(batch.n) };
    const features = await extractFeatures(this.model, ds, evalTransform(input), { batchSize });
    try {
      return await scoreOpenSet(this.gallery, this.galleryLabels, features, { k, numClasses: classNames.length });
    } finally {
      features.dispose();
    }
  }

  /** The tensors and metadata to store in a checkpoint (encodeCheckpoint's `extras` and `metadata`). */
  async checkpointParts(): Promise<{ extras: Map<string, HostTensor>; metadata: Record<string, string> }> {
    const values = (await this.gallery.data()) as Float32Array;
    const labels = new Uint8Array(this.galleryLabels.buffer.slice(this.galleryLabels.byteOffset, this.galleryLabels.byteOffset + this.galleryLabels.byteLength));
    const extras = new Map<string, HostTensor>([
      [OPENSET_GALLERY, float32Tensor(this.gallery.shape, values)],
      [OPENSET_LABELS, { dtype: 'I32', shape: [this.galleryLabels.length], data: labels }],
    ]);
    return { extras, metadata: { [OPENSET_METADATA]: JSON.stringify(this.settings) } };
  }

  /** Frees the gallery (the model stays: it is the caller's). */
  dispose(): void {
    this.gallery.dispose();
  }
}

function batchOf(images: Float32Array, shape: readonly [number, number, number, number] | undefined): ImageBatch {
  if (!shape) throw new Error("OpenSetModel.predict: pass the images' shape [n, channels, height, width]");
  const [n, channels, height, width] = shape;
  if (images.length !== n * channels * height * width) {
    throw new Error(`OpenSetModel.predict: ${images.length} values do not make images of shape [${shape.join(', ')}]`);
  }
  return { images, n, channels, height, width };
}

function parseSettings(json: string, source: string): OpenSetSettings {
  let s: OpenSetSettings;
  try {
    s = JSON.parse(json) as OpenSetSettings;
  } catch (e) {
    throw new Error(`${source}: metadata '${OPENSET_METADATA}' is not valid JSON (${(e as Error).message})`);
  }
  if (typeof s?.version !== 'number' || s.version > FORMAT_VERSION) {
    throw new Error(`${source}: metadata '${OPENSET_METADATA}' has format version ${s?.version}; this gradmix reads version ${FORMAT_VERSION} (upgrade gradmix)`);
  }
  const ok = Array.isArray(s.classNames) && s.classNames.length >= 1 && Number.isInteger(s.k) && Number.isFinite(s.threshold) && typeof s.input?.imageSize === 'number';
  if (!ok) throw new Error(`${source}: metadata '${OPENSET_METADATA}' lacks classNames, k, threshold or input`);
  return s;
}
