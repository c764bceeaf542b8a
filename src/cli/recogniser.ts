// `eval --calibrate`: the library's recogniser stored in the checkpoint (src/train/recogniser.ts),
// with the lines that say so printed.
import type { OpenSetData } from '../data/open-set.js';
import type { SupConResNet } from '../nn/index.js';
import type { OpenSetModel } from '../osr/open-set-model.js';
import { recogniserLines, storeRecogniser, type RecogniserOptions } from '../train/recogniser.js';

/** Calibrates the recogniser on the split's held-out known images, stores it in `checkpoint` and says so. */
export async function saveRecogniser(checkpoint: string, model: SupConResNet, data: OpenSetData, options: RecogniserOptions): Promise<OpenSetModel> {
  const recogniser = await storeRecogniser(checkpoint, model, data, options);
  for (const line of recogniserLines(checkpoint, recogniser, options.tpr, data.testKnown.n)) console.log(line);
  return recogniser;
}
