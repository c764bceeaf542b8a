// batchNorm2d (src/ops/batchnorm.ts) in training mode with the fused ReLU, as ResNet18's bn1
// layers run it, at each stage's activation shape: forward (statistics, running-stat update,
// normalise) and backward (input, weight and bias gradients). Memory-bound: the minimal traffic
// is one read of x and one write of y forward; reads of x and dy and a write of dx backward.
import { grad } from '../../src/autograd.js';
import { randn } from '../../src/creation.js';
import { Rng } from '../../src/random.js';
import { batchNorm2d } from '../../src/ops/batchnorm.js';
import { fill } from '../../src/ops/elementwise.js';
import { fmtShape, stageOutputs, type BenchConfig, type Family, type Row } from '../family.js';

type Pass = 'forward' | 'backward';

function row(shape: [number, number, number, number], layer: string, w: number, pass: Pass): Row {
  const [B, C, H, W] = shape;
  const n = B * C * H * W;
  return {
    family: 'batchnorm',
    name: `${pass} ${layer} w${w} B${B}`,
    shape: fmtShape(shape),
    bytes: 4 * n * (pass === 'forward' ? 2 : 3),
    bound: 'memory',
    peer: { kind: 'batchnorm', pass, shape, relu: true },
    setup: () => {
      const rng = new Rng(31);
      const x = randn(shape, rng, 1, { requiresGrad: pass === 'backward' });
      const weight = fill([C], 1);
      const bias = fill([C], 0);
      weight.requiresGrad = bias.requiresGrad = pass === 'backward';
      const mean = fill([C], 0);
      const variance = fill([C], 1);
      const forward = () => batchNorm2d(x, weight, bias, mean, variance, { training: true, relu: true });
      const inputs = [x, weight, bias, mean, variance];
      const free = () => inputs.forEach((t) => t.dispose());
      if (pass === 'forward') return { run: forward, dispose: free };
      const y = forward();
      const dy = randn(shape, rng);
      return {
        run: () => grad(y, [x, weight, bias], dy),
        dispose: () => {
          y.dispose();
          dy.dispose();
          free();
        },
      };
    },
  };
}

export const batchnormFamily: Family = {
  name: 'batchnorm',
  rows: async (cfg: BenchConfig) => {
    const rows: Row[] = [];
    for (const w of cfg.widths) {
      for (const batch of cfg.batches) {
        for (const { layer, shape } of stageOutputs(w, cfg.imageSize, batch)) {
          for (const pass of ['forward', 'backward'] as const) rows.push(row(shape, layer, w, pass));
        }
      }
    }
    return rows;
  },
};
