// GFLOP/s of both matmul kernel variants on this adapter, square sizes.
// Wall clock around `await gpu().sync()` after a warm-up; median of the repeats, each repeat
// recording `runs` products into one batch.
// Run: `npm run kernels && node --import tsx bench/matmul.ts [sizes...]` (default 256 512).
import { initGpu, gpu, destroyGpu } from '../runtime/gpu.js';
import { matmul } from '../src/ops/matmul.js';
import { rand } from '../src/creation.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';

const REPEATS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

await initGpu();
const sizes = process.argv.slice(2).map(Number);
console.log(`adapter: ${gpu().describe()} (default variant: ${gpu().kernelVariant})`);
for (const n of sizes.length ? sizes : [256, 512]) {
  const rng = new Rng(1);
  const a = rand([n, n], rng, -1, 1);
  const b = rand([n, n], rng, -1, 1);
  // Enough products per repeat that a repeat takes well over the submit and readback overhead.
  const runs = Math.max(1, Math.round(2 ** 28 / (2 * n ** 3)));
  for (const variant of ['register', 'tiled', 'blocked'] as const) {
    const once = async () => {
      scope(() => {
        for (let i = 0; i < runs; i++) matmul(a, b, { variant });
      });
      await gpu().sync();
    };
    await once(); // compiles the pipeline, fills the buffer pool
    const ms: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const t0 = performance.now();
      await once();
      ms.push(performance.now() - t0);
    }
    const t = median(ms) / runs;
    console.log(`matmul ${n}x${n}x${n} ${variant.padEnd(8)} ${((2 * n ** 3) / (t * 1e6)).toFixed(2).padStart(8)} GFLOP/s  (${t.toFixed(3)} ms per product, median of ${REPEATS} x ${runs})`);
  }
  a.dispose();
  b.dispose();
}
destroyGpu();
