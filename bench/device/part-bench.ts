// Parts c (the kernel families against the peers, with the device ceilings) and d (the training
// step row and the peak memory of a step).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { salvageRows } from './salvage-rows.js';
import { median } from '../stats.js';
import { lastError, readJson, runChild } from './run-child.js';
import { secondsLeft, worse, type PartResult, type Run, type Status } from './run-summary.js';

export interface BenchRow {
  family: string;
  name: string;
  ms?: number;
  wallMs?: number;
  /** The kernels' GPU time of a profiled run and that run's wall time (rows that ask for them). */
  kernelMs?: number;
  kernelWallMs?: number;
  method?: string;
  error?: string;
  note?: string;
  cpu?: { ours?: number; tfjs?: number; torch?: number };
  tfjs?: { ms?: number; ratio?: number; error?: string; method?: string };
  /** tf32Ms: the same request with TF32 on (torch-cuda.jsonl), reported beside the fp32 figure. */
  torch?: { ms?: number; ratio?: number; error?: string; tf32Ms?: number };
}

export interface BenchFile {
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
export async function benchRun(label: string, mode: string, width: number, batch: number, filters: string[], file: string, cap: number) {
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
 * The PyTorch CUDA peer's TF32-on times by its fp32 time (torch-cuda.jsonl, one line per request:
 * the fp32 figure there is the very number the row's torch.ms holds, so it keys the join).
 */
export function tf32ByFp32(file: string): Map<number, number> {
  const found = new Map<number, number>();
  if (!existsSync(file)) return found;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as { fp32_ms?: number; tf32_ms?: number };
      if (typeof e.fp32_ms === 'number' && typeof e.tf32_ms === 'number') found.set(e.fp32_ms, e.tf32_ms);
    } catch {
      // a line cut short by a stopped run: the others stand
    }
  }
  return found;
}

/** Each row's TF32-on PyTorch time beside its fp32 one, where the peer logged it. */
export function addTf32(rows: BenchRow[], tf32: Map<number, number>): void {
  for (const r of rows) {
    const t = r.torch?.ms !== undefined ? tf32.get(r.torch.ms) : undefined;
    if (t !== undefined) r.torch!.tf32Ms = t;
  }
}

/**
 * Sums over rows that have every figure: ours (GPU and wall), TF.js and PyTorch, for the bar's
 * ratios. PyTorch is compared with our wall clock, as bench/run.ts compares them, so a salvaged
 * row (read back from the printed table: its GPU time only) is left out of that sum; TF.js with
 * our time by the same method (a row where TF.js fell back to the wall clock is left out).
 */
export function totals(rows: BenchRow[]) {
  const ok = rows.filter((r) => r.ms !== undefined && !r.error);
  const sum = (f: (r: BenchRow) => number | undefined, rs = ok) => rs.reduce((s, r) => s + (f(r) ?? 0), 0);
  const withTorch = ok.filter((r) => r.torch?.ms !== undefined && r.wallMs !== undefined);
  const withTfjs = ok.filter((r) => r.tfjs?.ms !== undefined && (r.tfjs.method === undefined || r.tfjs.method === r.method));
  const withTf32 = withTorch.filter((r) => r.torch?.tf32Ms !== undefined);
  const wall = (r: BenchRow) => r.wallMs!;
  return {
    rows: rows.length,
    oursMs: sum((r) => r.ms),
    torch: withTorch.length
      ? { rows: withTorch.length, oursWallMs: sum(wall, withTorch), torchMs: sum((r) => r.torch!.ms, withTorch), oursOverTorch: sum(wall, withTorch) / sum((r) => r.torch!.ms, withTorch) }
      : null,
    // Beside it, TF32 on, over the rows that have that figure too.
    torchTf32: withTf32.length ? { rows: withTf32.length, oursOverTorchTf32: sum(wall, withTf32) / sum((r) => r.torch!.tf32Ms, withTf32) } : null,
    tfjs: withTfjs.length
      ? { rows: withTfjs.length, oursMs: sum((r) => r.ms, withTfjs), tfjsMs: sum((r) => r.tfjs!.ms, withTfjs), tfjsOverOurs: sum((r) => r.tfjs!.ms, withTfjs) / sum((r) => r.ms, withTfjs) }
      : null,
  };
}

export async function benchPart(run: Run, deadline: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
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
  addTf32(merged.rows, tf32ByFp32(join(run.args.out, 'torch-cuda.jsonl')));
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

export async function stepPart(run: Run, budget: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const { mode, width, batch, filters, encodeShare } = run.sizes.step;
  const file = join(run.args.work, 'step.json');
  const deadline = Date.now() + budget * 1000;
  const { c, json } = await benchRun('step', mode, width, batch, filters, file, budget * (1 - encodeShare));
  if (!json) return { status: c.timedOut ? 'timeout' : 'failed', error: c.timedOut ? `over its ${budget} s` : lastError(c.tail) };
  const cut = json.salvaged ? `over its ${budget} s; ${json.rows.length} finished rows read from its printed table` : null;
  addTf32(json.rows, tf32ByFp32(join(run.args.out, 'torch-cuda.jsonl')));
  writeFileSync(join(run.args.out, 'step.json'), JSON.stringify(json, null, 2) + '\n');
  const rows = json.rows.map((r) => ({
    name: `${r.family} ${r.name}`,
    ms: r.ms,
    wallMs: r.wallMs,
    method: r.method,
    // The kernels' GPU time over the step's wall time (timestamps only). Not the queue's span over
    // wall: the span starts before the step is recorded and counts the GPU's waits for the CPU.
    gpuBusy: r.kernelMs && r.kernelWallMs ? r.kernelMs / r.kernelWallMs : null,
    cpuMs: r.cpu?.ours ?? null,
    torchMs: r.torch?.ms ?? null,
    oursOverTorch: r.torch?.ratio ?? null,
    torchTf32Ms: r.torch?.tf32Ms ?? null,
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
  const encode = await encodeCost(run, secondsLeft(deadline));
  const encodeWrong = encode.adapter ? run.adapterOk(encode.adapter, 'encode cost') : null;
  if (encodeWrong) status = 'failed';
  else if (encode.error) status = worse(status, 'partial');
  const error = [wrong ?? (failed.length ? failed.map((r) => `${r.name}: ${r.error}`).join('; ') : (missing ?? cut)), encodeWrong ?? encode.error].filter(Boolean).join('; ');
  return {
    status,
    detail: { file: 'step.json', rows, peers: json.peers, gradmixOverPlain: plain?.ms && mixed?.ms ? mixed.ms / plain.ms : null, encode: encode.rows ?? null },
    ...(error ? { error } : {}),
  };
}
