// Eval-mode features of unaugmented images, in batches, without recording a graph.
import { gpu } from '../../runtime/gpu.js';
import { tensor } from '../creation.js';
import { noGrad } from '../autograd.js';
import { scope } from '../scope.js';
import * as ops from '../ops/index.js';
import { resizeNormalize, type ViewsOutput } from '../augment/index.js';
import { valuesPerImage, type Dataset } from '../data/dataset.js';
import type { SupConResNet } from '../nn/index.js';
import { Tensor } from '../tensor.js';

export type FeatureKind = 'encoder' | 'head' | 'logits';

export interface FeatureOptions {
  batchSize?: number;
  kind?: FeatureKind;
  /** L2-normalise each row (default: true, except for 'logits'). */
  normalize?: boolean;
}

/**
 * Features [N, D] of every image of `ds`: the encoder's pooled output ('encoder', the default for
 * kNN scoring), the projection head's output ('head'), or the classifier's outputs on the encoder
 * features ('logits', models trained with a ce objective only). The model is put in eval mode and
 * restored afterwards.
 */
export async function extractFeatures(model: SupConResNet, ds: Dataset, transform: ViewsOutput, options: FeatureOptions = {}): Promise<Tensor> {
  if (ds.n === 0) throw new Error('extractFeatures: the data set is empty');
  const batchSize = options.batchSize ?? 256;
  const kind = options.kind ?? 'encoder';
  const normalize = options.normalize ?? kind !== 'logits';
  const wasTraining = model.training;
  model.eval();
  const per = valuesPerImage(ds);
  const parts: Tensor[] = [];
  let result: Tensor | undefined;
  try {
    for (let start = 0; start < ds.n; start += batchSize) {
      const count = Math.min(batchSize, ds.n - start);
      const part = scope(() =>
        noGrad(() => {
          const images = tensor(ds.images.subarray(start * per, (start + count) * per), [count, ds.channels, ds.height, ds.width]);
          const x = resizeNormalize(images, transform);
          const f = kind === 'logits' ? model.classify(model.features(x)) : kind === 'encoder' ? model.features(x) : model.call(x);
          return normalize ? ops.l2Normalize(f) : f;
        }),
      );
      parts.push(part);
      // Bound the queue of recorded work (and the memory it pins) on large sets.
      if (parts.length % 8 === 0) await gpu().sync();
    }
    result = parts.length === 1 ? parts[0] : ops.concat(parts, 0);
    return result;
  } finally {
    model.train(wasTraining);
    // The batches are freed once concatenated, and on a failure (of a batch, or of the device)
    // too; a single batch is the result.
    for (const p of parts) if (p !== result) p.dispose();
  }
}
