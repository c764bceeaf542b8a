// The combined contrastive loss theta * SupCon + lambda * SimCLR (src/losses/contrastive.ts) at
// 2N = 512 anchors (batch 256, two views) and D = 128, as training runs it: forward, and the
// gradient to the features. FLOPs count the similarity product (forward) and the feature-gradient
// product (backward), 2 * (2N)^2 * D each.
import { grad } from '../../src/autograd.js';
import { tensor } from '../../src/creation.js';
import { Rng } from '../../src/random.js';
import { contrastiveLoss, DEFAULT_TAU } from '../../src/losses/contrastive.js';
import { unitRows, type Family, type Row } from '../family.js';

const N = 256;
const D = 128;
const CLASSES = 10;

function row(pass: 'forward' | 'backward'): Row {
  const m = 2 * N;
  return {
    family: 'contrastive',
    name: `${pass} supcon+simclr 2N=${m}`,
    shape: `z[${m},${D}] labels[${N}]`,
    flops: 2 * m * m * D,
    bytes: 4 * (m * D + (pass === 'backward' ? m * D : 0)),
    bound: 'compute',
    peer: { kind: 'contrastive', pass, n: N, d: D, tau: DEFAULT_TAU },
    setup: () => {
      const rng = new Rng(41);
      const z = tensor(unitRows(m, D, rng), [m, D], { requiresGrad: pass === 'backward' });
      const labels = tensor(
        Int32Array.from({ length: N }, () => Math.floor(rng.uniform(0, CLASSES))),
        [N],
        { dtype: 'int32' },
      );
      const forward = () => contrastiveLoss(z, labels);
      const free = () => [z, labels].forEach((t) => t.dispose());
      if (pass === 'forward') return { run: forward, dispose: free };
      const loss = forward();
      return {
        run: () => grad(loss, [z]),
        dispose: () => {
          loss.dispose();
          free();
        },
      };
    },
  };
}

export const contrastiveFamily: Family = {
  name: 'contrastive',
  rows: async () => [row('forward'), row('backward')],
};
