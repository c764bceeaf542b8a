// Parts c (the kernel families against the peers, with the device ceilings) and d (the training
// step row and the peak memory of a step).
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingRows, readBenchFile, type BenchFile, type BenchRow } from './salvage-rows.js';
import { median } from '../stats.js';
import { lastError, readJson, runChild } from './run-child.js';
import { secondsLeft, worse, type PartResult, type Run, type Status } from './run-summary.js';

export type { BenchFile, BenchRow } from './salvage-rows.js';

/**
 * One `bench.mjs` run; its JSON (salvaged when the call did not finish: the rows it wrote before it
 * stopped, every field kept), or null when it left none. `extra`: more of bench/run.ts's flags.
 */
export async function benchRun(label: string, mode: string, width: number, batch: number, filters: string[], file: string, cap: number, extra: string[] = []) {
  rmSync(file, { force: true });
  const args = [mode, ...filters, '--width', String(width), '--batch', String(batch), '--json', file, ...extra];
  const c = await runChild(label, 'bench.mjs', args, cap);
  return { c, json: readBenchFile(file) };
}

/** The PyTorch CUDA peer's log line (torch-cuda.jsonl) of each request, by call tag and request id. */
export interface TorchLogEntry {
  call?: string;
  id?: number;
  fp32_ms?: number;
  tf32_ms?: number;
  fp32_settings?: Record<string, unknown>;
}

export function readTorchLog(file: string): TorchLogEntry[] {
  if (!existsSync(file)) return [];
  const found: TorchLogEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      found.push(JSON.parse(line) as TorchLogEntry);
    } catch {
      // a line cut short by a stopped run: the others stand
    }
  }
  return found;
}

/**
 * Whether the fp32 settings the peer logged show TF32 off: both allow_tf32 flags present and false,
 * no fp32_precision of 'tf32', float32_matmul_precision 'highest' where logged, and no TF32
 * override in the environment. Anything else (settings
 * missing, an unknown torch) is not proof.
 */
export function tf32Off(settings: Record<string, unknown> | undefined): boolean {
  if (!settings) return false;
  if (settings.matmul_allow_tf32 !== false || settings.cudnn_allow_tf32 !== false) return false;
  if (Object.entries(settings).some(([k, v]) => k.endsWith('fp32_precision') && v === 'tf32')) return false;
  // 'high' and 'medium' let matmuls use TF32 (or bf16).
  if (settings.float32_matmul_precision !== undefined && settings.float32_matmul_precision !== 'highest') return false;
  return !settings.tf32_override_env;
}

/**
 * Each row's PyTorch log line joined by request (peers.torch.call and the row's torchRequest):
 * the TF32-on time beside the fp32 one, whether TF32 was shown off, and whether the two are within
 * 10% (TF32 made no difference: launch-bound, or the switch did nothing).
 */
export function joinTorchLog(json: BenchFile, log: TorchLogEntry[]): void {
  const call = json.peers?.torch?.call;
  for (const r of json.rows) {
    if (r.torch?.ms === undefined || r.torchRequest === undefined || !call) continue;
    const e = log.find((x) => x.call === call && x.id === r.torchRequest);
    if (!e) continue;
    r.torch.tf32Off = tf32Off(e.fp32_settings);
    if (e.fp32_settings) r.torch.fp32Settings = e.fp32_settings;
    if (typeof e.tf32_ms === 'number') {
      r.torch.tf32Ms = e.tf32_ms;
      r.torch.tf32Near = Math.abs(r.torch.ms - e.tf32_ms) <= 0.1 * r.torch.ms;
    }
  }
}

const key = (r: { family: string; name: string }) => `${r.family} ${r.name}`;

/**
 * A family's sums for the bar, over every row it expected. PyTorch is compared with our wall clock
 * (as bench/run.ts compares them), TF.js with our time by the same method. A sum stands for the
 * family only when `complete`: every expected row has our figure and that peer's (and, for
 * PyTorch, TF32 shown off); otherwise the rows it lacks are listed, by why. `status`: the calls'
 * own (a cut or failed call gives no verdict whatever its rows).
 */
export function totals(rows: BenchRow[], expected: { family: string; name: string }[] = rows, status: Status = 'ok') {
  const have = new Set(rows.map(key));
  const missing = expected.map(key).filter((k) => !have.has(k));
  const oursFailed = rows.filter((r) => r.ms === undefined || r.error).map((r) => `${key(r)}: ${r.error ?? 'no figure'}`);
  const ok = rows.filter((r) => r.ms !== undefined && !r.error);
  // Each shape counts as often as the model has it (conv2d rows' count; absent: once).
  const sum = (f: (r: BenchRow) => number | undefined, rs: BenchRow[]) => rs.reduce((s, r) => s + (r.count ?? 1) * (f(r) ?? 0), 0);
  const peerWhy = (r: BenchRow, p: 'torch' | 'tfjs') => r[p]?.error ?? (r[p] ? 'no figure' : 'not measured');

  const torchLacking = ok.filter((r) => r.torch?.ms === undefined || r.wallMs === undefined).map((r) => `${key(r)}: ${r.wallMs === undefined ? 'no wall time of ours' : peerWhy(r, 'torch')}`);
  const withTorch = ok.filter((r) => r.torch?.ms !== undefined && r.wallMs !== undefined);
  const tf32Unproven = withTorch.filter((r) => r.torch!.tf32Off !== true).map(key);
  const tf32Near = withTorch.filter((r) => r.torch!.tf32Near === true).map(key);
  const withTf32 = withTorch.filter((r) => r.torch?.tf32Ms !== undefined);
  // TF.js is compared on the same clock as ours: our `ms` where both were timed one way, our wall
  // time where the two ways differed and peer-tfjs fell back to both sides' wall time ('wall').
  const tfjsOurs = (r: BenchRow) => (r.tfjs?.method === 'wall' ? r.wallMs : r.ms);
  const tfjsPaired = (r: BenchRow) => r.tfjs?.ms !== undefined && tfjsOurs(r) !== undefined && (r.tfjs.method === undefined || r.tfjs.method === r.method || r.tfjs.method === 'wall');
  const tfjsLacking = ok
    .filter((r) => !tfjsPaired(r))
    .map((r) => `${key(r)}: ${r.tfjs?.ms === undefined ? peerWhy(r, 'tfjs') : tfjsOurs(r) === undefined ? 'no wall time of ours' : `timed by ${r.tfjs.method}, ours by ${r.method}`}`);
  const withTfjs = ok.filter(tfjsPaired);
  const wall = (r: BenchRow) => r.wallMs!;
  const whole = status === 'ok' && missing.length === 0 && oursFailed.length === 0;
  return {
    expected: expected.length,
    rows: rows.length,
    status,
    missing,
    oursFailed,
    oursMs: sum((r) => r.ms, ok),
    torch: withTorch.length
      ? {
          rows: withTorch.length,
          oursWallMs: sum(wall, withTorch),
          torchMs: sum((r) => r.torch!.ms, withTorch),
          oursOverTorch: sum(wall, withTorch) / sum((r) => r.torch!.ms, withTorch),
          complete: whole && torchLacking.length === 0,
          lacking: torchLacking,
          tf32Unproven,
          tf32Near,
        }
      : null,
    // Beside it, TF32 on, over the rows that have that figure too.
    torchTf32: withTf32.length ? { rows: withTf32.length, oursOverTorchTf32: sum(wall, withTf32) / sum((r) => r.torch!.tf32Ms, withTf32) } : null,
    tfjs: withTfjs.length
      ? {
          rows: withTfjs.length,
          oursMs: sum(tfjsOurs, withTfjs),
          tfjsMs: sum((r) => r.tfjs!.ms, withTfjs),
          tfjsOverOurs: sum((r) => r.tfjs!.ms, withTfjs) / sum(tfjsOurs, withTfjs),
          complete: whole && tfjsLacking.length === 0,
          lacking: tfjsLacking,
        }
      : null,
  };
}

const ceilingFigures = (c: unknown) => (c ? { gflops: (c as { gflops: number }).gflops, gbps: (c as { gbps: number }).gbps } : null);

export async function benchPart(run: Run, deadline: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const { mode, width, batch, groups } = run.sizes.bench;
  const merged: BenchFile & { groups: Record<string, unknown>[] } = { adapter: '', rows: [], expected: [], groups: [] };
  const groupStatus: Status[] = [];
  const groupFamilies: (Set<string> | null)[] = [];
  let status: Status = 'ok';
  const errors: string[] = [];
  let ceilingsFile: string | null = null;
  const log = readTorchLog.bind(null, join(run.args.out, 'torch-cuda.jsonl'));
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    const what = g.filters.join(' ');
    const weights = groups.slice(i).reduce((s, x) => s + x.weight, 0);
    const cap = (secondsLeft(deadline) * g.weight) / weights;
    const file = join(run.args.work, `bench-${i}.json`);
    // The first call to get that far measures the ceilings (a 1 GiB copy, 4096^3 GEMMs); the others reuse them.
    const { c, json } = await benchRun(`bench ${what}`, mode, width, batch, g.filters, file, cap, [...(ceilingsFile ? ['--ceilings-from', ceilingsFile] : []), ...(g.args ?? [])]);
    if (json?.ceilings && !ceilingsFile) ceilingsFile = file;
    let gs: Status = 'ok';
    const gErrors: string[] = [];
    if (!json) {
      gs = c.timedOut ? 'timeout' : 'failed';
      gErrors.push(`${what}: ${c.timedOut ? `over its ${cap.toFixed(0)} s before its first row` : lastError(c.tail)}`);
    } else {
      if (json.salvaged) {
        gs = c.timedOut ? 'partial' : 'failed';
        gErrors.push(`${what}: ${c.timedOut ? `over its ${cap.toFixed(0)} s` : `stopped: ${lastError(c.tail)}`}; ${json.rows.length} of ${json.expected?.length ?? '?'} rows finished`);
      }
      if (!json.expected) {
        gs = worse(gs, 'failed');
        gErrors.push(`${what}: the call did not list its expected rows`);
      } else if (json.expected.length === 0) {
        gs = worse(gs, 'failed');
        gErrors.push(`${what}: no rows matched the filters`);
      }
      const wrong = run.adapterOk(json.adapter, `bench ${what}`);
      if (wrong) {
        gs = 'failed';
        gErrors.push(wrong);
      }
      const failedRows = json.rows.filter((r) => r.error).map((r) => `${key(r)}: ${r.error}`);
      if (failedRows.length) {
        gs = 'failed';
        gErrors.push(...failedRows);
      }
      joinTorchLog(json, log());
      const { rows, expected, ...rest } = json;
      if (!merged.adapter) Object.assign(merged, rest, { salvaged: undefined, complete: undefined });
      merged.rows.push(...rows.map((r) => ({ ...r, group: i })));
      merged.expected!.push(...(expected ?? []));
    }
    groupStatus.push(gs);
    groupFamilies.push(json?.expected ? new Set(json.expected.map((e) => e.family)) : null);
    status = worse(status, gs);
    errors.push(...gErrors);
    // Each call's own ceilings (its rows' fractions use them), peers, timing and settings.
    const { rows: _rows, expected: _expected, ...own } = json ?? { rows: [], expected: [] };
    merged.groups.push({
      filters: g.filters,
      status: gs,
      seconds: c.seconds,
      exit: c.code ?? c.signal,
      timedOut: c.timedOut,
      rows: json?.rows.length ?? 0,
      expected: json?.expected?.length ?? null,
      missing: json ? missingRows(json) : null,
      ...own,
    });
  }
  // Top-level fields are the first call's; each group keeps its own.
  writeFileSync(join(run.args.out, 'bench.json'), JSON.stringify(merged, null, 2) + '\n');
  const families = [...new Set([...merged.expected!, ...merged.rows].map((r) => r.family))];
  const inFamily = <T extends { family: string }>(xs: T[], f: string) => xs.filter((r) => r.family === f);
  // A family's status: the worst of the calls that were to measure it (a call that left no JSON
  // may have been one of them).
  const familyStatus = (f: string) => groupStatus.reduce<Status>((s, gs, i) => (groupFamilies[i]?.has(f) !== false ? worse(s, gs) : s), 'ok');
  const detail = {
    file: 'bench.json',
    rows: merged.rows.length,
    expected: merged.expected!.length,
    peers: merged.peers,
    groups: merged.groups.map((g) => ({
      filters: g.filters,
      status: g.status,
      rows: g.rows,
      expected: g.expected,
      seconds: g.seconds,
      ceilings: ceilingFigures(g.ceilings),
      ceilingsFrom: g.ceilingsFrom ?? null,
    })),
    families: Object.fromEntries(families.map((f) => [f, totals(inFamily(merged.rows, f), inFamily(merged.expected!, f), familyStatus(f))])),
  };
  return { status, detail, ...(errors.length ? { error: errors.join('; ') } : {}) };
}
interface EncodeSample {
  method: string;
  setting: string;
  wallMs: number;
  recordMainMs: number;
  waitMainMs: number;
  workersMs: number;
  encodeMs: number;
  dispatches: number;
  bindGroupsCreated: number;
}

/**
 * bench/encode-cost.ts at the step's sizes: per method, the wait pacer on and off alternating step
 * by step, medians of main-thread CPU while recording and while waiting, encode ms, dispatches and
 * new bind groups per step (what item 3 asks of the CPU side). Its own failure costs only its rows.
 */
async function encodeCost(run: Run, cap: number): Promise<{ adapter?: string; rows?: Record<string, number | string>[]; error?: string }> {
  const { width, batch, encodeSteps } = run.sizes.step;
  const file = join(run.args.work, 'encode.json');
  rmSync(file, { force: true });
  const c = await runChild('encode cost', 'encode-cost.mjs', ['--width', String(width), '--batch', String(batch), '--steps', String(encodeSteps), '--compare', 'pace', '--json', file], cap);
  const json = !c.timedOut && c.code === 0 ? readJson<{ adapter: string; samples: EncodeSample[] }>(file) : null;
  if (!json) return { error: `encode cost: ${c.timedOut ? `over its ${cap.toFixed(0)} s` : lastError(c.tail)}` };
  const groups = new Map<string, EncodeSample[]>();
  for (const x of json.samples) groups.set(`${x.method} ${x.setting}`, [...(groups.get(`${x.method} ${x.setting}`) ?? []), x]);
  const rows = [...groups].map(([name, xs]) => {
    const m = (f: (x: EncodeSample) => number) => +median(xs.map(f)).toFixed(2);
    return {
      name,
      wallMs: m((x) => x.wallMs),
      recordMainMs: m((x) => x.recordMainMs),
      waitMainMs: m((x) => x.waitMainMs),
      workersMs: m((x) => x.workersMs),
      encodeMs: m((x) => x.encodeMs),
      dispatches: m((x) => x.dispatches),
      newBindGroups: m((x) => x.bindGroupsCreated),
    };
  });
  return { adapter: json.adapter, rows };
}

/** A bench call of this run that recorded ceilings (bench-<i>.json in the work folder), to reuse. */
export function ceilingsSource(work: string): string | null {
  // Every group's file, not only up to the first missing one: a call cut before its first write
  // leaves a gap, and a later group measured the ceilings then.
  const files = existsSync(work) ? readdirSync(work).filter((f) => /^bench-\d+\.json$/.test(f)) : [];
  files.sort((a, b) => Number(a.slice(6, -5)) - Number(b.slice(6, -5)));
  for (const f of files) if (readBenchFile(join(work, f))?.ceilings) return join(work, f);
  return null;
}

/**
 * The step call's extra flags: no TF.js step (the bar has no TF.js step line, and TF.js's w64 B256
 * step ran before PyTorch's inside the call's share), and the bench part's ceilings where it has them.
 */
export function stepBenchArgs(work: string): string[] {
  const ceilings = ceilingsSource(work);
  return ['--no-tfjs', ...(ceilings ? ['--ceilings-from', ceilings] : [])];
}

/** The step rows as the summary and the bar read them. */
export function stepRows(json: BenchFile) {
  return json.rows.map((r) => ({
    name: `${r.family} ${r.name}`,
    ms: r.ms,
    wallMs: r.wallMs,
    method: r.method,
    // The kernels' GPU time over the step's wall time (timestamps only). Not the queue's span over
    // wall: the span starts before the step is recorded and counts the GPU's waits for the CPU.
    kernelMs: r.kernelMs ?? null,
    // The union of the kernels' intervals: a sum would count overlapping dispatches twice.
    // No figure when some dispatch's timestamps were not written: it would understate the busy time.
    gpuBusy: (r.kernelBusyMs ?? r.kernelMs) && r.kernelWallMs && !r.kernelUnwritten ? (r.kernelBusyMs ?? r.kernelMs)! / r.kernelWallMs : null,
    cpuMs: r.cpu?.ours ?? null,
    torchMs: r.torch?.ms ?? null,
    oursOverTorch: r.torch?.ratio ?? null,
    torchTf32Ms: r.torch?.tf32Ms ?? null,
    /** The peer's logged fp32 settings show TF32 off (null: no log line joined). */
    tf32Off: r.torch?.tf32Off ?? null,
    tf32Near: r.torch?.tf32Near ?? null,
    ...(r.error ? { error: r.error } : {}),
    ...(r.torch?.error ? { torchError: r.torch.error } : {}),
    note: r.note,
  }));
}

/**
 * GradMix over plain by wall time per step (both rows' wallMs: the same clock, CPU recording and
 * waits included), and by the kernels' GPU time of a profiled step beside it.
 */
export function gradmixOverPlain(json: BenchFile) {
  const step = (m: string) => json.rows.find((r) => r.family === 'train-step' && r.name.endsWith(` ${m}`) && r.name.includes('resnet18') && !r.error);
  const plain = step('none');
  const mixed = step('gradmix');
  return {
    wall: plain?.wallMs && mixed?.wallMs ? mixed.wallMs / plain.wallMs : null,
    kernel: plain?.kernelMs && mixed?.kernelMs ? mixed.kernelMs / plain.kernelMs : null,
  };
}

export async function stepPart(run: Run, budget: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const { mode, width, batch, filters, encodeShare } = run.sizes.step;
  const file = join(run.args.work, 'step.json');
  const deadline = Date.now() + budget * 1000;
  const { c, json } = await benchRun('step', mode, width, batch, filters, file, budget * (1 - encodeShare), stepBenchArgs(run.args.work));
  if (!json) return { status: c.timedOut ? 'timeout' : 'failed', error: c.timedOut ? `over its ${budget} s before its first row` : lastError(c.tail) };
  const missing = missingRows(json);
  const cut = json.salvaged ? `${c.timedOut ? `over its ${budget} s` : `stopped: ${lastError(c.tail)}`}; ${missing.length ? `not reached: ${missing.join(', ')}` : 'every row finished'}` : null;
  joinTorchLog(json, readTorchLog(join(run.args.out, 'torch-cuda.jsonl')));
  writeFileSync(join(run.args.out, 'step.json'), JSON.stringify(json, null, 2) + '\n');
  const rows = stepRows(json);
  const ratio = gradmixOverPlain(json);
  const failed = json.rows.filter((r) => r.error);
  let status: Status = failed.length ? 'failed' : cut ? (c.timedOut ? 'partial' : 'failed') : 'ok';
  const wrong = run.adapterOk(json.adapter, 'step');
  if (wrong) status = 'failed';
  const encode = await encodeCost(run, secondsLeft(deadline));
  const encodeWrong = encode.adapter ? run.adapterOk(encode.adapter, 'encode cost') : null;
  if (encodeWrong) status = 'failed';
  else if (encode.error) status = worse(status, 'partial');
  const error = [wrong, ...failed.map((r) => `${r.name}: ${r.error}`), cut, encodeWrong ?? encode.error].filter(Boolean).join('; ');
  return {
    status,
    detail: {
      file: 'step.json',
      complete: !json.salvaged,
      rows,
      peers: json.peers,
      gradmixOverPlain: ratio.wall,
      gradmixOverPlainKernel: ratio.kernel,
      encode: encode.rows ?? null,
    },
    ...(error ? { error } : {}),
  };
}
