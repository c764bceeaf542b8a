// GPU memory of training (issue 8 item 5), from the buffer pool's statistics (gpu().memory()):
// the peak of live bytes during one GradMix training step of ResNet18 at widths 16 and 64 (full:
// batch 256; quick: batch 8), and whether live bytes and GPU buffer allocations stay flat over
// 100 steps (quick: a width-8 model at batch 8; the first --width and --batch where given). Live
// bytes are pool size classes (up to 25% over the tensors' own sizes); released buffers stay in
// the pool for reuse (process-wide, so its size says more about the rows before than about this one).
import { gpu } from '../../runtime/gpu.js';
import { SupConResNet } from '../../src/nn/resnet.js';
import { Adam } from '../../src/optim/index.js';
import { Rng } from '../../src/random.js';
import { resolveOptions } from '../../src/train/options.js';
import { TrainStep } from '../../src/train/step.js';
import { autotuneTraining } from '../../src/train/autotune.js';
import type { Family, Row } from '../family.js';

const DATA = { channels: 3, height: 32, width: 32 };
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * A GradMix training step of ResNet18 at this width and batch, on random CIFAR-shaped data;
 * `base`: the bytes live before it was made (whatever earlier rows left live), to subtract.
 */
async function makeStep(width: number, batch: number) {
  const base = gpu().memory().bytesLive;
  const o = resolveOptions({ protocol: 'cifar10', width, batchSize: batch, method: 'gradmix', progress: false, evaluate: false });
  const model = new SupConResNet(new Rng(0), { width, inChannels: DATA.channels });
  const step = new TrainStep(model, o, 'cifar', DATA);
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const rng = new Rng(2);
  const images = Float32Array.from({ length: batch * 3 * 32 * 32 }, () => rng.uniform());
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 6);
  await autotuneTraining(model, o, DATA);
  let n = 0;
  return {
    base,
    run: () => step.run(images, labels, optimizer, new Rng(100 + n++)),
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
  };
}

function peakRow(width: number, batch: number): Row {
  return {
    family: 'memory',
    name: `peak step resnet18 w${width} B${batch} gradmix`,
    shape: `2x[${batch},3,32,32]`,
    bound: 'memory',
    timing: { warmup: 1, repeats: 2, minRepeats: 1, budgetMs: 0 },
    setup: async () => {
      const step = await makeStep(width, batch);
      const pool = gpu().pool;
      let peak = 0;
      let rest = 0;
      return {
        runAsync: async () => {
          rest = gpu().memory().bytesLive - step.base;
          pool.resetPeak();
          await step.run();
          peak = Math.max(peak, gpu().memory().peakBytesLive - step.base);
        },
        dispose: step.dispose,
        summary: () => `peak live ${mib(peak)} during a step, ${mib(rest)} live between steps (parameters, Adam moments, batch-norm buffers)`,
      };
    },
  };
}

function flatRow(width: number, batch: number, steps: number): Row {
  return {
    family: 'memory',
    name: `flat ${steps} steps resnet18 w${width} B${batch} gradmix`,
    shape: `2x[${batch},3,32,32]`,
    bound: 'memory',
    timing: { warmup: 0, repeats: 1, minRepeats: 1, budgetMs: 0 },
    setup: async () => {
      const step = await makeStep(width, batch);
      const after: { allocations: number; bytesLive: number }[] = [];
      return {
        runAsync: async () => {
          for (let i = 0; i < steps; i++) {
            await step.run();
            const m = gpu().memory();
            after.push({ allocations: m.allocations, bytesLive: m.bytesLive - step.base });
          }
        },
        dispose: step.dispose,
        summary: () => {
          const last = after[after.length - 1];
          // The first step at which allocations reached their final count: flat from there on.
          const settled = after.findIndex((a) => a.allocations === last.allocations) + 1;
          const liveFlat = after.every((a) => a.bytesLive === after[0].bytesLive);
          const at = (i: number) => `${after[i - 1].allocations} after step ${i}`;
          return (
            `allocations ${at(1)}, ${at(Math.min(3, steps))}, ${at(steps)}: flat from step ${settled}; ` +
            `live bytes ${liveFlat ? `${mib(after[0].bytesLive)} after every step` : `drift ${mib(after[0].bytesLive)} -> ${mib(last.bytesLive)}`} ` +
            `(${settled <= 3 && liveFlat ? 'FLAT' : 'NOT FLAT'}; ms = all ${steps} steps)`
          );
        },
      };
    },
  };
}

export const memoryFamily: Family = {
  name: 'memory',
  rows: async (cfg) => {
    const widths = cfg.fromFlags.widths ? cfg.widths : [16, 64];
    const batches = cfg.fromFlags.batches ? cfg.batches : [cfg.quick ? 8 : 256];
    const rows: Row[] = [];
    for (const w of widths) for (const b of batches) rows.push(peakRow(w, b));
    // The flatness row's own size, unless --width / --batch (or the page's tiny sizes) say otherwise.
    const [fw, fb] = cfg.quick ? [8, 8] : [16, 64];
    rows.push(flatRow(cfg.fromFlags.widths ? widths[0] : fw, cfg.fromFlags.batches ? batches[0] : fb, cfg.flatSteps ?? 100));
    return rows;
  },
};
