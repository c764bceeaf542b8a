// `gradmix sweep report`: every run's results.json gathered into mean +- std over splits and seeds
// per protocol and method, beside the paper's AUROC, with the runs that have no results listed
// (failed, started, not started). From a plan (every run it names), or from any folder (every
// finished results.json under it, grouped by the protocol and method the file records).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PAPER_AUROC, summarise } from '../train/split-summary.js';
import { METRIC_LABELS } from '../osr/report.js';
import type { OpenSetMetrics } from '../osr/index.js';
import { readPlan, runOut } from './plan.js';
import { CHECKPOINT_FILE } from '../train/epoch-loop.js';
import { failureOf, finishedResults, runState, type Results, type RunState } from './run-state.js';

export type Metric = keyof OpenSetMetrics;
export const METRICS = Object.keys(METRIC_LABELS) as Metric[];

export interface GroupSummary {
  protocol: string;
  method: string;
  /** Finished runs the numbers are over (splits x seeds). */
  runs: number;
  summary: Record<Metric, { mean: number; std: number }>;
  /** The paper's AUROC in % (Tables 2-3, ResNet18), null where it reports none. */
  paperAuroc: number | null;
}

export interface MissingRun {
  out: string;
  state: Exclude<RunState, 'finished'>;
  index?: number;
  protocol?: string;
  split?: number;
  method?: string;
  seed?: number;
  reason?: string;
}

export interface SweepReport {
  source: string;
  groups: GroupSummary[];
  missing: MissingRun[];
}

interface Finished {
  protocol: string;
  method: string;
  results: Results;
}

function group(source: string, finished: Finished[], missing: MissingRun[]): SweepReport {
  const byKey = new Map<string, Finished[]>();
  for (const f of finished) byKey.set(`${f.protocol}\u0000${f.method}`, [...(byKey.get(`${f.protocol}\u0000${f.method}`) ?? []), f]);
  const groups = [...byKey.values()].map((fs) => ({
    protocol: fs[0].protocol,
    method: fs[0].method,
    runs: fs.length,
    summary: summarise(fs.map((f) => f.results)),
    paperAuroc: PAPER_AUROC[fs[0].protocol] ?? null,
  }));
  return { source, groups, missing };
}

export function reportFromPlan(planFile: string): SweepReport {
  const finished: Finished[] = [];
  const missing: MissingRun[] = [];
  for (const run of readPlan(planFile)) {
    const out = runOut(planFile, run);
    const results = finishedResults(out);
    if (results) finished.push({ protocol: run.protocol, method: run.method, results });
    else {
      const state = runState(out) as MissingRun['state'];
      const reason = state === 'failed' ? (failureOf(out) ?? undefined) : undefined;
      missing.push({ out, state, index: run.index, protocol: run.protocol, split: run.split, method: run.method, seed: run.seed, ...(reason ? { reason } : {}) });
    }
  }
  return group(planFile, finished, missing);
}

/** A protocol or method name from a results.json; anything else (absent, or an object) reads 'unknown'. */
const nameIn = (v: unknown): string => (typeof v === 'string' ? v : 'unknown');

/**
 * Every run's results.json under `dir` (a folder of runs made without a plan, e.g. by gradmix
 * protocol). A run is a folder with its config.json or checkpoint: the eval/, probe/ and ood/
 * folders that eval, probe and ood write beside a checkpoint hold results of no run of their own.
 */
export function reportFromFolder(dir: string): SweepReport {
  const finished: Finished[] = [];
  const missing: MissingRun[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
    }
    if (!existsSync(join(d, 'results.json'))) return;
    if (!existsSync(join(d, 'config.json')) && !existsSync(join(d, CHECKPOINT_FILE))) return;
    const results = finishedResults(d);
    if (results) finished.push({ protocol: nameIn(results.protocol), method: nameIn(results.method), results });
    else missing.push({ out: d, state: runState(d) as MissingRun['state'] });
  };
  walk(dir);
  if (finished.length === 0 && missing.length === 0) throw new Error(`${dir}: no results.json under this folder (and no plan.jsonl): nothing to report`);
  return group(dir, finished, missing);
}

/** A path relative to `base` when it lies under it, else as it is. */
const shown = (path: string, base: string) => (relative(base, path).startsWith('..') ? path : relative(base, path) || path);
const pct = (x: number) => (100 * x).toFixed(2);
/** One run has no spread to show: its std is written as '-' rather than 0. */
const cell = (s: { mean: number; std: number }, runs: number) => `${pct(s.mean)} ± ${runs > 1 ? pct(s.std) : '-'}`;

export function reportMarkdown(r: SweepReport, base = process.cwd()): string {
  const head = ['protocol', 'method', 'runs', ...METRICS.map((m) => `${METRIC_LABELS[m]} %`), 'paper AUROC %'];
  const rows = r.groups.map((g) => [g.protocol, g.method, String(g.runs), ...METRICS.map((m) => cell(g.summary[m], g.runs)), g.paperAuroc === null ? '-' : g.paperAuroc.toFixed(2)]);
  const table = [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const lines = [`## Sweep report: ${shown(r.source, base)}`, '', r.groups.length ? table : '(no finished runs yet)', ''];
  lines.push('mean ± std over the finished runs (splits x seeds) of each protocol and method; std is the sample std (n-1).');
  if (r.missing.length) {
    lines.push('', `### Runs without results (${r.missing.length})`, '');
    for (const m of r.missing) {
      const what = m.index !== undefined ? `run ${m.index}: ${m.protocol} split ${m.split}, ${m.method}, seed ${m.seed}` : shown(m.out, base);
      lines.push(`- ${what}: ${m.state}${m.reason ? ` (${m.reason})` : ''} - ${shown(m.out, base)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function reportCsv(r: SweepReport): string {
  const head = ['protocol', 'method', 'runs', ...METRICS.flatMap((m) => [`${m}_mean`, `${m}_std`]), 'paper_auroc'];
  const rows = r.groups.map((g) => [g.protocol, g.method, g.runs, ...METRICS.flatMap((m) => [g.summary[m].mean, g.summary[m].std]), g.paperAuroc === null ? '' : g.paperAuroc / 100]);
  return [head, ...rows].map((cells) => cells.join(',')).join('\n') + '\n';
}
