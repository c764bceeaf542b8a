// conv2d kernels alone (forward, input gradient, weight gradient) at ResNet18's distinct
// convolutions (bench/family.ts resnetConvs), both variants: wall clock around a drained queue
// (`await gpu().sync()`) after a warm-up run, median of repeats; also process CPU time / wall,
// i.e. how many cores a CPU rasteriser kept busy, and GFLOP/s per busy core (the rate per unit
// of CPU time, steadier than wall clock on a machine shared with other work).
//   node --import tsx bench/conv.ts [--batch 32] [--widths 16,64] [--variants register,tiled]
//     [--repeats 3] [--layers conv1,layer1.0.conv1,...]
import { parseArgs } from 'node:util';
import { destroyGpu, gpu, initGpu } from '../runtime/gpu.js';
import { randn } from '../src/creation.js';
import { Rng } from '../src/random.js';
import { conv2dForward, conv2dInputGrad, conv2dWeightGrad, convGeometry, type ConvGeometry, type ConvVariant } from '../src/ops/conv.js';
import { scope } from '../src/scope.js';
import type { Tensor } from '../src/tensor.js';
import { resnetConvs } from './family.js';
import { median } from './harness.js';

const { values: args } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    widths: { type: 'string', default: '16,64' },
    variants: { type: 'string', default: 'register,tiled' },
    repeats: { type: 'string', default: '3' },
    layers: { type: 'string' },
  },
});
const batch = Number(args.batch);
const widths = args.widths!.split(',').map(Number);
const variants = args.variants!.split(',') as ConvVariant[];
const repeats = Number(args.repeats);
const layers = args.layers?.split(',');

type Pass = 'forward' | 'input-grad' | 'weight-grad';
const PASSES: readonly Pass[] = ['forward', 'input-grad', 'weight-grad'];

function runPass(pass: Pass, x: Tensor, w: Tensor, dy: Tensor, g: ConvGeometry, variant: ConvVariant): Tensor {
  if (pass === 'forward') return conv2dForward(x, w, null, g, variant);
  if (pass === 'input-grad') return conv2dInputGrad(dy, w, g, variant);
  return conv2dWeightGrad(dy, x, g, variant);
}

interface Timing {
  ms: number;
  cores: number;
}

async function time(run: () => void): Promise<Timing> {
  const once = async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    scope(run);
    await gpu().sync();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { ms, cores: (cpu.user + cpu.system) / 1000 / ms };
  };
  await once(); // pipeline compilation, buffer pool
  const runs: Timing[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await once());
  return { ms: median(runs.map((r) => r.ms)), cores: median(runs.map((r) => r.cores)) };
}

await initGpu();
console.log(`adapter: ${gpu().describe()}; default variant: ${gpu().kernelVariant}; batch ${batch}, median of ${repeats} after 1 warm-up`);
const header = ['layer', 'w', 'x', 'k/s', 'pass', ...variants.flatMap((v) => [`${v} ms`, `${v} GFLOP/s`, `${v} cores`, `${v} GFLOP/s/core`])];
console.log(header.join('\t'));
const rng = new Rng(7);
for (const width of widths) {
  for (const c of resnetConvs(width, 32)) {
    if (layers && !layers.includes(c.layer)) continue;
    const x = randn([batch, c.cin, c.size, c.size], rng);
    const w = randn([c.cout, c.cin, c.k, c.k], rng, Math.sqrt(2 / (c.cin * c.k * c.k)));
    const g = convGeometry(x, w, { stride: c.stride, padding: c.pad });
    const dy = randn([batch, c.cout, g.oh, g.ow], rng);
    const flops = 2 * batch * g.cout * g.oh * g.ow * g.cin * g.kh * g.kw;
    for (const pass of PASSES) {
      const cells: string[] = [];
      for (const variant of variants) {
        const t = await time(() => void runPass(pass, x, w, dy, g, variant));
        const rate = flops / t.ms / 1e6;
        cells.push(t.ms.toFixed(1), rate.toFixed(2), t.cores.toFixed(2), (rate / t.cores).toFixed(2));
      }
      console.log([c.layer, width, `${c.cin}x${c.size}x${c.size}->${c.cout}`, `${c.k}/${c.stride}`, pass, ...cells].join('\t'));
    }
    for (const t of [x, w, dy]) t.dispose();
  }
}
destroyGpu();
