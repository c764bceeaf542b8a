// The example family of your own kernel (bench/examples/bias-relu.ts): its correctness check
// passes against the float64 reference, a wrong kernel is caught by the same check, and the
// family gives rows the runner can time.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setupGpu } from './helpers.js';
import biasRelu, { BIAS_RELU_WGSL, biasReluCase } from '../bench/examples/bias-relu.js';
import { checkKernelCase, kernelFamily } from '../bench/kernel-family.js';
import { timeOurs } from '../bench/harness.js';
import { Autotuner } from '../runtime/autotune.js';
import { gpu } from '../runtime/gpu.js';
import type { BenchConfig } from '../bench/family.js';

const test = suite('bench-example');
test.before(setupGpu);

const SPEC = { family: 'bias-relu', kernel: 'bench_bias_relu', wgsl: BIAS_RELU_WGSL, cases: () => [] };

test('bias+relu matches its float64 reference, odd sizes included', async () => {
  for (const [b, c, s] of [
    [2, 3, 5],
    [1, 16, 8],
    [3, 7, 11],
  ]) {
    const err = await checkKernelCase(SPEC, biasReluCase(b, c, s), 7);
    assert.ok(err < 1e-6, `B${b} C${c} ${s}x${s}: rel. L2 ${err}`);
  }
});

test('a wrong kernel fails the check with a message naming the output', async () => {
  const wrong = { ...SPEC, kernel: 'bench_bias_relu_wrong', wgsl: BIAS_RELU_WGSL.replace('max(x[i] + bias[c], 0.0)', 'max(x[i] + bias[0], 0.0)') };
  try {
    await checkKernelCase(wrong, biasReluCase(2, 4, 4), 3);
    assert.unreachable('the check should fail');
  } catch (e) {
    assert.match((e as Error).message, /bias-relu bias\+relu B2 C4: output 'y' differs from the float64 reference \(relative L2 error/);
  }
});

test('the family gives checked rows that time', async () => {
  const cfg: BenchConfig = {
    quick: true,
    batches: [2],
    widths: [4],
    fromFlags: { batches: false, widths: false },
    imageSize: 8,
    timing: { warmup: 0, repeats: 2, minRepeats: 1, budgetMs: 50 },
    autotuner: new Autotuner(gpu().describe()),
  };
  const rows = await biasRelu.rows(cfg);
  assert.ok(Array.isArray(rows));
  const [row] = rows as Exclude<typeof rows, { skipped: string }>;
  assert.is(row.name, 'bias+relu B2 C4');
  const work = await row.setup();
  assert.match(work.note ?? '', /checked against float64/);
  const m = await timeOurs(work.run!, cfg.timing);
  assert.ok(m.ms > 0 && m.spreadMs >= 0);
  work.dispose();
  assert.is(kernelFamily(SPEC).name, 'bias-relu');
});

test.run();
