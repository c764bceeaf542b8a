// Issue 12's performance bar, read from one device run's parts: each line's measured ratio, its
// limit and whether it holds (null where the run has no figure for it: a part skipped, cut short
// or without the peer). Written into device-run.json as `bar` and printed at the end of the run,
// so a GPU run answers the bar by itself.
import type { Part } from './run-args.js';
import type { PartResult } from './run-summary.js';

export interface BarLine {
  /** What is compared, in the issue's words. */
  line: string;
  /** The measured figure (a ratio, a fraction or an AUROC), or null where the run has none. */
  measured: number | null;
  /** The limit as text, e.g. '<= 2'. */
  limit: string;
  pass: boolean | null;
  /** Where the figure comes from, or why it is missing. */
  source: string;
}

/** part-bench.ts totals(): absent fields (an older summary) give no verdict. */
interface FamilyTotals {
  expected?: number;
  status?: string;
  missing?: string[];
  oursFailed?: string[];
  torch: { rows: number; oursOverTorch: number; complete?: boolean; lacking?: string[]; tf32Unproven?: string[]; tf32Near?: string[] } | null;
  torchTf32?: { rows: number; oursOverTorchTf32: number } | null;
  tfjs: { rows: number; tfjsOverOurs: number; complete?: boolean; lacking?: string[] } | null;
}
interface StepRow {
  name: string;
  gpuBusy: number | null;
  oursOverTorch: number | null;
  tf32Off?: boolean | null;
  tf32Near?: boolean | null;
  error?: string;
  torchError?: string;
}
interface TrainRow {
  name: string;
  auroc?: number;
  interrupted?: boolean;
  epochsDone?: number;
  epochsPlanned?: number;
  trainedImages?: number;
  epochs?: number;
  /** --max-train of the run: 0 is the whole training set. */
  maxTrain?: number;
}
interface SuiteDetail {
  tests?: string;
  variants?: Record<string, { failed?: number; skipped?: number; skippedTests?: string[]; hostTorchSkips?: string[] }>;
}

interface Peers {
  torch?: { version?: string; unavailable?: string };
}

/**
 * Why a part's PyTorch figures cannot stand for "PyTorch CUDA", or null when they can: the peer
 * falls back to the CPU where torch sees no CUDA device, and a CPU peer would pass the lines.
 */
function notCuda(peers: Peers | undefined): string | null {
  const t = peers?.torch;
  if (t?.version && / CUDA on /.test(t.version)) return null;
  return `the PyTorch peer is not on CUDA (${t?.version ?? t?.unavailable ?? 'no peer recorded'})`;
}

/** Lines that are a MISS because ours failed (not a ratio): no peer's absence withholds them. */
const ownFailures = new WeakSet<BarLine>();
const ownFailure = (l: BarLine): BarLine => (ownFailures.add(l), l);

/** A PyTorch line without a verdict when its peer was not CUDA, saying so (a ratio against a CPU peer proves nothing either way). */
function cudaOnly(l: BarLine, peers: Peers | undefined): BarLine {
  const why = l.measured === null || ownFailures.has(l) ? null : notCuda(peers);
  return why ? { ...l, pass: null, source: `${l.source}; no verdict: ${why}` } : l;
}

/** The families the suite must pass under (bench/device/run-args.ts --variants). */
const FAMILIES = ['register', 'tiled'];

/**
 * The kernel suite's line: PASS only when every test of both families ran and passed; MISS when
 * a test failed (or the part failed); no verdict when the part did not run, was skipped, or was
 * cut short without a failure, or ran only some tests or families, or skipped a test (a skipped
 * test is one that did not pass on the GPU; they are listed).
 */
function suiteLine(kernels: PartResult | undefined): BarLine {
  const text = { line: 'every correctness test passes on the GPU', measured: null, limit: 'all pass' };
  if (!kernels) return { ...text, pass: null, source: 'kernels part not run' };
  const d = (kernels.detail ?? {}) as SuiteDetail;
  const ran = Object.keys(d.variants ?? {});
  const failedTests = Object.values(d.variants ?? {}).some((v) => (v.failed ?? 0) > 0);
  // Round trips through a PyTorch on the host (test/golden.ts hostTorchTest) test file interop,
  // not the GPU's arithmetic: skipped where the host has no torch, they are listed but do not
  // withhold the verdict. Any other skip does.
  const skipped = Object.entries(d.variants ?? {}).filter(([, v]) => (v.skipped ?? 0) > (v.hostTorchSkips?.length ?? 0));
  const hostSkips = [...new Set(Object.values(d.variants ?? {}).flatMap((v) => v.hostTorchSkips ?? []))];
  const scope = d.tests ?? 'all';
  const whole = scope === 'all' && FAMILIES.every((f) => ran.includes(f)) && skipped.length === 0;
  const pass = kernels.status === 'skipped' ? null : kernels.status === 'failed' || failedTests ? false : kernels.status === 'ok' && whole ? true : null;
  const what = `tests ${scope === 'all' ? 'all' : `matching ${scope}`}, families ${ran.join(', ') || 'none'}`;
  const skips = skipped.map(([f, v]) => `${f} skipped ${v.skipped}${v.skippedTests?.length ? ` (${v.skippedTests.join('; ')})` : ''}`).join(', ');
  const host = hostSkips.length ? `; skipped, needing PyTorch on the host: ${hostSkips.join('; ')}` : '';
  return { ...text, pass, source: `kernels part ${kernels.status}, ${what}${skips ? `; ${skips}` : ''}${host}${kernels.error ? `: ${kernels.error}` : ''}` };
}

const at = (limit: number, measured: number | null | undefined, most: boolean) => {
  if (measured === null || measured === undefined || !Number.isFinite(measured)) return { measured: null, pass: null };
  return { measured, pass: most ? measured <= limit : measured >= limit };
};

function line(text: string, limit: number, most: boolean, measured: number | null | undefined, source: string, missing: string): BarLine {
  const m = at(limit, measured, most);
  return { line: text, limit: `${most ? '<=' : '>='} ${limit}`, ...m, source: m.measured === null ? missing : source };
}

const list = (xs: string[], most = 4) => `${xs.slice(0, most).join('; ')}${xs.length > most ? `; and ${xs.length - most} more` : ''}`;

/**
 * A summed line's verdict only over the whole family: every expected row finished with our figure
 * and the peer's, in calls that finished. A row of ours that failed is a MISS (the engine did not
 * do that convolution); any other gap gives no verdict, saying which rows.
 */
function wholeFamily(l: BarLine, fam: FamilyTotals | undefined, peer: 'torch' | 'tfjs'): BarLine {
  // Before the figure's absence: when every row of ours failed there is no sum, and that is a MISS.
  if (fam?.oursFailed?.length) return ownFailure({ ...l, pass: false, source: `${l.source}; MISS: our rows failed: ${list(fam.oursFailed)}` });
  if (!fam || l.measured === null) return l;
  const why: string[] = [];
  if (fam.status !== 'ok') why.push(`its bench call ${fam.status ?? 'not recorded'}`);
  if (fam.missing === undefined || fam.expected === undefined) why.push('no expected row list');
  else if (fam.missing.length) why.push(`${fam.missing.length} of ${fam.expected} rows not measured (${list(fam.missing)})`);
  const p = fam[peer];
  if (p?.lacking?.length) why.push(`${p.lacking.length} rows without the peer's figure (${list(p.lacking)})`);
  else if (p?.complete !== true && why.length === 0) why.push("the peer's figures are incomplete");
  if (peer === 'torch') {
    const t = fam.torch;
    if (!t?.tf32Unproven || t.tf32Unproven.length) why.push(`TF32 not shown off for ${t?.tf32Unproven ? list(t.tf32Unproven) : 'any row'} (torch-cuda.jsonl fp32_settings)`);
  }
  return why.length ? { ...l, pass: null, source: `${l.source}; no verdict: ${why.join('; ')}` } : l;
}

/** A step row's line against PyTorch: its own failure is a MISS; TF32 must be shown off. */
function stepTorch(l: BarLine, r: StepRow | undefined): BarLine {
  if (r?.error) return ownFailure({ ...l, pass: false, source: `${l.source}; MISS: our step failed: ${r.error}` });
  if (l.measured === null || !r) return l;
  if (r.tf32Off !== true) return { ...l, pass: null, source: `${l.source}; no verdict: TF32 not shown off for this request (torch-cuda.jsonl fp32_settings)` };
  return r.tf32Near ? { ...l, source: `${l.source}; note: fp32 within 10% of TF32 on` } : l;
}

/** The bar's lines from the parts a run recorded (device-run.json's `parts`). */
export function barLines(parts: Partial<Record<Part, PartResult>>): BarLine[] {
  const bench = parts.bench?.detail as { families?: Record<string, FamilyTotals>; peers?: Peers } | undefined;
  const conv = bench?.families?.conv2d;
  const noConv = parts.bench ? `bench part ${parts.bench.status}: no conv2d rows with that peer` : 'bench part not run';
  const step = parts.step?.detail as { rows?: StepRow[]; gradmixOverPlain?: number | null; gradmixOverPlainKernel?: number | null; peers?: Peers } | undefined;
  const stepRow = (method: string) => step?.rows?.find((r) => r.name.startsWith('train-step ') && r.name.includes('resnet18') && r.name.endsWith(` ${method}`));
  const noStep = parts.step ? `step part ${parts.step.status}: no figure` : 'step part not run';
  const train = parts.train?.detail as { runs?: TrainRow[] } | undefined;
  const mnist = train?.runs?.find((r) => /^mnist w/.test(r.name));
  const near = conv?.torch?.tf32Near?.length ? `; fp32 within 10% of TF32 on: ${list(conv.torch.tf32Near)}` : '';
  const lines = [
    cudaOnly(
      wholeFamily(
        line(
          'convolutions, ours / PyTorch CUDA fp32 (TF32 off), summed',
          2,
          true,
          conv?.torch?.oursOverTorch,
          `bench.json conv2d, ${conv?.torch?.rows ?? 0} of ${conv?.expected ?? '?'} rows (our wall time)${conv?.torchTf32 ? `; beside it, TF32 on: ${conv.torchTf32.oursOverTorchTf32.toFixed(3)} over ${conv.torchTf32.rows} rows` : ''}${near}`,
          noConv,
        ),
        conv,
        'torch',
      ),
      bench?.peers,
    ),
    wholeFamily(
      line(
        'convolutions, TF.js WebGPU / ours, summed',
        5,
        false,
        conv?.tfjs?.tfjsOverOurs,
        `bench.json conv2d, ${conv?.tfjs?.rows ?? 0} of ${conv?.expected ?? '?'} rows (each row on one clock: GPU time, or wall time where the two were timed differently)`,
        noConv,
      ),
      conv,
      'tfjs',
    ),
  ];
  for (const method of ['none', 'gradmix']) {
    const r = stepRow(method);
    const name = method === 'none' ? 'plain' : 'GradMix';
    const src = `step.json ${r?.name ?? ''}`;
    lines.push(
      cudaOnly(stepTorch(line(`training step ${name}, ours / PyTorch CUDA`, 2, true, r?.oursOverTorch, src, r?.torchError ? `${src}: PyTorch failed: ${r.torchError}` : noStep), r), step?.peers),
    );
    const busy = line(`training step ${name}, GPU busy fraction`, 0.9, false, r?.gpuBusy, `${src} (kernel time / wall time of a profiled step)`, noStep);
    // Above 1 the timestamps cannot be right (an unwritten query reads 0): a figure, no verdict.
    lines.push(busy.measured !== null && busy.measured > 1.001 ? { ...busy, pass: null, source: `${busy.source}; no verdict: over 1, the kernels' timestamps are not plausible` } : busy);
  }
  const kernelRatio = step?.gradmixOverPlainKernel ? `; by kernel GPU time ${step.gradmixOverPlainKernel.toFixed(3)}` : '';
  lines.push(line('GradMix step / plain step, wall time', 1.4, true, step?.gradmixOverPlain, `step.json (wall time per step)${kernelRatio}`, noStep));
  lines.push(suiteLine(parts.kernels));
  lines.push(mnistLine(mnist, parts.train));
  return lines;
}

/**
 * Full MNIST's line says what was run (split, seed, epochs of those planned, training images).
 * No verdict when training was stopped before its first epoch's end, or stopped at its share
 * below the limit (not trained to the end), or not on the full training set; a stopped run already
 * above the limit passes (the issue asks for as many epochs as fit).
 */
function mnistLine(mnist: TrainRow | undefined, train: PartResult | undefined): BarLine {
  const ran = mnist ? `; split 0 seed 0, ${mnist.epochsDone ?? '?'} of ${mnist.epochsPlanned ?? mnist.epochs ?? '?'} epochs, ${mnist.trainedImages ?? '?'} training images` : '';
  const cut = mnist?.interrupted ? ' (stopped at its time share; the checkpoint it saved was evaluated)' : '';
  const l = line(
    'full MNIST AUROC (paper 0.998)',
    0.99,
    false,
    mnist?.auroc,
    `train.json ${mnist?.name ?? ''}${ran}${cut}`,
    train ? `train part ${train.status}: no full-MNIST AUROC${ran}` : 'train part not run',
  );
  if (l.measured === null || !mnist) return l;
  const why = !(mnist.epochsDone! > 0)
    ? 'no epoch finished before it was stopped'
    : mnist.interrupted && l.pass === false
      ? 'not trained to the end'
      : mnist.maxTrain !== 0
        ? `not the whole training set (--max-train ${mnist.maxTrain ?? 'not recorded'})`
        : null;
  return why ? { ...l, pass: null, source: `${l.source}; no verdict: ${why}` } : l;
}

/** The bar as a table for the log. */
export function formatBar(lines: BarLine[]): string {
  const verdict = (l: BarLine) => (l.pass === null ? (l.measured === null ? 'no figure' : 'no verdict') : l.pass ? 'PASS' : 'MISS');
  const value = (l: BarLine) => (l.measured === null ? '-' : l.measured.toFixed(3));
  const width = Math.max(...lines.map((l) => l.line.length));
  return lines.map((l) => `${l.line.padEnd(width)}  ${value(l).padStart(8)}  ${l.limit.padEnd(8)}  ${verdict(l).padEnd(9)}  ${l.source}`).join('\n');
}
