// The device run's bar (bench/device/bar.ts): issue 12's lines read from the parts' details as the
// parts write them, each with its limit and verdict, and no verdict where a figure is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { barLines, formatBar } from '../bench/device/bar.js';
import type { PartResult } from '../bench/device/run-summary.js';
import { stepRows, totals, type BenchFile, type BenchRow } from '../bench/device/part-bench.js';

const part = (status: PartResult['status'], detail: unknown, error?: string): PartResult => ({ status, budgetS: 60, seconds: 1, detail, ...(error ? { error } : {}) });

const cuda = { torch: { version: '2.11.0+cu128 CUDA on NVIDIA H200, fp32 with TF32 off' } };
const full = {
  kernels: part('ok', { tests: 'all', variants: { register: { failed: 0 }, tiled: { failed: 0 } } }),
  bench: part('ok', {
    peers: cuda,
    families: {
      conv2d: {
        expected: 21,
        status: 'ok',
        missing: [],
        oursFailed: [],
        torch: { rows: 21, oursOverTorch: 1.7, complete: true, lacking: [], tf32Unproven: [], tf32Near: [] },
        torchTf32: { rows: 20, oursOverTorchTf32: 3.1 },
        tfjs: { rows: 21, tfjsOverOurs: 4.2, complete: true, lacking: [] },
      },
    },
  }),
  step: part('ok', {
    peers: cuda,
    rows: [
      { name: 'train-step step resnet18 w64 B256 none', gpuBusy: 0.95, oursOverTorch: 2.5, tf32Off: true },
      { name: 'train-step step resnet18 w64 B256 gradmix', gpuBusy: 0.92, oursOverTorch: 1.9, tf32Off: true },
      { name: 'memory peak step resnet18 w64 B256 gradmix', gpuBusy: null, oursOverTorch: null },
    ],
    gradmixOverPlain: 1.72,
  }),
  train: part('ok', {
    runs: [
      { name: 'mnist-mini s0 none', auroc: 0.9 },
      { name: 'mnist w64 gradmix', auroc: 0.9931, epochsDone: 4, epochsPlanned: 4, maxTrain: 0, trainedImages: 36000 },
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
  assert.match(mnist.source, /mnist w64 gradmix; split 0 seed 0, 4 of 4 epochs, 36000 training images/);
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
  assert.match(byLine(lines, 'GradMix step / plain').line, /wall time/);
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

  const interrupted = byLine(
    barLines({ train: part('partial', { runs: [{ name: 'mnist w64 gradmix', auroc: 0.995, interrupted: true, epochsDone: 2, epochsPlanned: 4, maxTrain: 0 }] }) }),
    'full MNIST',
  );
  assert.equal([interrupted.measured, interrupted.pass], [0.995, true]);
  assert.match(interrupted.source, /2 of 4 epochs.*stopped at its time share/);
  // Cut short below the limit: not trained to the end, so no verdict either way.
  const short = byLine(barLines({ train: part('partial', { runs: [{ name: 'mnist w64 gradmix', auroc: 0.95, interrupted: true, epochsDone: 1, maxTrain: 0 }] }) }), 'full MNIST');
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

// The conv lines from rows, through part-bench's totals(): a verdict only over the whole family.
const convRow = (name: string, over: Partial<BenchRow> = {}): BenchRow => ({
  family: 'conv2d',
  name,
  ms: 1,
  wallMs: 1,
  method: 'timestamps',
  torch: { ms: 1, ratio: 1, tf32Ms: 0.5, tf32Off: true, tf32Near: false },
  tfjs: { ms: 6, ratio: 1 / 6, method: 'timestamps' },
  ...over,
});
const names = ['forward a', 'forward b', 'weight-grad a'];
const expected = names.map((name) => ({ family: 'conv2d', name }));
const convLines = (rows: BenchRow[], status: PartResult['status'] = 'ok') => {
  const lines = barLines({ bench: part(status, { peers: cuda, families: { conv2d: totals(rows, expected, status) } }) });
  return { torch: byLine(lines, 'convolutions, ours / PyTorch'), tfjs: byLine(lines, 'convolutions, TF.js') };
};

test('conv lines: every expected row with both figures gives a verdict', () => {
  const { torch, tfjs } = convLines(names.map((n) => convRow(n)));
  assert.equal([torch.measured, torch.pass, tfjs.measured, tfjs.pass], [1, true, 6, true]);
  assert.match(torch.source, /3 of 3 rows/);
});

test('conv lines: each shape counts as often as the model has it (count), so one slow common shape weighs', () => {
  // forward a is 2x slower than PyTorch and 4 layers have it: (4 * 2 + 1 + 1) / (4 + 1 + 1) = 10/6.
  const { torch } = convLines([convRow('forward a', { wallMs: 2, count: 4 }), convRow('forward b'), convRow('weight-grad a')]);
  assert.ok(Math.abs(torch.measured! - 10 / 6) < 1e-12, `${torch.measured}`);
  assert.is(torch.pass, true);
  // Over the 2x limit only when counted: (10 * 3 + 1 + 1) / 12 = 2.67 (once: (3 + 1 + 1) / 3 = 1.67).
  assert.is(convLines([convRow('forward a', { wallMs: 3, count: 10 }), convRow('forward b'), convRow('weight-grad a')]).torch.pass, false);
});

test("GPU busy is the union of the kernels' intervals, not their sum (overlapping dispatches count once)", () => {
  const rows = stepRows({
    adapter: 'gpu',
    rows: [
      { family: 'train-step', name: 'plain', kernelMs: 15, kernelBusyMs: 9, kernelWallMs: 10 },
      { family: 'train-step', name: 'older', kernelMs: 9, kernelWallMs: 10 },
      // Some dispatch's timestamps unwritten: the union understates, so no figure.
      { family: 'train-step', name: 'unwritten', kernelMs: 5, kernelBusyMs: 5, kernelWallMs: 10, kernelUnwritten: 3 },
    ],
  } as BenchFile);
  assert.equal(
    rows.map((r) => r.gpuBusy),
    [0.9, 0.9, null],
  );
});

test('conv lines: a row of ours that failed is a MISS, not a row that vanishes', () => {
  const { torch, tfjs } = convLines([
    convRow('forward a'),
    convRow('forward b'),
    convRow('weight-grad a', { ms: undefined, wallMs: undefined, error: 'device lost', torch: undefined, tfjs: undefined }),
  ]);
  assert.equal([torch.measured, torch.pass, tfjs.pass], [1, false, false]);
  assert.match(torch.source, /MISS: our rows failed: conv2d weight-grad a: device lost/);
});

test("conv lines: a peer's error or missing figure on one row gives no verdict, naming the row", () => {
  const { torch, tfjs } = convLines([convRow('forward a'), convRow('forward b', { torch: { error: 'CUDA out of memory' } }), convRow('weight-grad a', { tfjs: undefined })]);
  assert.equal([torch.measured, torch.pass], [1, null]);
  assert.match(torch.source, /no verdict: 1 rows without the peer's figure \(conv2d forward b: CUDA out of memory\)/);
  assert.equal([tfjs.measured, tfjs.pass], [6, null]);
  assert.match(tfjs.source, /conv2d weight-grad a: not measured/);
});

test('conv lines: rows a cut call never reached, or a cut call, give no verdict', () => {
  const cut = convLines([convRow('forward a'), convRow('forward b')], 'partial');
  assert.equal([cut.torch.measured, cut.torch.pass, cut.tfjs.pass], [1, null, null]);
  assert.match(cut.torch.source, /its bench call partial; 1 of 3 rows not measured \(conv2d weight-grad a\)/);
  // Every row there, but the call did not finish (it was stopped while writing its JSON's end).
  assert.is(
    convLines(
      names.map((n) => convRow(n)),
      'partial',
    ).torch.pass,
    null,
  );
  // A family total written before the expected rows were recorded proves nothing either.
  const old = barLines({ bench: part('ok', { peers: cuda, families: { conv2d: { torch: { rows: 21, oursOverTorch: 1.7 }, tfjs: { rows: 21, tfjsOverOurs: 6 } } } }) });
  assert.is(byLine(old, 'convolutions, ours / PyTorch').pass, null);
  assert.is(byLine(old, 'convolutions, TF.js').pass, null);
});

test('conv lines: PyTorch figures without TF32 shown off give no verdict; fp32 close to TF32 is flagged', () => {
  const { torch, tfjs } = convLines([
    convRow('forward a'),
    convRow('forward b', { torch: { ms: 1, ratio: 1, tf32Off: false } }),
    convRow('weight-grad a', { torch: { ms: 1, ratio: 1, tf32Ms: 0.95, tf32Off: true, tf32Near: true } }),
  ]);
  assert.equal([torch.pass, tfjs.pass], [null, true]);
  assert.match(torch.source, /TF32 not shown off for conv2d forward b/);
  assert.match(torch.source, /fp32 within 10% of TF32 on: conv2d weight-grad a/);
});

test('step lines: TF32 not shown off gives no verdict; a failed step of ours is a MISS', () => {
  const step = (rows: unknown[]) => barLines({ step: part('ok', { peers: cuda, rows, gradmixOverPlain: null }) }).filter((l) => l.line.startsWith('training step') && l.line.includes('PyTorch'));
  const [plain, mixed] = step([
    { name: 'train-step step resnet18 w64 B256 none', gpuBusy: 0.95, oursOverTorch: 1.5, tf32Off: null },
    { name: 'train-step step resnet18 w64 B256 gradmix', gpuBusy: null, oursOverTorch: null, error: 'out of memory' },
  ]);
  assert.equal([plain.measured, plain.pass], [1.5, null]);
  assert.match(plain.source, /no verdict: TF32 not shown off/);
  assert.equal([mixed.measured, mixed.pass], [null, false]);
  assert.match(mixed.source, /MISS: our step failed: out of memory/);
});

test('the kernel suite with skipped tests gives no verdict and names them', () => {
  const variants = { register: { failed: 0, skipped: 1, skippedTests: ['checkpoint: round trip through PyTorch'] }, tiled: { failed: 0, skipped: 0 } };
  const l = byLine(barLines({ kernels: part('ok', { tests: 'all', variants }) }), 'every correctness test');
  assert.is(l.pass, null);
  assert.match(l.source, /register skipped 1 \(checkpoint: round trip through PyTorch\)/);
});

test('the kernel suite: skips that only need PyTorch on the host are listed and allow a verdict; any other skip does not', () => {
  const host = ['round trip through PyTorch: save here, load + save in Python, load here'];
  const variants = { register: { failed: 0, skipped: 1, hostTorchSkips: host }, tiled: { failed: 0, skipped: 1, hostTorchSkips: host } };
  const l = byLine(barLines({ kernels: part('ok', { tests: 'all', variants }) }), 'every correctness test');
  assert.is(l.pass, true);
  assert.match(l.source, /skipped, needing PyTorch on the host: round trip through PyTorch/);
  const more = { ...variants, tiled: { failed: 0, skipped: 2, hostTorchSkips: host } };
  assert.is(byLine(barLines({ kernels: part('ok', { tests: 'all', variants: more }) }), 'every correctness test').pass, null, 'one skip more than the host ones');
});

test('conv lines: every row of ours failed is a MISS too (no sum at all), whatever the peer ran on', () => {
  const failed = names.map((n) => convRow(n, { ms: undefined, wallMs: undefined, error: 'shader failed', torch: undefined, tfjs: undefined }));
  const { torch, tfjs } = convLines(failed);
  assert.equal([torch.pass, tfjs.pass], [false, false]);
  assert.match(torch.source, /MISS: our rows failed: conv2d forward a: shader failed/);
  const lines = barLines({ bench: part('ok', { peers: { torch: { version: '2.11.0 CPU' } }, families: { conv2d: totals(failed, expected) } }) });
  assert.is(byLine(lines, 'convolutions, ours / PyTorch').pass, false, 'not withheld for a CPU peer');
  // A ratio over the limit against a CPU peer is no MISS against CUDA: no verdict.
  const slow = names.map((n) => convRow(n, { wallMs: 3 }));
  const cpu = barLines({ bench: part('ok', { peers: { torch: { version: '2.11.0 CPU' } }, families: { conv2d: totals(slow, expected) } }) });
  assert.equal([byLine(cpu, 'convolutions, ours / PyTorch').measured, byLine(cpu, 'convolutions, ours / PyTorch').pass], [3, null]);
});

test("conv lines: TF.js timed another way than ours is compared on both sides' wall time", () => {
  const rows = names.map((n) => convRow(n, { ms: 1, wallMs: 2, method: 'gpu-timestamp', tfjs: { ms: 12, method: 'wall' } }));
  const { tfjs } = convLines(rows);
  assert.equal([tfjs.measured, tfjs.pass], [6, true]);
});

test('GPU busy above 1 gives no verdict: the timestamps cannot be right', () => {
  const rows = [{ name: 'train-step step resnet18 w64 B256 none', ms: 10, wallMs: 10, gpuBusy: 1.4 }];
  const l = barLines({ step: part('ok', { peers: cuda, rows, gradmixOverPlain: null }) }).find((x) => x.line.includes('GPU busy'))!;
  assert.equal([l.measured, l.pass], [1.4, null]);
  assert.match(l.source, /over 1, the kernels' timestamps are not plausible/);
});

test('full MNIST: no verdict before its first epoch ended, or on part of the training set', () => {
  const mnist = (run: object) => byLine(barLines({ train: part('partial', { runs: [{ name: 'mnist w64 gradmix', auroc: 0.995, ...run }] }) }), 'full MNIST');
  const none = mnist({ interrupted: true, epochsDone: 0, epochsPlanned: 4, maxTrain: 0 });
  assert.equal([none.measured, none.pass], [0.995, null]);
  assert.match(none.source, /0 of 4 epochs.*no verdict: no epoch finished/);
  const some = mnist({ epochsDone: 4, epochsPlanned: 4, maxTrain: 64 });
  assert.is(some.pass, null);
  assert.match(some.source, /not the whole training set \(--max-train 64\)/);
  assert.is(mnist({ epochsDone: 4, epochsPlanned: 4, maxTrain: 0 }).pass, true);
});

test.run();
