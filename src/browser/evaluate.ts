// Open-set evaluation on a seeded subsample of a split, for pages: kNN over all of mnist-mini's
// training images is quick on a GPU but slow on a software adapter, and the demo wants an answer
// in seconds. The scoring itself is src/osr's (features, kNN, metrics), unchanged.
import { epochOrder } from '../data/batches.js';
import { subsetDataset, type Dataset } from '../data/dataset.js';
import { evaluateOpenSet, type Evaluation } from '../osr/evaluate.js';
import type { ViewsOutput } from '../augment/index.js';
import type { SupConResNet } from '../nn/index.js';
import type { OpenSetData } from '../data/open-set.js';

export interface SubsampleSizes {
  /** Training images per known class (the kNN reference set). */
  trainPerClass: number;
  /** Known and unknown test images. */
  testKnown: number;
  testUnknown: number;
  seed?: number;
}

/** `count` images of `ds` chosen by a seeded permutation, kept in data set order. */
function sample(ds: Dataset, count: number, seed: number, salt: number): Dataset {
  if (count >= ds.n) return ds;
  return subsetDataset(ds, epochOrder(ds.n, seed, salt).slice(0, count).sort());
}

/** The first `perClass` images of each class in a seeded order (every class keeps neighbours). */
function samplePerClass(ds: Dataset, perClass: number, seed: number): Dataset {
  const taken = new Map<number, number>();
  const picked: number[] = [];
  for (const i of epochOrder(ds.n, seed, -2)) {
    const c = ds.labels[i];
    const n = taken.get(c) ?? 0;
    if (n < perClass) {
      taken.set(c, n + 1);
      picked.push(i);
    }
  }
  return subsetDataset(ds, Int32Array.from(picked).sort());
}

export function subsampleOpenSet(data: OpenSetData, sizes: SubsampleSizes): OpenSetData {
  const seed = sizes.seed ?? 0;
  return {
    ...data,
    train: samplePerClass(data.train, sizes.trainPerClass, seed),
    testKnown: sample(data.testKnown, sizes.testKnown, seed, -3),
    testUnknown: sample(data.testUnknown, sizes.testUnknown, seed, -4),
  };
}

/** AUROC and the other metrics of docs/OPEN-SET.md section 4 on a subsample (counts are in the result). */
export function evaluateSubsample(model: SupConResNet, data: OpenSetData, transform: ViewsOutput, sizes: SubsampleSizes, k = 3): Promise<Evaluation> {
  return evaluateOpenSet(model, subsampleOpenSet(data, sizes), transform, { k, batchSize: 128 });
}
