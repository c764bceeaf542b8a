// `gradmix sweep report`: every run's results.json gathered into mean +- std over splits and seeds
// per protocol, method and the settings that change the numbers (arch, width, epochs, objective,
// score, k), gradmix rows beside the paper's AUROC of GradMix, with the runs that have no results
// listed (other settings than planned, held by a lock, failed, started, not started). From a plan (every run it names), or
// from any folder (every run folder under it: its config.json or checkpoint).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { paperAurocOf, summarise } from '../train/split-summary.js';
import { METRIC_LABELS } from '../osr/report.js';
import type { OpenSetMetrics } from '../osr/index.js';
import type { TrainOptions } from '../train/options.js';
import { readRunConfig } from '../train/run-config-file.js';
import type { RunConfig } from '../train/run-config.js';
import { FOLDER_PROTOCOL } from '../data/open-set.js';
import { readPlan, runOut } from './plan.js';
import { CHECKPOINT_FILE } from '../train/epoch-loop.js';
import { failureOf, finishedResults, lockHolder, runState, type Results, type RunState } from './run-state.js';
import { plannedOptions, plannedRunDiffers } from './run-settings.js';

export type Metric = keyof OpenSetMetrics;
export const METRICS = Object.keys(METRIC_LABELS) as Metric[];

/** Besides protocol and method, what a group's runs share: runs differing in one are not averaged. */
export const SETTINGS = ['arch', 'width', 'epochs', 'objective', 'score', 'k'] as const;
export type Setting = (typeof SETTINGS)[number];
/** A setting's value; null where neither results.json nor the run's configuration records it. */
type Settings = Record<Setting, string | number | null>;

export interface GroupSummary extends Settings {
  protocol: string;
  method: string;
  /** Finished runs the numbers are over (splits x seeds). */
  runs: number;
  summary: Record<Metric, { mean: number; std: number }>;
  /** GradMix's AUROC in % in the paper (Tables 2-3, ResNet18) for a gradmix group; null for other methods, and where it reports none. */
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
  /** Why it failed, or which settings differ from the plan's. */
  reason?: string;
  /** Who holds its lock (state 'held'). */
  holder?: { pid: number; host: string; job?: string };
}

export interface SweepReport {
  source: string;
  groups: GroupSummary[];
  missing: MissingRun[];
}

interface Finished extends Settings {
  protocol: string;
  method: string;
  results: Results;
}

/** A protocol or method name from a results.json; anything else (absent, or an object) reads 'unknown'. */
const nameIn = (v: unknown): string => (typeof v === 'string' ? v : 'unknown');
const valueIn = (v: unknown): string | number | null => (typeof v === 'string' || typeof v === 'number' ? v : null);

/** The settings a finished run ran with: its results.json's, else its configuration's. */
function settingsOf(results: Results, config: Partial<RunConfig> | Partial<TrainOptions>): Settings {
  const c = config as Record<string, unknown>;
  const settings = Object.fromEntries(SETTINGS.map((k) => [k, valueIn(results[k]) ?? valueIn(c[k])])) as Settings;
  // k changes only the kNN score's numbers: runs of another score differing in k are one group.
  if (settings.score !== null && settings.score !== 'knn') settings.k = null;
  return settings;
}

function group(source: string, finished: Finished[], missing: MissingRun[]): SweepReport {
  const byKey = new Map<string, Finished[]>();
  for (const f of finished) {
    const key = JSON.stringify([f.protocol, f.method, ...SETTINGS.map((k) => f[k])]);
    byKey.set(key, [...(byKey.get(key) ?? []), f]);
  }
  const groups = [...byKey.values()].map((fs) => ({
    protocol: fs[0].protocol,
    method: fs[0].method,
    ...Object.fromEntries(SETTINGS.map((k) => [k, fs[0][k]])),
    runs: fs.length,
    summary: summarise(fs.map((f) => f.results)),
    paperAuroc: paperAurocOf(fs[0].protocol, fs[0].method),
  })) as GroupSummary[];
  return { source, groups, missing };
}

/** A held run's lock holder, as the report shows it. */
function holderOf(out: string): MissingRun['holder'] {
  const o = lockHolder(out);
  return o ? { pid: o.pid, host: o.host, ...(o.job ? { job: o.job } : {}) } : undefined;
}

/** A run folder whose saved run cannot be read, with why (and why it failed, if it did). */
function unreadable(out: string, why: string): Pick<MissingRun, 'state' | 'reason'> {
  const failure = failureOf(out);
  return { state: 'unreadable', reason: failure ? `${failure}; ${why}` : why };
}

/** The state of a run without results, with why it failed or who holds it. */
function unfinished(out: string): Pick<MissingRun, 'state' | 'reason' | 'holder'> {
  const state = runState(out) as MissingRun['state'];
  const reason = state === 'failed' ? failureOf(out) : null;
  const holder = state === 'held' ? holderOf(out) : undefined;
  return { state, ...(reason ? { reason } : {}), ...(holder ? { holder } : {}) };
}

export async function reportFromPlan(planFile: string): Promise<SweepReport> {
  const finished: Finished[] = [];
  const missing: MissingRun[] = [];
  for (const run of readPlan(planFile)) {
    const out = runOut(planFile, run);
    const which = { out, index: run.index, protocol: run.protocol, split: run.split, method: run.method, seed: run.seed };
    const results = finishedResults(out);
    const planned = plannedOptions(planFile, run); // null for bad values: its run fails, naming them
    // A run of other settings in the folder is not this plan's result (nor its missing run's progress).
    const other = await plannedRunDiffers(planFile, run, results);
    if (other?.unreadable) missing.push({ ...which, ...unreadable(out, other.differ.join(', ')) });
    else if (other) missing.push({ ...which, state: 'other settings', reason: `${other.differ.join(', ')} (${other.source})` });
    else if (results) finished.push({ protocol: run.protocol, method: run.method, results, ...settingsOf(results, planned ?? run.options) });
    else missing.push({ ...which, ...unfinished(out) });
  }
  return group(planFile, finished, missing);
}

/**
 * Every run under `dir` (a folder of runs made without a plan, e.g. by gradmix protocol). A run is
 * a folder with its config.json or checkpoint: the eval/, probe/ and ood/ folders that eval, probe
 * and ood write beside a checkpoint hold results of no run of their own. A run that evaluates
 * nothing (--no-eval, --all-classes) has no results to miss.
 */
export async function reportFromFolder(dir: string): Promise<SweepReport> {
  const finished: Finished[] = [];
  const missing: MissingRun[] = [];
  const runs: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
    }
    if (existsSync(join(d, 'config.json')) || existsSync(join(d, CHECKPOINT_FILE))) runs.push(d);
  };
  walk(dir);
  for (const d of runs) {
    let config: RunConfig;
    try {
      config = (await readRunConfig(d, (note) => console.error(`note: ${note}`)))?.config ?? {};
    } catch (e) {
      // One damaged folder is listed, not an end to the whole report.
      missing.push({ out: d, ...unreadable(d, `its saved run cannot be read: ${(e as Error).message}`) });
      continue;
    }
    const results = finishedResults(d);
    if (results) finished.push({ protocol: nameIn(results.protocol ?? config.protocol), method: nameIn(results.method ?? config.method), results, ...settingsOf(results, config) });
    // Pre-training (its probe.json) and runs that evaluate nothing have no results to miss.
    else if (config.evaluate !== false && !config.allClasses && !config.ssl) missing.push({ out: d, ...unfinished(d) });
  }
  if (finished.length === 0 && missing.length === 0) throw new Error(`${dir}: no run folder (config.json or checkpoint) under this folder, and no plan.jsonl: nothing to report`);
  return group(dir, finished, missing);
}

/** The settings whose values differ between groups: the columns and labels that tell groups apart. */
export function varyingSettings(groups: GroupSummary[]): Setting[] {
  return SETTINGS.filter((k) => new Set(groups.map((g) => g[k])).size > 1);
}

/** A group's series name in the chart: its method, with the settings that tell it from others. */
export function seriesName(g: GroupSummary, varying: Setting[]): string {
  return varying.length ? `${g.method} (${varying.map((k) => `${k} ${g[k] ?? '?'}`).join(', ')})` : g.method;
}

/** A path relative to `base` when it lies under it, else as it is. */
const shown = (path: string, base: string) => (relative(base, path).startsWith('..') ? path : relative(base, path) || path);
const pct = (x: number) => (100 * x).toFixed(2);
/** One run has no spread to show: its std is written as '-' rather than 0. */
const cell = (s: { mean: number; std: number }, runs: number) => `${pct(s.mean)} ± ${runs > 1 ? pct(s.std) : '-'}`;

export function reportMarkdown(r: SweepReport, base = process.cwd()): string {
  // Settings every group shares would be the same column down the table: only those that differ.
  const varying = varyingSettings(r.groups);
  const head = ['protocol', 'method', ...varying, 'runs', ...METRICS.map((m) => `${METRIC_LABELS[m]} %`), 'paper (GradMix) AUROC %'];
  const rows = r.groups.map((g) => [
    g.protocol,
    g.method,
    ...varying.map((k) => String(g[k] ?? '?')),
    String(g.runs),
    ...METRICS.map((m) => cell(g.summary[m], g.runs)),
    g.paperAuroc === null ? '' : g.paperAuroc.toFixed(2),
  ]);
  const table = [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const lines = [`## Sweep report: ${shown(r.source, base)}`, '', r.groups.length ? table : '(no finished runs yet)', ''];
  lines.push('mean ± std over the finished runs (splits x seeds) of each protocol, method and settings; std is the sample std (n-1).');
  if (r.missing.length) {
    lines.push('', `### Runs without results (${r.missing.length})`, '');
    for (const m of r.missing) {
      const what = m.index !== undefined ? `run ${m.index}: ${m.protocol === FOLDER_PROTOCOL ? 'your folder' : `${m.protocol} split ${m.split}`}, ${m.method}, seed ${m.seed}` : shown(m.out, base);
      const holder = m.holder ? ` by pid ${m.holder.pid} on ${m.holder.host}${m.holder.job ? `, job ${m.holder.job}` : ''}` : '';
      lines.push(`- ${what}: ${m.state}${holder}${m.reason ? ` (${m.reason})` : ''} - ${shown(m.out, base)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The settings come last: the columns before them are where earlier versions wrote them. */
export function reportCsv(r: SweepReport): string {
  const head = ['protocol', 'method', 'runs', ...METRICS.flatMap((m) => [`${m}_mean`, `${m}_std`]), 'paper_auroc', ...SETTINGS];
  const rows = r.groups.map((g) => [
    g.protocol,
    g.method,
    g.runs,
    ...METRICS.flatMap((m) => [g.summary[m].mean, g.summary[m].std]),
    g.paperAuroc === null ? '' : g.paperAuroc / 100,
    ...SETTINGS.map((k) => g[k] ?? ''),
  ]);
  return [head, ...rows].map((cells) => cells.join(',')).join('\n') + '\n';
}
