// GPU memory over training (issue 8 item 5): once the buffer pool is warm, a training step creates
// no new GPU buffers and leaves exactly the bytes it found live; the peak of live bytes during a
// step is recorded and can be reset.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../runtime/gpu.js';
import { SupConResNet } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import { tensor } from '../src/creation.js';
import { resolveOptions } from '../src/train/options.js';
import { TrainStep } from '../src/train/step.js';
import { setupGpu } from './helpers.js';

const test = suite('memory');
test.before(setupGpu);

const B = 4;
const STEPS = 20;
const WARMUP = 3;

for (const method of ['none', 'gradmix'] as const) {
  test(`${method}: allocations and live bytes stay flat over ${STEPS} training steps; the peak is per step`, async () => {
    const o = resolveOptions({ protocol: 'mnist-mini', width: 2, batchSize: B, method, epochs: 1, progress: false, evaluate: false });
    const model = new SupConResNet(new Rng(3), { width: 2, inChannels: 1 });
    const step = new TrainStep(model, o, 'mnist', { channels: 1, height: 32, width: 32 });
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
    const rng = new Rng(5);
    const images = Float32Array.from({ length: B * 32 * 32 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
    const labels = Int32Array.from({ length: B }, (_, i) => i % 2);
    const pool = gpu().pool;
    const after: { allocations: number; bytesLive: number; buffersLive: number; peak: number }[] = [];
    try {
      for (let i = 0; i < STEPS; i++) {
        pool.resetPeak();
        const atStart = gpu().memory().bytesLive;
        const loss = await step.run(images, labels, optimizer, new Rng(100 + i));
        assert.ok(Number.isFinite(loss), `step ${i}: loss ${loss}`);
        const m = gpu().memory();
        assert.ok(m.peakBytesLive >= atStart && m.peakBytesLive >= m.bytesLive, `step ${i}: peak ${m.peakBytesLive} below live bytes`);
        after.push({ allocations: m.allocations, bytesLive: m.bytesLive, buffersLive: m.buffersLive, peak: m.peakBytesLive - atStart });
      }
      const warm = after[WARMUP - 1];
      assert.ok(warm.peak > 0, 'a step allocates activations on top of what was live');
      for (let i = WARMUP; i < STEPS; i++) {
        assert.is(after[i].allocations, warm.allocations, `step ${i}: new GPU buffers after warm-up (${warm.allocations} -> ${after[i].allocations})`);
        assert.is(after[i].bytesLive, warm.bytesLive, `step ${i}: live bytes drift (${warm.bytesLive} -> ${after[i].bytesLive})`);
        assert.is(after[i].buffersLive, warm.buffersLive, `step ${i}: live buffers drift`);
        assert.is(after[i].peak, warm.peak, `step ${i}: the step's peak changed (${warm.peak} -> ${after[i].peak})`);
      }
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  });
}

test('resetPeak starts the peak from the bytes live now', () => {
  const pool = gpu().pool;
  const a = tensor(new Float32Array(1 << 16), [1 << 16]);
  a.dispose();
  pool.resetPeak();
  const base = gpu().memory();
  assert.is(base.peakBytesLive, base.bytesLive);
  const b = tensor(new Float32Array(1 << 16), [1 << 16]);
  const grown = gpu().memory().peakBytesLive;
  assert.ok(grown >= base.bytesLive + 4 * (1 << 16), `peak ${grown} counts the new tensor`);
  b.dispose();
  assert.is(gpu().memory().peakBytesLive, grown, 'freeing does not lower the peak');
  pool.resetPeak();
  assert.is(gpu().memory().peakBytesLive, gpu().memory().bytesLive);
});

test.run();
