// The extra cost of a GradMix training step over a plain SupCon + SimCLR step on the same batch
// and model (issue: GradMix, item 8), and the LayerCAM and paste kernels' share of it.
// `node --import tsx bench/gradmix-step.ts [width] [batch] [repeats]`; median wall time per step
// around a flushed queue, plus per-kernel GPU time from timestamp queries in a profiled step.
import { initGpu, destroyGpu, gpu } from '../runtime/gpu.js';
import { formatProfile, type KernelTime } from '../runtime/profiler.js';
import { SupConResNet } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import { resolveOptions, type Method } from '../src/train/options.js';
import { TrainStep } from '../src/train/step.js';

await import('../scripts/embed-kernels.mjs' as string);
const [width, batch, repeats] = [Number(process.argv[2] ?? 16), Number(process.argv[3] ?? 64), Number(process.argv[4] ?? 5)];
await initGpu();
const rng = new Rng(1);
const images = Float32Array.from({ length: batch * 32 * 32 }, () => (rng.uniform() < 0.25 ? rng.uniform() : 0));
const labels = Int32Array.from({ length: batch }, (_, i) => i % 6);

async function measure(method: Method): Promise<{ ms: number; profile: KernelTime[] }> {
  const o = resolveOptions({ width, batchSize: batch, method, progress: false });
  const model = new SupConResNet(new Rng(0), { width, inChannels: 1 });
  const step = new TrainStep(model, o, 'mnist', { channels: 1, height: 32, width: 32 });
  const opt = new Adam(model.parameters());
  await step.run(images, labels, opt, new Rng(0)); // warm-up: pipelines, pool
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await step.run(images, labels, opt, new Rng(i));
    times.push(performance.now() - t0);
  }
  let profile: KernelTime[] = [];
  if (gpu().hasTimestamps) {
    await gpu().startProfiling();
    await step.run(images, labels, opt, new Rng(99));
    profile = await gpu().stopProfiling();
  }
  model.dispose();
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], profile };
}

const plain = await measure('none');
const mixed = await measure('gradmix');
const share = (p: KernelTime[], prefix: string) => p.filter((t) => t.kernel.startsWith(prefix)).reduce((s, t) => s + t.ms, 0);
const gpuTotal = (p: KernelTime[]) => p.reduce((s, t) => s + t.ms, 0);
console.log(`adapter: ${gpu().describe()}`);
console.log(`ResNet18 width ${width}, batch ${batch} (x2 views), median of ${repeats} steps`);
console.log(`plain step   ${plain.ms.toFixed(1)} ms`);
console.log(`GradMix step ${mixed.ms.toFixed(1)} ms   ratio ${(mixed.ms / plain.ms).toFixed(2)}x`);
if (mixed.profile.length) {
  const total = gpuTotal(mixed.profile);
  const extra = total - gpuTotal(plain.profile);
  const cam = share(mixed.profile, 'layercam.');
  const paste = share(mixed.profile, 'mix.');
  console.log(`GPU time: plain ${gpuTotal(plain.profile).toFixed(1)} ms, GradMix ${total.toFixed(1)} ms (extra ${extra.toFixed(1)} ms)`);
  console.log(`LayerCAM kernels ${cam.toFixed(2)} ms (${((100 * cam) / extra).toFixed(1)}% of the extra), paste ${paste.toFixed(2)} ms (${((100 * paste) / extra).toFixed(1)}% of the extra)`);
  if (process.env.VERBOSE === '1') console.log(formatProfile(mixed.profile));
}
destroyGpu();
