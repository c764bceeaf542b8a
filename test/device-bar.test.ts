// The device run's bar (bench/device/bar.ts): issue 12's lines read from the parts' details as the
// parts write them, each with its limit and verdict, and no verdict where a figure is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { barLines, formatBar } from '../bench/device/bar.js';
import type { PartResult } from '../bench/device/run-summary.js';

const part = (status: PartResult['status'], detail: unknown, error?: string): PartResult => ({ status, budgetS: 60, seconds: 1, detail, ...(error ? { error } : {}) });

const cuda = { torch: { version: '2.11.0+cu128 CUDA on NVIDIA H200, fp32 with TF32 off' } };
const full = {
  kernels: part('ok', { tests: 'all', variants: { register: { failed: 0 }, tiled: { failed: 0 } } }),
  bench: part('ok', { peers: cuda, families: { conv2d: { torch: { rows: 21, oursOverTorch: 1.7 }, torchTf32: { rows: 20, oursOverTorchTf32: 3.1 }, tfjs: { rows: 21, tfjsOverOurs: 4.2 } } } }),
  step: part('ok', {
    peers: cuda,
    rows: [
      { name: 'train-step step resnet18 w64 B256 none', gpuBusy: 0.95, oursOverTorch: 2.5 },
      { name: 'train-step step resnet18 w64 B256 gradmix', gpuBusy: 0.92, oursOverTorch: 1.9 },
      { name: 'memory peak step resnet18 w64 B256 gradmix', gpuBusy: null, oursOverTorch: null },
    ],
    gradmixOverPlain: 1.72,
  }),
  train: part('ok', {
    runs: [
      { name: 'mnist-mini s0 none', auroc: 0.9 },
      { name: 'mnist w64 gradmix', auroc: 0.9931 },
    ],
  }),
};

const byLine = (lines: ReturnType<typeof barLines>, start: string) => {
  const l = lines.find((x) => x.line.startsWith(start));
  assert.ok(l, `a line starting '${start}'`);
  return l;
};

test('every line of the bar from a complete run, each against its limit', () => {
  const lines = barLines(full);
  assert.is(lines.length, 9);
  const conv = byLine(lines, 'convolutions, ours / PyTorch');
  assert.equal([conv.measured, conv.limit, conv.pass], [1.7, '<= 2', true]);
  assert.match(conv.source, /TF32 on: 3\.100 over 20 rows/);
  const tfjs = byLine(lines, 'convolutions, TF.js');
  assert.equal([tfjs.measured, tfjs.limit, tfjs.pass], [4.2, '>= 5', false]);
  assert.equal([byLine(lines, 'training step plain, ours').measured, byLine(lines, 'training step plain, ours').pass], [2.5, false]);
  assert.equal([byLine(lines, 'training step GradMix, ours').measured, byLine(lines, 'training step GradMix, ours').pass], [1.9, true]);
  assert.is(byLine(lines, 'training step plain, GPU busy').pass, true);
  assert.equal([byLine(lines, 'GradMix step / plain').measured, byLine(lines, 'GradMix step / plain').pass], [1.72, false]);
  assert.is(byLine(lines, 'every correctness test').pass, true);
  const mnist = byLine(lines, 'full MNIST');
  assert.equal([mnist.measured, mnist.pass], [0.9931, true]);
  assert.match(mnist.source, /mnist w64 gradmix/);
  const table = formatBar(lines);
  assert.match(table, /convolutions, TF\.js WebGPU \/ ours, summed\s+4\.200\s+>= 5\s+MISS/);
  assert.match(table, /full MNIST AUROC \(paper 0\.998\)\s+0\.993\s+>= 0\.99\s+PASS/);
});

test('missing figures give no verdict and say why; failed or partial tests fail the line', () => {
  const lines = barLines({
    kernels: part('failed', { tests: 'all' }, 'tiled: 2 of 90 tests failed'),
    bench: part('timeout', { families: { conv2d: { torch: null, tfjs: null } } }),
    train: part('partial', { runs: [{ name: 'mnist-mini s0 gradmix', auroc: 0.8 }] }),
  });
  const conv = byLine(lines, 'convolutions, ours / PyTorch');
  assert.equal([conv.measured, conv.pass], [null, null]);
  assert.match(conv.source, /bench part timeout/);
  assert.match(byLine(lines, 'GradMix step / plain').source, /step part not run/);
  const tests = byLine(lines, 'every correctness test');
  assert.is(tests.pass, false);
  assert.match(tests.source, /2 of 90 tests failed/);
  assert.equal([byLine(lines, 'full MNIST').pass, byLine(lines, 'full MNIST').source], [null, 'train part partial: no full-MNIST AUROC']);
  assert.match(formatBar(lines), /no figure/);

  const suite = (kernels: PartResult) => byLine(barLines({ kernels }), 'every correctness test');
  const both = { register: { failed: 0 }, tiled: { failed: 0 } };
  const subset = suite(part('ok', { tests: '^(matmul|knn)$', variants: both }));
  assert.is(subset.pass, null, 'a subset that passed gives no verdict on the whole suite');
  assert.match(subset.source, /tests matching \^\(matmul\|knn\)\$/);
  assert.is(suite(part('ok', { tests: 'all', variants: { register: { failed: 0 } } })).pass, null, 'one family only: no verdict');
  assert.is(suite(part('skipped', undefined, 'the adapter check failed')).pass, null, 'a skipped part is no failure');
  assert.is(suite(part('timeout', { tests: 'all', variants: both })).pass, null, 'cut short without a failure: no verdict');
  assert.is(suite(part('timeout', { tests: 'all', variants: { register: { failed: 1 }, tiled: { failed: 0 } } })).pass, false, 'a failure before the cut');
  assert.match(suite(part('ok', { tests: 'all', variants: both })).source, /families register, tiled/);

  const interrupted = byLine(barLines({ train: part('partial', { runs: [{ name: 'mnist w64 gradmix', auroc: 0.995, interrupted: true, epochsDone: 2 }] }) }), 'full MNIST');
  assert.equal([interrupted.measured, interrupted.pass], [0.995, true]);
  assert.match(interrupted.source, /stopped at its time share after 2 epochs/);
  // Cut short below the limit: not trained to the end, so no verdict either way.
  const short = byLine(barLines({ train: part('partial', { runs: [{ name: 'mnist w64 gradmix', auroc: 0.95, interrupted: true, epochsDone: 0 }] }) }), 'full MNIST');
  assert.equal([short.measured, short.pass], [0.95, null]);
  assert.match(short.source, /no verdict: not trained to the end/);
  assert.match(formatBar([short]), /0\.950\s+>= 0\.99\s+no verdict/);
});

test('PyTorch lines give a verdict only against a CUDA peer (a CPU fallback would pass them)', () => {
  const cpu = { torch: { version: '2.11.0 CPU' } };
  const lines = barLines({
    ...full,
    bench: { ...full.bench, detail: { ...(full.bench.detail as object), peers: cpu } },
    step: { ...full.step, detail: { ...(full.step.detail as object), peers: { torch: { unavailable: 'no torch' } } } },
  });
  const conv = byLine(lines, 'convolutions, ours / PyTorch');
  assert.equal([conv.measured, conv.pass], [1.7, null]);
  assert.match(conv.source, /no verdict: the PyTorch peer is not on CUDA \(2\.11\.0 CPU\)/);
  assert.match(byLine(lines, 'training step GradMix, ours').source, /not on CUDA \(no torch\)/);
  assert.is(byLine(lines, 'training step GradMix, ours').pass, null);
  assert.is(byLine(lines, 'convolutions, TF.js').pass, false, 'the TF.js line does not depend on the PyTorch peer');
});

test.run();
