// Open-set kNN scoring (src/osr/knn.ts, scoreOpenSet): per test feature and known class, the sum
// of the k = 3 largest cosine similarities to that class's train features, then max/sum and
// argmax; timed end to end by the wall clock (host grouping of labels and the readback of scores
// included, as a user pays them). Quick: the mnist-mini protocol's size (6 known of 10 classes,
// D = 8w at w = 16); full: CIFAR-10's (6 x 5000 train, 10000 test) with D = 512 (w = 64).
import { tensor } from '../../src/creation.js';
import { Rng } from '../../src/random.js';
import { scoreOpenSet } from '../../src/osr/knn.js';
import { unitRows, type BenchConfig, type Family, type Row } from '../family.js';

const K = 3;
const CLASSES = 6;

function row(train: number, test: number, d: number): Row {
  return {
    family: 'knn',
    name: `score ${CLASSES} classes k${K}`,
    shape: `train[${train},${d}] test[${test},${d}]`,
    flops: 2 * train * test * d,
    bytes: 4 * (train + test) * d,
    bound: 'compute',
    peer: { kind: 'knn', train, test, d, classes: CLASSES, k: K },
    setup: () => {
      const rng = new Rng(61);
      const trainFeats = tensor(unitRows(train, d, rng), [train, d]);
      const testFeats = tensor(unitRows(test, d, rng), [test, d]);
      // Classes in contiguous blocks, as the PyTorch peer slices them.
      const labels = Int32Array.from({ length: train }, (_, j) => Math.floor((j * CLASSES) / train));
      return {
        runAsync: () => scoreOpenSet(trainFeats, labels, testFeats, { k: K, numClasses: CLASSES }),
        dispose: () => [trainFeats, testFeats].forEach((t) => t.dispose()),
      };
    },
  };
}

export const knnFamily: Family = {
  name: 'knn',
  rows: async (cfg: BenchConfig) => [cfg.quick ? row(4800, 2000, 128) : row(30000, 10000, 512)],
};
