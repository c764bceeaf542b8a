// One whole training step (src/train/step.ts TrainStep: augment both views on the GPU, encode,
// SupCon + SimCLR, for GradMix also the LayerCAM pass and the mixed view's term, backward, Adam)
// of the SupCon ResNet on CIFAR-shaped data (3x32x32), kernels autotuned as train() tunes them.
// Peers: PyTorch (bench/peer-torch.py train_step) for both methods, GradMix with its LayerCAM,
// paste and mixed term; for the plain step also the same model and SupCon + SimCLR loss through
// TF.js's WebGPU backend on the same adapter (bench/peer-tfjs-resnet.ts; no augmentation and no
// running batch-norm statistics there). Neither peer augments: their inputs are the views.
// ResNet18 at width 16 (quick: batch 16; full: 64) with and without GradMix, and the deeper
// encoders (ResNet34 BasicBlocks, ResNet50 Bottlenecks) at width 4.
import { backward } from '../../src/autograd.js';
import { SupConResNet, type Arch } from '../../src/nn/resnet.js';
import { Adam } from '../../src/optim/index.js';
import { Rng } from '../../src/random.js';
import { resolveOptions, type Method } from '../../src/train/options.js';
import { TrainStep } from '../../src/train/step.js';
import { autotuneTraining } from '../../src/train/autotune.js';
import { gpu } from '../../runtime/gpu.js';
import type { BenchConfig, Family, Row } from '../family.js';

const DATA = { channels: 3, height: 32, width: 32 };
const TAU = 0.05;

interface StepShape {
  arch: Arch;
  width: number;
  batch: number;
  method: Method;
}

/** Multiply-adds of the encoder's convolutions and the head for one image (forward). */
function forwardMacs(model: SupConResNet, size: number): number {
  let macs = 0;
  const hook = model.stateDict();
  for (const [name, t] of hook) {
    if (t.rank === 4) {
      const [cout, cin, kh, kw] = t.shape;
      // Output side of this conv: the stage's resolution (stem and layer1 at full size, then halved per stage).
      const stage = /layer(\d)/.exec(name);
      const side = size / 2 ** (stage ? Number(stage[1]) - 1 : 0);
      macs += cout * cin * kh * kw * side * side;
    } else if (t.rank === 2) macs += t.shape[0] * t.shape[1];
  }
  return macs;
}

function row(s: StepShape, cfg: BenchConfig): Row {
  const tag = `${s.arch} w${s.width} B${s.batch} ${s.method}`;
  const probe = new SupConResNet(new Rng(0), { arch: s.arch, width: s.width, inChannels: DATA.channels });
  // Forward of 2B images and a backward of about twice its work (the GradMix extras not counted).
  const flops = 3 * 2 * forwardMacs(probe, DATA.height) * 2 * s.batch;
  const params = probe.parameters().reduce((n, p) => n + p.size, 0);
  probe.dispose();
  return {
    family: 'train-step',
    name: `step ${tag}`,
    shape: `2x[${s.batch},3,32,32], ${(params / 1e6).toFixed(2)}M params`,
    flops,
    bound: 'compute',
    kernelTime: true, // the bar's GPU busy fraction
    ...(s.method === 'none' || s.method === 'gradmix'
      ? { peer: { kind: 'train-step' as const, method: s.method, arch: s.arch, width: s.width, batch: s.batch, channels: DATA.channels, size: DATA.height, tau: TAU } }
      : {}),
    // A step is long on a CPU adapter: fewer repeats than the kernel rows.
    timing: cfg.quick ? { warmup: 1, repeats: 3, minRepeats: 2, budgetMs: 0 } : { warmup: 1, repeats: 5, minRepeats: 3, budgetMs: 0 },
    setup: async () => {
      const o = resolveOptions({ protocol: 'cifar10', arch: s.arch, width: s.width, batchSize: s.batch, method: s.method, tau: TAU, progress: false, evaluate: false });
      const model = new SupConResNet(new Rng(0), { arch: s.arch, width: s.width, inChannels: DATA.channels });
      const step = new TrainStep(model, o, 'cifar', DATA);
      const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
      const rng = new Rng(1);
      const images = Float32Array.from({ length: s.batch * 3 * 32 * 32 }, () => rng.uniform());
      const labels = Int32Array.from({ length: s.batch }, (_, i) => i % 6);
      const tuned = await autotuneTraining(model, o, DATA);
      const chosen = new Map<string, number>();
      for (const r of tuned) chosen.set(r.choice, (chosen.get(r.choice) ?? 0) + 1);
      const note = tuned.length ? `tuned ${tuned.length} shape classes (${[...chosen].map(([c, n]) => `${c} ${n}`).join(', ')})` : 'kernels as tuned for earlier rows (or autotune off)';
      // The CPU side of the last run (issue 12 item 3): dispatches it recorded and the main
      // thread's time in dispatch() encoding them (bench/encode-cost.ts breaks it down).
      const g = gpu();
      let cpuSide = { dispatches: 0, encodeMs: 0, bindGroups: 0 };
      return {
        // TrainStep.run without its loss readback: the harness drains the queue itself.
        run: () => {
          const [d0, e0, b0] = [g.dispatchCount, g.encodeMs, g.bindGroupStats.created];
          const loss = step.loss(images, labels, rng);
          backward(loss);
          optimizer.step();
          optimizer.zeroGrad();
          cpuSide = { dispatches: g.dispatchCount - d0, encodeMs: g.encodeMs - e0, bindGroups: g.bindGroupStats.created - b0 };
        },
        summary: () =>
          `${cpuSide.dispatches} dispatches/step, encode ${cpuSide.encodeMs.toFixed(1)} ms/step (${((1000 * cpuSide.encodeMs) / Math.max(1, cpuSide.dispatches)).toFixed(1)} us each, ${cpuSide.bindGroups} new bind groups); ${note}`,
        dispose: () => {
          optimizer.dispose();
          model.dispose();
        },
        note,
      };
    },
  };
}

export const trainStepFamily: Family = {
  name: 'train-step',
  rows: async (cfg) => {
    const widths = cfg.fromFlags.widths ? cfg.widths : [16];
    const batches = cfg.fromFlags.batches ? cfg.batches : [cfg.quick ? 16 : 64];
    const shapes: StepShape[] = [];
    for (const width of widths) {
      for (const batch of batches) {
        for (const method of ['none', 'gradmix'] as const) shapes.push({ arch: 'resnet18', width, batch, method });
      }
    }
    for (const arch of ['resnet34', 'resnet50'] as const) {
      for (const batch of batches) shapes.push({ arch, width: 4, batch, method: 'none' });
    }
    return shapes.map((s) => row(s, cfg));
  },
};
