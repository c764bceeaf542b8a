// The device run (bundled to app/js/device-run.mjs; run.sh starts it with the kit's Node): the five
// parts of a GPU check, each in child processes under its own time budget, writing a summary JSON
// after every part (so a run cut short still says what it saw) and a log of all output.
//   a adapter  the adapter in use; anything but --expect stops the run (exit code 2)
//   b kernels  the kernel correctness tests under each variant family (GRADMIX_KERNEL_VARIANT), side by side
//   c bench    the kernel families against TF.js WebGPU and PyTorch, with the device ceilings
//   d step     the training step row (plain and GradMix) and the peak memory of a step
//   e train    gradmix train end to end on mnist-mini (seeds x methods) and full MNIST
// Sizes: tiny by default (the dry run on a CPU rasteriser); --full: the GPU sizes of item 2.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adapterMatches, wrongAdapter } from './expect.js';
import { salvageRows } from './salvage-rows.js';

const USAGE = `usage: run.sh --expect nvidia|llvmpipe|<regex> [--full] [--out DIR] [--only PARTS] [--skip PARTS]
              [--budget PART=SECONDS,...] [--variants register,tiled] [--tests REGEX] [--mnist-epochs N]
parts: a adapter, b kernels, c bench, d step, e train (letters or names, comma-separated); the adapter
check runs before any other part whatever --only says.`;

const PARTS = ['adapter', 'kernels', 'bench', 'step', 'train'] as const;
type Part = (typeof PARTS)[number];
const LETTER: Record<string, Part> = { a: 'adapter', b: 'kernels', c: 'bench', d: 'step', e: 'train' };

interface MiniRuns {
  width: number;
  epochs: number;
  batch: number;
  maxTrain: number;
  seeds: number[];
  methods: string[];
}

interface Sizes {
  budgets: Record<Part, number>;
  tests: string | null;
  bench: { mode: 'quick' | 'full'; width: number; batch: number; groups: { filters: string[]; weight: number }[] };
  step: { mode: 'quick' | 'full'; width: number; batch: number; filters: string[] };
  mini: MiniRuns;
  mnist: { width: number; epochs: number; batch: number; maxTrain: number; evaluate: boolean; weight: number };
}

/** The GPU run of item 2: about 7 minutes in all (410 s of budgets). */
const FULL: Sizes = {
  budgets: { adapter: 10, kernels: 90, bench: 90, step: 60, train: 160 },
  tests: null,
  bench: {
    mode: 'full', width: 64, batch: 256,
    groups: [
      // The convolutions are the bar's first line: most of the budget (21 rows, each with TF.js
      // and PyTorch fp32 + TF32). A group over its share loses only its own rows.
      { filters: ['^conv2d '], weight: 4 },
      { filters: ['^matmul '], weight: 1 },
      { filters: ['^(batchnorm|contrastive|adam|knn|layercam|paste) '], weight: 1 },
    ],
  },
  step: { mode: 'full', width: 64, batch: 256, filters: ['^train-step step resnet18 ', '^memory peak'] },
  mini: { width: 16, epochs: 15, batch: 256, maxTrain: 0, seeds: [0, 1, 2], methods: ['none', 'gradmix'] },
  mnist: { width: 64, epochs: 4, batch: 256, maxTrain: 0, evaluate: true, weight: 4 },
};

/** The dry run on lavapipe: every path taken once, at sizes a 2-core CPU finishes in minutes. */
const TINY: Sizes = {
  budgets: { adapter: 30, kernels: 100, bench: 90, step: 90, train: 150 },
  tests: '^(matmul|conv-gemm|knn)$',
  bench: {
    mode: 'quick', width: 2, batch: 2,
    groups: [
      { filters: ['^conv2d .*layer1\\.0\\.conv1'], weight: 1 },
      { filters: ['^matmul ', '^knn '], weight: 1 },
    ],
  },
  step: { mode: 'quick', width: 2, batch: 2, filters: ['^train-step step resnet18 ', '^memory peak'] },
  mini: { width: 2, epochs: 1, batch: 32, maxTrain: 64, seeds: [0], methods: ['gradmix'] },
  mnist: { width: 2, epochs: 1, batch: 32, maxTrain: 64, evaluate: false, weight: 1 },
};

interface Args {
  expect: string;
  full: boolean;
  out: string;
  work: string;
  parts: Set<Part>;
  budgets: Partial<Record<Part, number>>;
  variants: string[];
  tests: string | null | undefined;
  mnistEpochs: number | undefined;
}

class UsageError extends Error {}

function parts(list: string, flag: string): Part[] {
  return list.split(',').filter(Boolean).map((p) => {
    const part = LETTER[p] ?? ((PARTS as readonly string[]).includes(p) ? (p as Part) : null);
    if (!part) throw new UsageError(`${flag}: unknown part '${p}'; parts are a adapter, b kernels, c bench, d step, e train`);
    return part;
  });
}

function parseArgs(argv: string[]): Args {
  let expect: string | undefined;
  let full = false;
  let out = process.env.OUT || '';
  let work = process.env.GRADMIX_KIT_WORK || '';
  let only: Part[] | null = null;
  let skip: Part[] = [];
  const budgets: Partial<Record<Part, number>> = {};
  let variants = ['register', 'tiled'];
  let tests: string | null | undefined;
  let mnistEpochs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--expect') expect = value();
    else if (a === '--full') full = true;
    else if (a === '--out') out = value();
    else if (a === '--work') work = value();
    else if (a === '--only') only = parts(value(), a);
    else if (a === '--skip') skip = parts(value(), a);
    else if (a === '--budget') {
      for (const kv of value().split(',')) {
        const [k, v] = kv.split('=');
        const [part] = parts(k ?? '', a);
        const s = Number(v);
        if (!(s > 0)) throw new UsageError(`--budget ${kv}: the seconds must be a positive number, e.g. --budget kernels=120`);
        budgets[part] = s;
      }
    } else if (a === '--variants') {
      variants = value().split(',');
      const bad = variants.filter((v) => v !== 'register' && v !== 'tiled');
      if (bad.length) throw new UsageError(`--variants: '${bad.join(',')}' is not a variant family; GRADMIX_KERNEL_VARIANT takes register or tiled`);
    } else if (a === '--tests') tests = value();
    else if (a === '--mnist-epochs') {
      mnistEpochs = Number(value());
      if (!Number.isInteger(mnistEpochs) || mnistEpochs < 1) throw new UsageError('--mnist-epochs needs a positive integer');
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown argument '${a}'`);
  }
  if (!expect) throw new UsageError('--expect is required: nvidia on the GPU machine, llvmpipe for the dry run on lavapipe (or a regular expression on the adapter description)');
  if (!out) throw new UsageError('no output folder: pass --out DIR (on the device machine $OUT is used)');
  const chosen = new Set<Part>(only ?? PARTS);
  for (const p of skip) chosen.delete(p);
  chosen.add('adapter');
  return { expect, full, out: resolve(out), work: resolve(work || join(out, 'work')), parts: chosen, budgets, variants, tests, mnistEpochs };
}

type Status = 'ok' | 'failed' | 'timeout' | 'partial' | 'skipped';

const SEVERITY: Status[] = ['skipped', 'ok', 'partial', 'timeout', 'failed'];
const worse = (a: Status, b: Status): Status => (SEVERITY.indexOf(a) >= SEVERITY.indexOf(b) ? a : b);

interface PartResult {
  status: Status;
  budgetS: number;
  seconds: number;
  detail?: unknown;
  error?: string;
}

interface ChildResult {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  seconds: number;
  tail: string;
  /** Everything it printed. */
  output: string;
}

const here = dirname(fileURLToPath(import.meta.url));
let logFile = '';

function log(line: string): void {
  console.log(line);
  if (logFile) appendFileSync(logFile, line + '\n');
}

/**
 * Runs one of the kit's bundles in a child process with a time cap. At the cap it is sent
 * `stopSignal` (SIGINT lets `gradmix train` save its checkpoint), then SIGKILL after `graceS`.
 */
function runChild(label: string, script: string, args: string[], capS: number, opts: { env?: Record<string, string>; stopSignal?: NodeJS.Signals; graceS?: number; prefix?: boolean } = {}): Promise<ChildResult> {
  const t0 = Date.now();
  log(`--- ${label}: ${script} ${args.join(' ')} (cap ${capS.toFixed(0)} s)`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(here, script), ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const emit = (s: string) => {
      process.stdout.write(s);
      if (logFile) appendFileSync(logFile, s);
    };
    // Children that run side by side (opts.prefix) get their label on every whole line.
    const take = (d: Buffer) => {
      const s = String(d);
      output += s;
      if (!opts.prefix) return emit(s);
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      if (lines.length) emit(lines.map((l) => `[${label}] ${l}\n`).join(''));
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      log(`--- ${label}: time budget of ${capS.toFixed(0)} s reached, sending ${opts.stopSignal ?? 'SIGTERM'}`);
      child.kill(opts.stopSignal ?? 'SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), (opts.graceS ?? 5) * 1000);
    }, Math.max(1, capS) * 1000);
    child.on('close', (code, signal) => {
      if (partial) emit(`[${label}] ${partial}\n`);
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      const seconds = (Date.now() - t0) / 1000;
      log(`--- ${label}: exit ${code ?? signal} after ${seconds.toFixed(1)} s${timedOut ? ' (over budget)' : ''}`);
      done({ code, signal, timedOut, seconds, tail: output.slice(-6000), output });
    });
  });
}

function readJson<T = Record<string, unknown>>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The last error-looking line of a child's output, for the summary. */
function lastError(tail: string): string {
  const lines = tail.trim().split('\n').filter((l) => l.trim() && !l.startsWith('Warning: maxDynamic'));
  return (lines.reverse().find((l) => /error|fail|cannot|not found|no /i.test(l)) ?? lines[0] ?? '').slice(0, 400);
}

class Run {
  readonly sizes: Sizes;
  readonly results: Partial<Record<Part, PartResult>> = {};
  readonly started = new Date();
  private readonly summaryFile: string;
  private host: Record<string, unknown>;

  constructor(readonly args: Args) {
    const base = args.full ? FULL : TINY;
    this.sizes = {
      ...base,
      budgets: { ...base.budgets, ...args.budgets },
      tests: args.tests === undefined ? base.tests : args.tests,
      mnist: { ...base.mnist, epochs: args.mnistEpochs ?? base.mnist.epochs },
    };
    this.summaryFile = join(args.out, 'device-run.json');
    this.host = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, gpus: nvidiaSmi() };
  }

  write(): void {
    const kit = process.env.GRADMIX_KIT_MANIFEST ? readJson(process.env.GRADMIX_KIT_MANIFEST) : null;
    const ran = Object.values(this.results);
    writeFileSync(this.summaryFile, JSON.stringify({
      ok: ran.length > 0 && ran.every((r) => r.status === 'ok' || r.status === 'skipped'),
      mode: this.args.full ? 'full' : 'tiny',
      expect: this.args.expect,
      started: this.started.toISOString(),
      seconds: (Date.now() - this.started.getTime()) / 1000,
      kit: kit ? { id: kit.id, commit: kit.commit, built: kit.built, node: kit.node, webgpu: kit.webgpu } : null,
      host: this.host,
      sizes: this.sizes,
      parts: this.results,
    }, null, 2) + '\n');
  }

  /** Checks the adapter a part's child reported; a mismatch fails the part loudly. */
  adapterOk(adapter: string | undefined, where: string): string | null {
    if (adapter && adapterMatches(this.args.expect, adapter)) return null;
    const msg = wrongAdapter(this.args.expect, adapter ?? 'not reported', where);
    log(msg);
    return msg;
  }

  async part(name: Part, body: (budget: number, deadline: number) => Promise<Omit<PartResult, 'budgetS' | 'seconds'>>): Promise<PartResult> {
    const budget = this.sizes.budgets[name];
    const t0 = Date.now();
    log(`=== part ${name} (budget ${budget} s)`);
    let r: Omit<PartResult, 'budgetS' | 'seconds'>;
    try {
      r = await body(budget, t0 + budget * 1000);
    } catch (e) {
      r = { status: 'failed', error: (e as Error).message };
    }
    const result: PartResult = { ...r, budgetS: budget, seconds: +((Date.now() - t0) / 1000).toFixed(1) };
    this.results[name] = result;
    this.write();
    log(`=== part ${name}: ${result.status} in ${result.seconds} s${result.error ? `: ${result.error}` : ''}`);
    return result;
  }
}

function nvidiaSmi(): string | null {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

const secondsLeft = (deadline: number) => Math.max(0, (deadline - Date.now()) / 1000);

async function adapterPart(run: Run, budget: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const file = join(run.args.work, 'adapter.json');
  const c = await runChild('adapter', 'adapter.mjs', ['--expect', run.args.expect, '--json', file], budget);
  const report = readJson<{ adapter: string; matches: boolean }>(file);
  if (c.timedOut) return { status: 'timeout', detail: report, error: `no adapter within ${budget} s` };
  if (!report) return { status: 'failed', error: `no adapter: ${lastError(c.tail)}` };
  if (!report.matches || c.code !== 0) return { status: 'failed', detail: report, error: wrongAdapter(run.args.expect, report.adapter, 'part a') };
  return { status: 'ok', detail: report };
}

/**
 * The variant families side by side, each in its own process with the whole budget: the tests
 * check results, not speed, and are mostly single-threaded JavaScript references (the GPU machine
 * has 16 cores).
 */
async function kernelsPart(run: Run, budget: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const variants: Record<string, unknown> = {};
  let status: Status = 'ok';
  const errors: string[] = [];
  const done = await Promise.all(run.args.variants.map(async (v) => {
    const file = join(run.args.work, `kernels-${v}.json`);
    const args = ['--json', file, ...(run.sizes.tests ? ['--tests', run.sizes.tests] : [])];
    const c = await runChild(`kernels ${v}`, 'kernel-suite.mjs', args, budget, { env: { GRADMIX_KERNEL_VARIANT: v }, prefix: true });
    return { v, c, r: existsSync(file) && !c.timedOut ? readJson<{ adapter: string; kernelVariant: string; failed: number; total: number }>(file) : null };
  }));
  for (const { v, c, r } of done) {
    variants[v] = r ?? { exit: c.code ?? c.signal, seconds: c.seconds, tail: c.tail.slice(-2000) };
    if (c.timedOut) {
      status = worse(status, 'timeout');
      errors.push(`${v}: over its ${budget} s`);
    } else if (!r || c.code !== 0) {
      if (status === 'ok') status = 'failed';
      errors.push(`${v}: ${r ? `${r.failed} of ${r.total} tests failed` : lastError(c.tail)}`);
    } else if (r.kernelVariant !== v) {
      status = 'failed';
      errors.push(`${v}: the suite ran variant ${r.kernelVariant}`);
    }
    const wrong = r ? run.adapterOk(r.adapter, `kernels ${v}`) : null;
    if (wrong) {
      status = 'failed';
      errors.push(wrong);
    }
  }
  return { status, detail: { tests: run.sizes.tests ?? 'all', variants }, ...(errors.length ? { error: errors.join('; ') } : {}) };
}

interface BenchRow {
  family: string;
  name: string;
  ms?: number;
  wallMs?: number;
  method?: string;
  error?: string;
  note?: string;
  cpu?: { ours?: number; tfjs?: number; torch?: number };
  tfjs?: { ms?: number; ratio?: number; error?: string };
  torch?: { ms?: number; ratio?: number; error?: string };
}

interface BenchFile {
  adapter: string;
  rows: BenchRow[];
  /** Rows read back from the printed table of a call stopped at its budget. */
  salvaged?: boolean;
  [k: string]: unknown;
}

/**
 * One `bench.mjs` run; its JSON, or why there is none. A run stopped at its cap wrote no JSON: the
 * rows it finished are read back from its printed table (marked salvaged).
 */
async function benchRun(label: string, mode: string, width: number, batch: number, filters: string[], file: string, cap: number) {
  const args = [mode, ...filters, '--width', String(width), '--batch', String(batch), '--json', file];
  const c = await runChild(label, 'bench.mjs', args, cap);
  let json = !c.timedOut && existsSync(file) ? readJson<BenchFile>(file) : null;
  if (c.timedOut) {
    const rows = salvageRows(c.output);
    const adapter = /^adapter: (.*) \(kernel variant/m.exec(c.output)?.[1];
    if (rows?.length && adapter) json = { adapter, rows, salvaged: true };
  }
  return { c, json };
}

/**
 * Sums over rows that have every figure: ours (GPU and wall), TF.js and PyTorch, for the bar's
 * ratios (PyTorch against our wall clock, as bench/run.ts compares them; a salvaged row has only
 * its GPU time).
 */
function totals(rows: BenchRow[]) {
  const ok = rows.filter((r) => r.ms !== undefined && !r.error);
  const sum = (f: (r: BenchRow) => number | undefined, rs = ok) => rs.reduce((s, r) => s + (f(r) ?? 0), 0);
  const withTorch = ok.filter((r) => r.torch?.ms !== undefined);
  const withTfjs = ok.filter((r) => r.tfjs?.ms !== undefined);
  const wall = (r: BenchRow) => r.wallMs ?? r.ms;
  return {
    rows: rows.length,
    oursMs: sum((r) => r.ms),
    torch: withTorch.length ? { rows: withTorch.length, oursWallMs: sum(wall, withTorch), torchMs: sum((r) => r.torch!.ms, withTorch), oursOverTorch: sum(wall, withTorch) / sum((r) => r.torch!.ms, withTorch) } : null,
    tfjs: withTfjs.length ? { rows: withTfjs.length, oursMs: sum((r) => r.ms, withTfjs), tfjsMs: sum((r) => r.tfjs!.ms, withTfjs), tfjsOverOurs: sum((r) => r.tfjs!.ms, withTfjs) / sum((r) => r.ms, withTfjs) } : null,
  };
}

async function benchPart(run: Run, deadline: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const { mode, width, batch, groups } = run.sizes.bench;
  const merged: BenchFile & { groups: unknown[] } = { adapter: '', rows: [], groups: [] };
  let status: Status = 'ok';
  const errors: string[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    const weights = groups.slice(i).reduce((s, x) => s + x.weight, 0);
    const cap = (secondsLeft(deadline) * g.weight) / weights;
    const file = join(run.args.work, `bench-${i}.json`);
    const { c, json } = await benchRun(`bench ${g.filters.join(' ')}`, mode, width, batch, g.filters, file, cap);
    merged.groups.push({ filters: g.filters, seconds: c.seconds, exit: c.code ?? c.signal, timedOut: c.timedOut, rows: json?.rows.length ?? 0, salvaged: json?.salvaged === true });
    if (json?.salvaged) {
      status = worse(status, 'partial');
      errors.push(`${g.filters.join(' ')}: over its ${cap.toFixed(0)} s; ${json.rows.length} finished rows read from its printed table`);
    }
    if (!json) {
      status = worse(status, c.timedOut ? 'timeout' : 'failed');
      errors.push(`${g.filters.join(' ')}: ${c.timedOut ? `over its ${cap.toFixed(0)} s` : lastError(c.tail)}`);
      continue;
    }
    const { rows, ...rest } = json;
    if (!merged.adapter && !json.salvaged) Object.assign(merged, rest);
    merged.rows.push(...rows);
    const wrong = run.adapterOk(json.adapter, `bench ${g.filters.join(' ')}`);
    if (wrong) {
      status = 'failed';
      errors.push(wrong);
    }
  }
  writeFileSync(join(run.args.out, 'bench.json'), JSON.stringify(merged, null, 2) + '\n');
  const failedRows = merged.rows.filter((r) => r.error).map((r) => `${r.family} ${r.name}: ${r.error}`);
  if (failedRows.length && status === 'ok') status = 'failed';
  if (merged.rows.length === 0 && status === 'ok') {
    status = 'failed';
    errors.push('no rows matched the filters');
  }
  const families = [...new Set(merged.rows.map((r) => r.family))];
  const detail = {
    file: 'bench.json',
    rows: merged.rows.length,
    peers: merged.peers,
    ceilings: merged.ceilings ? { gflops: (merged.ceilings as { gflops: number }).gflops, gbps: (merged.ceilings as { gbps: number }).gbps } : null,
    families: Object.fromEntries(families.map((f) => [f, totals(merged.rows.filter((r) => r.family === f))])),
    failedRows,
  };
  return { status, detail, ...(errors.length || failedRows.length ? { error: [...errors, ...failedRows].join('; ') } : {}) };
}

async function stepPart(run: Run, budget: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const { mode, width, batch, filters } = run.sizes.step;
  const file = join(run.args.work, 'step.json');
  const { c, json } = await benchRun('step', mode, width, batch, filters, file, budget);
  if (!json) return { status: c.timedOut ? 'timeout' : 'failed', error: c.timedOut ? `over its ${budget} s` : lastError(c.tail) };
  const cut = json.salvaged ? `over its ${budget} s; ${json.rows.length} finished rows read from its printed table` : null;
  writeFileSync(join(run.args.out, 'step.json'), JSON.stringify(json, null, 2) + '\n');
  const rows = json.rows.map((r) => ({
    name: `${r.family} ${r.name}`,
    ms: r.ms,
    wallMs: r.wallMs,
    method: r.method,
    // Queue span over wall time: how much of a step the GPU's queue was occupied (timestamps only).
    gpuBusy: r.method === 'gpu-timestamp' && r.ms && r.wallMs ? r.ms / r.wallMs : null,
    cpuMs: r.cpu?.ours ?? null,
    torchMs: r.torch?.ms ?? null,
    oursOverTorch: r.torch?.ratio ?? null,
    tfjsMs: r.tfjs?.ms ?? null,
    note: r.note,
    error: r.error ?? r.torch?.error ?? r.tfjs?.error,
  }));
  const step = (m: string) => json.rows.find((r) => r.family === 'train-step' && r.name.endsWith(` ${m}`) && r.name.includes('resnet18'));
  const plain = step('none');
  const mixed = step('gradmix');
  const failed = json.rows.filter((r) => r.error);
  const missing = !plain || !mixed ? `${cut ? `${cut}; ` : ''}the plain or GradMix step row is missing` : null;
  let status: Status = failed.length ? 'failed' : missing ? (cut ? 'timeout' : 'failed') : cut ? 'partial' : 'ok';
  const wrong = run.adapterOk(json.adapter, 'step');
  if (wrong) status = 'failed';
  const error = wrong ?? (failed.length ? failed.map((r) => `${r.name}: ${r.error}`).join('; ') : (missing ?? cut));
  return {
    status,
    detail: { file: 'step.json', rows, gradmixOverPlain: plain?.ms && mixed?.ms ? mixed.ms / plain.ms : null },
    ...(error ? { error } : {}),
  };
}

interface TrainRun {
  name: string;
  protocol: string;
  args: string[];
  weight: number;
  evaluate: boolean;
}

function trainRuns(s: Sizes): TrainRun[] {
  const runs: TrainRun[] = [];
  const m = s.mini;
  const mini = (seed: number, method: string): TrainRun => ({
    name: `mnist-mini s${seed} ${method}`,
    protocol: 'mnist-mini',
    weight: 1,
    evaluate: true,
    args: ['--protocol', 'mnist-mini', '--split', '0', '--width', String(m.width), '--epochs', String(m.epochs), '--batch', String(m.batch),
      '--seed', String(seed), '--method', method, ...(m.maxTrain ? ['--max-train', String(m.maxTrain)] : [])],
  });
  // Seed 0 of both methods first, then full MNIST, then the other seeds: a short budget still
  // yields a comparison and the full-MNIST figure.
  for (const method of m.methods) runs.push(mini(m.seeds[0], method));
  const n = s.mnist;
  runs.push({
    name: `mnist w${n.width} gradmix`,
    protocol: 'mnist',
    weight: n.weight,
    evaluate: n.evaluate,
    args: ['--protocol', 'mnist', '--split', '0', '--width', String(n.width), '--epochs', String(n.epochs), '--batch', String(n.batch), '--method', 'gradmix',
      ...(n.maxTrain ? ['--max-train', String(n.maxTrain)] : []), ...(n.evaluate ? [] : ['--no-eval'])],
  });
  for (const seed of m.seeds.slice(1)) for (const method of m.methods) runs.push(mini(seed, method));
  return runs;
}

/** auroc and the rest of a results.json, trimmed to what the summary table needs. */
function metrics(file: string) {
  const r = readJson<{ auroc?: number; closedAcc?: number; adapter?: string; status?: string; epochs?: number; trainedImages?: number }>(file);
  return r ? { auroc: r.auroc, closedAcc: r.closedAcc, adapter: r.adapter, status: r.status, epochs: r.epochs, trainedImages: r.trainedImages } : null;
}

async function trainPart(run: Run, deadline: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const runs = trainRuns(run.sizes);
  const table: Record<string, unknown>[] = [];
  let status: Status = 'ok';
  const errors: string[] = [];
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i];
    const weights = runs.slice(i).reduce((s, x) => s + x.weight, 0);
    const cap = (secondsLeft(deadline) * r.weight) / weights;
    if (cap < 5) {
      table.push({ name: r.name, status: 'not run (budget spent)' });
      if (status === 'ok') status = 'partial';
      continue;
    }
    const dir = join(run.args.work, 'runs', r.name.replace(/[^a-z0-9]+/gi, '-'));
    // Train gets most of the run's share; the head-feature evaluation the rest. SIGINT at the cap
    // makes train save its checkpoint, which is then evaluated if time remains.
    const trainCap = r.evaluate ? cap * 0.8 : cap;
    // An evaluation gets what is left of the run's share (at least a fifth of it), so one run's
    // evaluation cannot eat the budget of the runs after it.
    const runStart = Date.now();
    const shareLeft = () => Math.min(secondsLeft(deadline), Math.max(cap - (Date.now() - runStart) / 1000, cap * 0.2));
    const c = await runChild(`train ${r.name}`, 'gradmix.mjs', ['train', ...r.args, '--out', dir, '--quiet'], trainCap, { stopSignal: 'SIGINT', graceS: 20 });
    const row: Record<string, unknown> = { name: r.name, trainSeconds: +c.seconds.toFixed(1), exit: c.code ?? c.signal };
    let encoder = metrics(join(dir, 'results.json'));
    const checkpoint = join(dir, 'checkpoint.safetensors');
    if (!encoder && r.evaluate && c.timedOut && existsSync(checkpoint) && secondsLeft(deadline) > 10) {
      // Interrupted: evaluate the checkpoint it saved (as many epochs as fitted).
      const e = await runChild(`eval ${r.name} (interrupted run)`, 'gradmix.mjs', ['eval', '--checkpoint', checkpoint, '--out', join(dir, 'encoder')], shareLeft());
      row.interrupted = true;
      row.evalSeconds = +e.seconds.toFixed(1);
      encoder = metrics(join(dir, 'encoder', 'results.json'));
    }
    if (encoder) Object.assign(row, { auroc: encoder.auroc, closedAcc: encoder.closedAcc, adapter: encoder.adapter, epochs: encoder.epochs, trainedImages: encoder.trainedImages });
    const logged = readLog(join(dir, 'log.jsonl'));
    if (logged) Object.assign(row, logged);
    if (r.evaluate && existsSync(checkpoint) && secondsLeft(deadline) > 5) {
      const h = await runChild(`eval ${r.name} head`, 'gradmix.mjs', ['eval', '--checkpoint', checkpoint, '--features', 'head', '--out', join(dir, 'head')], shareLeft());
      const head = metrics(join(dir, 'head', 'results.json'));
      row.headAuroc = head?.auroc ?? null;
      row.headSeconds = +h.seconds.toFixed(1);
    }
    row.wallSeconds = +((row.trainSeconds as number) + ((row.evalSeconds as number) ?? 0) + ((row.headSeconds as number) ?? 0)).toFixed(1);
    table.push(row);
    if (c.timedOut && !existsSync(checkpoint)) {
      status = worse(status, 'timeout');
      errors.push(`${r.name}: stopped at its ${trainCap.toFixed(0)} s share before its first checkpoint`);
    } else if (c.timedOut) {
      status = worse(status, 'partial');
      errors.push(`${r.name}: interrupted at its ${trainCap.toFixed(0)} s share (${row.epochsDone ?? 0} epochs)`);
    } else if (c.code !== 0) {
      status = 'failed';
      errors.push(`${r.name}: exit ${c.code ?? c.signal}: ${lastError(c.tail)}`);
    } else if (r.evaluate && (encoder?.auroc === undefined || row.headAuroc === undefined || row.headAuroc === null)) {
      status = worse(status, 'partial');
      errors.push(`${r.name}: no ${encoder?.auroc === undefined ? 'encoder' : 'head'} AUROC`);
    }
    const adapter = encoder?.adapter ?? readJson<{ adapter?: string }>(join(dir, 'config.json'))?.adapter;
    if (adapter) {
      const wrong = run.adapterOk(adapter, `train ${r.name}`);
      if (wrong) {
        status = 'failed';
        errors.push(wrong);
      }
    }
  }
  writeFileSync(join(run.args.out, 'train.json'), JSON.stringify({ runs: table }, null, 2) + '\n');
  return { status, detail: { file: 'train.json', paperMnistAuroc: 0.998, runs: table }, ...(errors.length ? { error: errors.join('; ') } : {}) };
}

/** Epochs logged, the last epoch's loss, seconds and images per second, from a run's log.jsonl. */
function readLog(file: string) {
  try {
    type Logged = { kind?: string; loss?: number; seconds?: number; imagesPerSecond?: number };
    const rows = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Logged);
    const epochs = rows.filter((r) => r.kind === 'epoch');
    const last = epochs.at(-1);
    return { epochsDone: epochs.length, lastLoss: last?.loss ?? null, lastEpochSeconds: last?.seconds ?? null, imagesPerSecond: last?.imagesPerSecond ?? null };
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`device run: ${e.message}\n${USAGE}`);
    return 1;
  }
  mkdirSync(args.out, { recursive: true });
  // A fresh start for the runs and part files of an earlier run in the same work folder (its
  // autotuning choices stay: they are per adapter and shape class).
  for (const f of ['runs', 'adapter.json', 'step.json', ...args.variants.map((v) => `kernels-${v}.json`)]) rmSync(join(args.work, f), { recursive: true, force: true });
  for (const f of ['bench.json', 'step.json', 'train.json', 'torch-cuda.jsonl']) rmSync(join(args.out, f), { force: true });
  mkdirSync(args.work, { recursive: true });
  logFile = join(args.out, 'device-run.log');
  if (!process.env.GRADMIX_KIT_LOG_APPEND) writeFileSync(logFile, '');
  const run = new Run(args);
  log(`device run: ${args.full ? 'full (GPU sizes)' : 'tiny (dry-run sizes)'}, expect ${args.expect}, parts ${[...args.parts].join(', ')}; out ${args.out}`);
  // Autotuning choices of this run stay in its work folder (a fresh machine has none anyway).
  process.env.GRADMIX_AUTOTUNE_CACHE ??= join(args.work, 'autotune');

  const a = await run.part('adapter', (budget) => adapterPart(run, budget));
  if (a.status !== 'ok') {
    for (const p of PARTS.slice(1)) if (args.parts.has(p)) run.results[p] = { status: 'skipped', budgetS: run.sizes.budgets[p], seconds: 0, error: 'the adapter check failed' };
    run.write();
    log(`device run: STOPPED: ${a.error}`);
    return 2;
  }
  if (args.parts.has('kernels')) await run.part('kernels', (budget) => kernelsPart(run, budget));
  if (args.parts.has('bench')) await run.part('bench', (_b, deadline) => benchPart(run, deadline));
  if (args.parts.has('step')) await run.part('step', (budget) => stepPart(run, budget));
  if (args.parts.has('train')) await run.part('train', (_b, deadline) => trainPart(run, deadline));
  run.write();
  const bad = Object.entries(run.results).filter(([, r]) => r.status !== 'ok');
  log(`device run: ${bad.length ? `NOT OK: ${bad.map(([p, r]) => `${p} ${r.status}`).join(', ')}` : 'every part ok'} in ${((Date.now() - run.started.getTime()) / 1000).toFixed(0)} s; summary ${join(args.out, 'device-run.json')}`);
  return bad.length ? 1 : 0;
}

process.exitCode = await main();
