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

interface FamilyTotals {
  torch: { rows: number; oursOverTorch: number } | null;
  torchTf32?: { rows: number; oursOverTorchTf32: number } | null;
  tfjs: { rows: number; tfjsOverOurs: number } | null;
}
interface StepRow {
  name: string;
  gpuBusy: number | null;
  oursOverTorch: number | null;
}
interface TrainRow {
  name: string;
  auroc?: number;
  interrupted?: boolean;
  epochsDone?: number;
}
interface SuiteDetail {
  tests?: string;
  variants?: Record<string, { failed?: number }>;
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

/** A PyTorch line without a verdict when its peer was not CUDA, saying so. */
function cudaOnly(l: BarLine, peers: Peers | undefined): BarLine {
  const why = l.measured === null ? null : notCuda(peers);
  return why ? { ...l, pass: null, source: `${l.source}; no verdict: ${why}` } : l;
}

/** The families the suite must pass under (bench/device/run-args.ts --variants). */
const FAMILIES = ['register', 'tiled'];

/**
 * The kernel suite's line: PASS only when every test of both families ran and passed; MISS when
 * a test failed (or the part failed); no verdict when the part did not run, was skipped, or was
 * cut short without a failure, or ran only some tests or families.
 */
function suiteLine(kernels: PartResult | undefined): BarLine {
  const text = { line: 'every correctness test passes on the GPU', measured: null, limit: 'all pass' };
  if (!kernels) return { ...text, pass: null, source: 'kernels part not run' };
  const d = (kernels.detail ?? {}) as SuiteDetail;
  const ran = Object.keys(d.variants ?? {});
  const failedTests = Object.values(d.variants ?? {}).some((v) => (v.failed ?? 0) > 0);
  const scope = d.tests ?? 'all';
  const whole = scope === 'all' && FAMILIES.every((f) => ran.includes(f));
  const pass = kernels.status === 'skipped' ? null : kernels.status === 'failed' || failedTests ? false : kernels.status === 'ok' && whole ? true : null;
  const what = `tests ${scope === 'all' ? 'all' : `matching ${scope}`}, families ${ran.join(', ') || 'none'}`;
  return { ...text, pass, source: `kernels part ${kernels.status}, ${what}${kernels.error ? `: ${kernels.error}` : ''}` };
}

const at = (limit: number, measured: number | null | undefined, most: boolean) => {
  if (measured === null || measured === undefined || !Number.isFinite(measured)) return { measured: null, pass: null };
  return { measured, pass: most ? measured <= limit : measured >= limit };
};

function line(text: string, limit: number, most: boolean, measured: number | null | undefined, source: string, missing: string): BarLine {
  const m = at(limit, measured, most);
  return { line: text, limit: `${most ? '<=' : '>='} ${limit}`, ...m, source: m.measured === null ? missing : source };
}

/** The bar's lines from the parts a run recorded (device-run.json's `parts`). */
export function barLines(parts: Partial<Record<Part, PartResult>>): BarLine[] {
  const bench = parts.bench?.detail as { families?: Record<string, FamilyTotals>; peers?: Peers } | undefined;
  const conv = bench?.families?.conv2d;
  const noConv = parts.bench ? `bench part ${parts.bench.status}: no conv2d rows with that peer` : 'bench part not run';
  const step = parts.step?.detail as { rows?: StepRow[]; gradmixOverPlain?: number | null; peers?: Peers } | undefined;
  const stepRow = (method: string) => step?.rows?.find((r) => r.name.startsWith('train-step ') && r.name.includes('resnet18') && r.name.endsWith(` ${method}`));
  const noStep = parts.step ? `step part ${parts.step.status}: no figure` : 'step part not run';
  const train = parts.train?.detail as { runs?: TrainRow[] } | undefined;
  const mnist = train?.runs?.find((r) => /^mnist w/.test(r.name));
  const lines = [
    cudaOnly(
      line(
        'convolutions, ours / PyTorch CUDA fp32 (TF32 off), summed',
        2,
        true,
        conv?.torch?.oursOverTorch,
        `bench.json conv2d, ${conv?.torch?.rows ?? 0} rows (our wall time)${conv?.torchTf32 ? `; beside it, TF32 on: ${conv.torchTf32.oursOverTorchTf32.toFixed(3)} over ${conv.torchTf32.rows} rows` : ''}`,
        noConv,
      ),
      bench?.peers,
    ),
    line('convolutions, TF.js WebGPU / ours, summed', 5, false, conv?.tfjs?.tfjsOverOurs, `bench.json conv2d, ${conv?.tfjs?.rows ?? 0} rows (GPU time)`, noConv),
  ];
  for (const method of ['none', 'gradmix']) {
    const r = stepRow(method);
    const name = method === 'none' ? 'plain' : 'GradMix';
    lines.push(cudaOnly(line(`training step ${name}, ours / PyTorch CUDA`, 2, true, r?.oursOverTorch, `step.json ${r?.name ?? ''}`, noStep), step?.peers));
    lines.push(line(`training step ${name}, GPU busy fraction`, 0.9, false, r?.gpuBusy, `step.json ${r?.name ?? ''} (kernel time / wall time of a profiled step)`, noStep));
  }
  lines.push(line('GradMix step / plain step', 1.4, true, step?.gradmixOverPlain, 'step.json (GPU time)', noStep));
  lines.push(suiteLine(parts.kernels));
  const cut = mnist?.interrupted ? ` (stopped at its time share after ${mnist.epochsDone ?? '?'} epochs; evaluated as it stood)` : '';
  const mnistLine = line(
    'full MNIST AUROC (paper 0.998)',
    0.99,
    false,
    mnist?.auroc,
    `train.json ${mnist?.name ?? ''}${cut}`,
    parts.train ? `train part ${parts.train.status}: no full-MNIST AUROC` : 'train part not run',
  );
  // A run cut short that already passes, passes; one below the limit was not trained to the end.
  lines.push(mnist?.interrupted && mnistLine.pass === false ? { ...mnistLine, pass: null, source: `${mnistLine.source}; no verdict: not trained to the end` } : mnistLine);
  return lines;
}

/** The bar as a table for the log. */
export function formatBar(lines: BarLine[]): string {
  const verdict = (l: BarLine) => (l.pass === null ? (l.measured === null ? 'no figure' : 'no verdict') : l.pass ? 'PASS' : 'MISS');
  const value = (l: BarLine) => (l.measured === null ? '-' : l.measured.toFixed(3));
  const width = Math.max(...lines.map((l) => l.line.length));
  return lines.map((l) => `${l.line.padEnd(width)}  ${value(l).padStart(8)}  ${l.limit.padEnd(8)}  ${verdict(l).padEnd(9)}  ${l.source}`).join('\n');
}
