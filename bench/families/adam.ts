// One Adam step (src/optim/adam.ts) over the parameters of the SupCon ResNet18 (encoder and
// projection head, src/nn/resnet.ts) at each width: one fused dispatch per parameter tensor.
// Memory-bound: per element it reads param, grad and both moments and writes param and moments.
import { randn } from '../../src/creation.js';
import { Rng } from '../../src/random.js';
import { SupConResNet } from '../../src/nn/resnet.js';
import { Adam } from '../../src/optim/adam.js';
import { keep } from '../../src/scope.js';
import type { BenchConfig, Family, Row } from '../family.js';

function row(width: number, shapes: number[][]): Row {
  const count = shapes.reduce((s, sh) => s + sh.reduce((p, d) => p * d, 1), 0);
  return {
    family: 'adam',
    name: `step resnet18 w${width}`,
    shape: `${shapes.length} tensors, ${(count / 1e6).toFixed(2)}M params`,
    bytes: 4 * 7 * count,
    bound: 'memory',
    peer: { kind: 'adam', shapes },
    setup: () => {
      const rng = new Rng(51);
      const model = new SupConResNet(rng, { width });
      const params = model.parameters();
      for (const p of params) p.grad = keep(randn(p.shape, rng, 1e-2));
      const adam = new Adam(params, { lr: 1e-3 });
      return {
        run: () => adam.step(),
        dispose: () => {
          adam.zeroGrad();
          adam.dispose();
          model.dispose();
        },
      };
    },
  };
}

export const adamFamily: Family = {
  name: 'adam',
  rows: async (cfg: BenchConfig) =>
    cfg.widths.map((w) => {
      const model = new SupConResNet(new Rng(0), { width: w });
      const shapes = model.parameters().map((p) => [...p.shape]);
      model.dispose();
      return row(w, shapes);
    }),
};
