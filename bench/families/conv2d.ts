// conv2d (src/ops/conv.ts) at every distinct ResNet18 convolution (bench/family.ts resnetConvs):
// forward, input gradient and weight gradient, each timed alone (the gradients through grad()
// on a recorded forward, so only the targeted gradient's kernel runs). The kernel variant is
// autotuned per pass and shape class. Each row carries `count`, how many of the network's
// convolutions it stands for, so the family's total over ResNet18 is the sum of count x time.
// The stem has no input-gradient row: training never computes it (the images need no gradient,
// and GradMix's attribution stops at layer2.1).
import { grad } from '../../src/autograd.js';
import { randn } from '../../src/creation.js';
import { Rng } from '../../src/random.js';
import { conv2d, convGeometry, convProblem, type ConvVariant } from '../../src/ops/conv.js';
import type { Tensor } from '../../src/tensor.js';
import { tunedWork } from '../tuned.js';
import { convOut, fmtShape, resnetConvs, type ConvPeer, type ConvShape, type Family, type Row, type Work } from '../family.js';

type Pass = ConvPeer['pass'];
const PASSES: readonly Pass[] = ['forward', 'input-grad', 'weight-grad'];

/** One pass of one convolution with inputs x, w (both requiring grad) and a seed dy. */
function passWork(c: ConvShape, pass: Pass, x: Tensor, w: Tensor, dy: Tensor, variant: ConvVariant): Work {
  const options = { stride: c.stride, padding: c.pad, variant };
  if (pass === 'forward') return { run: () => conv2d(x, w, null, options), dispose: () => undefined };
  const y = conv2d(x, w, null, options);
  const target = pass === 'input-grad' ? x : w;
  return { run: () => grad(y, [target], dy), dispose: () => y.dispose() };
}

function row(c: ConvShape, batch: number, w: number, pass: Pass): Row {
  const o = convOut(c);
  const xShape = [batch, c.cin, c.size, c.size];
  const wShape = [c.cout, c.cin, c.k, c.k];
  const yShape = [batch, c.cout, o, o];
  const macs = batch * c.cout * o * o * c.cin * c.k * c.k;
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  return {
    family: 'conv2d',
    name: `${pass} ${c.layer} w${w} B${batch}`,
    shape: `x${fmtShape(xShape)} k${c.k} s${c.stride} -> ${c.cout}x${o}x${o}`,
    flops: 2 * macs,
    bytes: 4 * (size(xShape) + size(wShape) + size(yShape)),
    bound: 'compute',
    count: c.count,
    peer: { kind: 'conv2d', pass, batch, cin: c.cin, h: c.size, w: c.size, cout: c.cout, k: c.k, stride: c.stride, pad: c.pad },
    setup: async () => {
      const rng = new Rng(21);
      const x = randn(xShape, rng, 1, { requiresGrad: true });
      const wt = randn(wShape, rng, Math.sqrt(2 / (c.cout * c.k * c.k)), { requiresGrad: true });
      const dy = randn(yShape, rng);
      const problem = convProblem(pass, convGeometry(x, wt, { stride: c.stride, padding: c.pad }));
      const work = await tunedWork(problem, (variant) => passWork(c, pass, x, wt, dy, variant));
      return { ...work, dispose: () => [work.dispose, () => x.dispose(), () => wt.dispose(), () => dy.dispose()].forEach((f) => f()) };
    },
  };
}

export const convFamily: Family = {
  name: 'conv2d',
  rows: async (cfg) => {
    const rows: Row[] = [];
    for (const w of cfg.widths) {
      for (const batch of cfg.batches) {
        for (const c of resnetConvs(w, cfg.imageSize)) {
          for (const pass of PASSES) if (!(pass === 'input-grad' && c.layer === 'conv1')) rows.push(row(c, batch, w, pass));
        }
      }
    }
    return rows;
  },
};
