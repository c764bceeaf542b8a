// What `train` (and `eval --calibrate`) add after an evaluation: the open-set recogniser stored in
// the checkpoint for `gradmix predict`, and the context every results.json carries.
import { gpu } from '../../runtime/gpu.js';
import { inputInfo, type OpenSetData } from '../data/open-set.js';
import type { SupConResNet } from '../nn/index.js';
import { OpenSetModel } from '../osr/open-set-model.js';
import { storeOpenSetModel } from '../osr/open-set-file.js';
import type { Tensor } from '../tensor.js';
import { packageVersion } from '../package-version.js';

/** Known class names of a split (class ids where the data set has no names). */
function knownNames(data: OpenSetData): string[] {
  return data.knownClassNames ?? data.knownClasses.map(String);
}

/** Calibrates the recogniser on the split's held-out known images and stores it in `checkpoint`. */
export async function saveRecogniser(
  checkpoint: string, model: SupConResNet, data: OpenSetData, options: { k: number; tpr: number; galleryFeatures?: Tensor },
): Promise<OpenSetModel> {
  const recogniser = await OpenSetModel.calibrate(model, data.train, data.testKnown, {
    classNames: knownNames(data), input: inputInfo(data.protocol, data.train), k: options.k, tpr: options.tpr, galleryFeatures: options.galleryFeatures,
  });
  await storeOpenSetModel(checkpoint, recogniser);
  const percent = `${+(100 * options.tpr).toFixed(2)}%`;
  console.log(`open-set threshold ${recogniser.threshold.toFixed(4)} (accepts ${percent} of ${data.testKnown.n} held-out known images) stored in ${checkpoint}`);
  console.log(`  classify new images: gradmix predict --checkpoint ${checkpoint} <image files or folders>`);
  return recogniser;
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
