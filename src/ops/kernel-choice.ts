// Adapter-aware kernel choice for the ops (matmul, conv2d). Ops are synchronous and never time
// anything themselves: each asks tunedVariant() about its problem, which answers from this
// process's table of tuned choices or, on a miss, answers undefined (the op runs the adapter's
// default, gpu().kernelVariant) and remembers the problem. autotunePending() resolves what was
// remembered through runtime/autotune.ts: the choice stored on disk for this adapter and shape
// class, or, at the first use on this adapter, each candidate timed on inputs of its own after the
// caller's work has been flushed and drained. autotuneModel() finds a model's problems with one
// probe forward and tunes them; train() calls it before its first step and `gradmix tune` ahead
// of time. So the variant an op runs changes only at those calls, never in the middle of a step.
// GRADMIX_AUTOTUNE=0 turns all of it off (every op runs the default; nothing is timed or read).
import { Autotuner, autotuneMode, shapeClass, type AutotuneMode, type AutotuneResult } from '../../runtime/autotune.js';
import { gpu, type Gpu } from '../../runtime/gpu.js';
import { costMethod, measureCost } from '../../runtime/run-cost.js';
import { scope } from '../scope.js';
import type { Shape, Tensor } from '../tensor.js';
import { fill } from './elementwise.js';

/** Runs one candidate on inputs made once for the problem. */
export interface CandidateRunner {
  run: (candidate: string) => unknown;
  dispose: () => void;
}

/** A problem an op can tune: what it is, its candidates (the adapter default first), how to run them. */
export interface TuneProblem {
  /** e.g. 'matmul', 'conv2d.forward'. */
  op: string;
  /** Named sizes; see runtime/autotune.ts shapeClass(). */
  dims: Record<string, number | boolean | string>;
  candidates: readonly string[];
  /** Makes inputs of this problem's exact shape. */
  prepare: () => CandidateRunner;
}

export interface TuneReport {
  op: string;
  shapeClass: string;
  choice: string;
  source: AutotuneResult<string>['source'];
  /** Milliseconds per candidate (CPU time of the busiest rasteriser thread on CPU adapters, else wall). */
  timings: Record<string, number>;
}

export interface TuneOptions {
  /** Overrides GRADMIX_AUTOTUNE ('on' | 'off' | 'refresh'). */
  mode?: AutotuneMode;
  /** Called with each resolved problem. */
  onChoice?: (r: TuneReport) => void;
  /** Replaces timing with a given cost per candidate (tests). */
  cost?: (problem: TuneProblem, candidate: string) => Promise<number> | number;
}

interface State {
  tuner: Autotuner;
  /** Choice per '<op>|<shape class>'. */
  choices: Map<string, string>;
  /** Problems met without a choice since the last autotunePending(). */
  misses: Map<string, TuneProblem>;
}

const states = new WeakMap<Gpu, State>();

function state(): State {
  const g = gpu();
  let s = states.get(g);
  if (!s) states.set(g, (s = { tuner: new Autotuner(g.describe()), choices: new Map(), misses: new Map() }));
  return s;
}

const keyOf = (p: Pick<TuneProblem, 'op' | 'dims'>) => `${p.op}|${shapeClass(p.dims)}`;

/** The tuned candidate for a problem, or undefined (use the default) until it has been tuned. */
export function tunedVariant<V extends string>(problem: TuneProblem & { candidates: readonly V[] }): V | undefined {
  if (autotuneMode() === 'off') return undefined;
  const s = state();
  const key = keyOf(problem);
  const choice = s.choices.get(key) as V | undefined;
  if (choice !== undefined && problem.candidates.includes(choice)) return choice;
  if (!s.misses.has(key)) s.misses.set(key, problem);
  return undefined;
}

/** The choices made so far in this process, by '<op>|<shape class>'. */
export function tunedChoices(): ReadonlyMap<string, string> {
  return state().choices;
}

/**
 * Takes `choices` (by '<op>|<shape class>', as tunedChoices() gives them) as this process's own, so
 * those problems run them and are not tuned again: a resumed run keeps the variants it ran with.
 */
export function pinTunedChoices(choices: Readonly<Record<string, string>>): void {
  const s = state();
  for (const [key, choice] of Object.entries(choices)) {
    s.choices.set(key, choice);
    s.misses.delete(key);
  }
}

/**
 * Forgets this process's choices and misses (the disk cache stays); with `cacheDir`, later choices
 * are stored there instead (null: in memory only).
 */
export function resetTunedChoices(cacheDir?: string | null): void {
  const s = state();
  s.choices.clear();
  s.misses.clear();
  if (cacheDir !== undefined) s.tuner = new Autotuner(gpu().describe(), cacheDir);
}

/** Cost of one candidate: one warm-up (compiles), then enough runs for ~2 ms of work. */
async function timeCandidate(runner: CandidateRunner, candidate: string, warmed: Set<string>, options: TuneOptions, out: TuneReport[]): Promise<number> {
  const once = () => scope(() => void runner.run(candidate));
  if (!warmed.has(candidate)) {
    warmed.add(candidate);
    const before = new Set(state().misses.keys());
    once();
    await gpu().sync();
    // A candidate built from other tunable ops (conv2d 'gemm' runs matmul) is timed with those
    // tuned first.
    const nested = [...state().misses.keys()].filter((k) => !before.has(k));
    await resolve(nested, options, out);
  }
  const first = await measureCost(once, 1);
  if (first.ms >= 1) return first.ms;
  return (await measureCost(once, Math.min(16, Math.ceil(2 / Math.max(first.ms, 0.05))))).ms;
}

async function tuneOne(problem: TuneProblem, options: TuneOptions, out: TuneReport[]): Promise<TuneReport> {
  const s = state();
  const method = options.cost ? 'given' : await costMethod();
  let runner: CandidateRunner | null = null;
  const warmed = new Set<string>();
  try {
    const result = await s.tuner.choose(
      {
        op: problem.op,
        shapeClass: shapeClass(problem.dims),
        candidates: problem.candidates,
        nameOf: (c) => c,
        method,
        time: async (c) => (options.cost ? options.cost(problem, c) : timeCandidate((runner ??= problem.prepare()), c, warmed, options, out)),
      },
      options.mode ?? autotuneMode(),
    );
    return { op: problem.op, shapeClass: shapeClass(problem.dims), choice: result.choice, source: result.source, timings: result.entry?.timings ?? {} };
  } finally {
    (runner as CandidateRunner | null)?.dispose();
  }
}

/** Tunes the remembered problems with these keys (matmul first: other ops may be built from it); reports go to `out`. */
async function resolve(keys: readonly string[], options: TuneOptions, out: TuneReport[]): Promise<void> {
  const s = state();
  const problems = keys.map((k) => [k, s.misses.get(k)] as const).filter((e): e is readonly [string, TuneProblem] => e[1] !== undefined);
  problems.sort(([a], [b]) => Number(!a.startsWith('matmul|')) - Number(!b.startsWith('matmul|')) || a.localeCompare(b));
  for (const [k] of problems) s.misses.delete(k);
  for (const [k, p] of problems) {
    // Tuned meanwhile as another problem's dependency. A choice that is not among p's candidates
    // (pinned from a run whose class had others) is tuned again, else p would never get one.
    const have = s.choices.get(k);
    if (have !== undefined && p.candidates.includes(have)) continue;
    const r = await tuneOne(p, options, out);
    s.choices.set(k, r.choice);
    options.onChoice?.(r);
    out.push(r);
  }
}

/**
 * Resolves every problem the ops met without a choice: from the disk cache, or timed now. The
 * caller's recorded work is flushed and drained first; the timing uses inputs of its own.
 */
export async function autotunePending(options: TuneOptions = {}): Promise<TuneReport[]> {
  const s = state();
  if ((options.mode ?? autotuneMode()) === 'off') {
    s.misses.clear();
    return [];
  }
  await gpu().sync();
  const reports: TuneReport[] = [];
  while (s.misses.size > 0) await resolve([...s.misses.keys()], options, reports);
  return reports;
}

/** Resolves one problem now (cached, or timed; see autotunePending) and returns how. */
export async function tuneProblem(problem: TuneProblem, options: TuneOptions = {}): Promise<TuneReport> {
  const s = state();
  const key = keyOf(problem);
  await gpu().sync();
  if ((options.mode ?? autotuneMode()) === 'off') {
    return { op: problem.op, shapeClass: shapeClass(problem.dims), choice: problem.candidates[0], source: 'disabled', timings: {} };
  }
  s.misses.set(key, problem);
  s.choices.delete(key);
  const reports: TuneReport[] = [];
  await resolve([key], options, reports);
  return reports.find((r) => `${r.op}|${r.shapeClass}` === key)!;
}

/** What autotuneModel() needs of a model (SupConResNet, ResNet, any nn Module). */
export interface TunableModel {
  training: boolean;
  train(on?: boolean): unknown;
  call(x: Tensor): unknown;
}

/**
 * Tunes the kernels a model's training meets: one probe forward per input shape (eval mode, so
 * batch-norm statistics stay as they are; with gradients recorded, so the backward passes the
 * weights need are found too, but never run), then autotunePending(). Give the shapes the model
 * sees in training, e.g. [2B, C, H, W] for both views and [B, C, H, W] for a mixed view.
 */
export async function autotuneModel(model: TunableModel, inputShapes: readonly Shape[], options: TuneOptions = {}): Promise<TuneReport[]> {
  if ((options.mode ?? autotuneMode()) === 'off') return [];
  await gpu().sync();
  const s = state();
  s.misses.clear(); // only this model's problems
  const training = model.training;
  model.train(false);
  try {
    for (const shape of inputShapes) scope(() => void model.call(fill(shape, 0.5)));
  } finally {
    model.train(training);
  }
  return autotunePending(options);
}
