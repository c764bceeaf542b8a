// GradMix patch pasting (src/gradmix/mix.ts, gradMix): per image a gamma, a box around its
// LayerCAM centre and the partner's view resized into it (docs/TRAINING.md section 4), as training calls
// it: host-side sampling, the plan's upload and one dispatch. Memory-bound: one read and one
// write of the batch.
import { rand, tensor } from '../../src/creation.js';
import { Rng } from '../../src/random.js';
import { gradMix } from '../../src/gradmix/mix.js';
import { fmtShape, type BenchConfig, type Family, type Row } from '../family.js';

function row(batch: number, channels: number, size: number): Row {
  const shape = [batch, channels, size, size];
  const n = batch * channels * size * size;
  return {
    family: 'paste',
    name: `gradmix partner fill B${batch} C${channels}`,
    shape: fmtShape(shape),
    bytes: 4 * 2 * n,
    bound: 'memory',
    setup: () => {
      const rng = new Rng(81);
      const x = rand(shape, rng);
      const centres = tensor(
        Int32Array.from({ length: batch }, () => Math.floor(rng.uniform(0, size * size))),
        [batch],
        { dtype: 'int32' },
      );
      return {
        run: () => gradMix(x, centres, rng),
        dispose: () => [x, centres].forEach((t) => t.dispose()),
      };
    },
  };
}

export const pasteFamily: Family = {
  name: 'paste',
  // Pasting does not depend on the network width; C = 1 (MNIST) and 3 (CIFAR).
  rows: async (cfg: BenchConfig) => cfg.batches.flatMap((b) => [row(b, 1, cfg.imageSize), row(b, 3, cfg.imageSize)]),
};
