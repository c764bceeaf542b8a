// What a run adds after its evaluation: the open-set recogniser (gallery of the known classes'
// training features and a threshold calibrated on the held-out known images) stored in the
// checkpoint for `predict`, and the context every results.json carries. Nothing here prints: the
// lines a command shows are returned (recogniserLines) for it to print.
import { gpu } from '../../runtime/gpu.js';
import { inputInfo, type OpenSetData } from '../data/open-set.js';
import type { SupConResNet } from '../nn/index.js';
import { OpenSetModel } from '../osr/open-set-model.js';
import { storeOpenSetModel } from '../osr/open-set-file.js';
import type { Tensor } from '../tensor.js';
import { packageVersion } from '../package-version.js';

export interface RecogniserOptions {
  /** kNN neighbours per class. */
  k: number;
  /** The fraction of held-out known images the threshold accepts. */
  tpr: number;
  /** The training images' features when the evaluation already computed them (taken over by the recogniser). */
  galleryFeatures?: Tensor;
}

/** Known class names of a split (class ids where the data set has no names). */
function knownNames(data: OpenSetData): string[] {
  return data.knownClassNames ?? data.knownClasses.map(String);
}

/** Calibrates the recogniser on the split's held-out known images and stores it in `checkpoint`; the caller disposes it. */
export async function storeRecogniser(checkpoint: string, model: SupConResNet, data: OpenSetData, options: RecogniserOptions): Promise<OpenSetModel> {
  const recogniser = await OpenSetModel.calibrate(model, data.train, data.testKnown, {
    classNames: knownNames(data),
    // Every new recogniser says how it shrinks new images (one without the field predates the rule: plain).
    input: { ...inputInfo(data.protocol, data.train), antialias: data.antialias ?? true },
    k: options.k,
    tpr: options.tpr,
    galleryFeatures: options.galleryFeatures,
  });
  try {
    await storeOpenSetModel(checkpoint, recogniser);
  } catch (e) {
    if (!options.galleryFeatures) recogniser.dispose(); // given features stay the caller's, as calibrate leaves them
    throw e;
  }
  return recogniser;
}

/** What a command says after storing a recogniser: its threshold, and how to use it. */
export function recogniserLines(checkpoint: string, recogniser: OpenSetModel, tpr: number, heldOut: number): string[] {
  const percent = `${+(100 * tpr).toFixed(2)}%`;
  return [
    `open-set threshold ${recogniser.threshold.toFixed(4)} (accepts at least ${percent} of ${heldOut} held-out known images) stored in ${checkpoint}`,
    `  classify new images: gradmix predict --checkpoint ${checkpoint} <image files or folders>`,
  ];
}

/** What results.json records besides the metrics: the classes, where and with what it ran, and when. */
export function runContext(data: OpenSetData): Record<string, unknown> {
  return {
    knownClasses: knownNames(data),
    unknownClasses: data.unknownClassNames ?? data.unknownClasses.map(String),
    adapter: gpu().describe(),
    version: packageVersion(),
    time: new Date().toISOString(),
  };
}
