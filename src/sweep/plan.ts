// A sweep is a list of runs, each an addressable unit: `plan.jsonl` holds one run per line (its
// protocol, split, method, seed, the train options it shares with the others, and its output
// folder, derived from those settings and kept relative to the plan so the whole folder can move to
// shared storage). Workers, job-array tasks and Indexed Job pods all read a run by its index.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { TrainOptions } from '../train/options.js';
import { writeFileAtomic } from '../checkpoint/files.js';

export const PLAN_FILE = 'plan.jsonl';

export interface PlannedRun {
  index: number;
  protocol: string;
  split: number;
  method: string;
  seed: number;
  /** The run's output folder, relative to the plan's folder. */
  out: string;
  /** The train options of the run, without `out` (from `out` above). */
  options: Partial<TrainOptions>;
}

export interface Grid {
  protocols: string[];
  splits: number[];
  methods: string[];
  seeds: number[];
}

/** The output folder of a run: one per protocol, method and seed, one split<k> folder inside. */
export function runFolder(protocol: string, method: string, seed: number, split: number): string {
  return join(`${protocol}-${method}-s${seed}`, `split${split}`);
}

/** Every combination of the grid, with the shared options (undefined ones dropped); a value given twice is an error (two runs would share a folder). */
export function buildPlan(grid: Grid, shared: Partial<TrainOptions>): PlannedRun[] {
  for (const [flag, values] of [
    ['--protocol', grid.protocols],
    ['--splits', grid.splits],
    ['--methods', grid.methods],
    ['--seeds', grid.seeds],
  ] as const) {
    const twice = values.find((v, i) => values.indexOf(v as never) !== i);
    if (twice !== undefined) throw new Error(`${flag} names ${twice} twice; each run of the grid needs a folder of its own`);
  }
  const base = Object.fromEntries(Object.entries(shared).filter(([k, v]) => v !== undefined && k !== 'out')) as Partial<TrainOptions>;
  const runs: PlannedRun[] = [];
  for (const protocol of grid.protocols) {
    for (const method of grid.methods) {
      for (const seed of grid.seeds) {
        for (const split of grid.splits) {
          const options = { ...base, protocol, split, method, seed } as Partial<TrainOptions>;
          runs.push({ index: runs.length, protocol, split, method, seed, out: runFolder(protocol, method, seed, split), options });
        }
      }
    }
  }
  return runs;
}

/** Writes plan.jsonl whole, aside then renamed: a task starting meanwhile reads the old plan or the new one, never a cut one. */
export async function writePlan(dir: string, runs: PlannedRun[]): Promise<string> {
  const file = join(dir, PLAN_FILE);
  await writeFileAtomic(file, new TextEncoder().encode(runs.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  return file;
}

/** The plan file a path names: the file itself, or plan.jsonl in the folder given. */
export function planFileOf(path: string): string {
  if (!existsSync(path)) throw new Error(`${path}: no such plan file or folder (write one with gradmix sweep plan)`);
  if (!statSync(path).isDirectory()) return path;
  const file = join(path, PLAN_FILE);
  if (!existsSync(file)) throw new Error(`${path}: the folder has no ${PLAN_FILE} (write one with gradmix sweep plan --out ${path})`);
  return file;
}

/** A run's output folder as a path (the plan's folder + its relative folder). */
export const runOut = (planFile: string, run: PlannedRun): string => resolve(dirname(planFile), run.out);

/** Reads and checks a plan; a damaged line is an error naming the file and line. */
export function readPlan(planFile: string): PlannedRun[] {
  const lines = readFileSync(planFile, 'utf8').split('\n');
  const runs: PlannedRun[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${planFile} line ${i + 1}`;
    let r: PlannedRun;
    try {
      r = JSON.parse(line) as PlannedRun;
    } catch (e) {
      throw new Error(`${where}: not JSON (${(e as Error).message}); the plan is damaged, write it again with gradmix sweep plan`);
    }
    const ok =
      r &&
      typeof r === 'object' &&
      r.index === runs.length &&
      typeof r.protocol === 'string' &&
      Number.isInteger(r.split) &&
      typeof r.method === 'string' &&
      Number.isInteger(r.seed) &&
      typeof r.out === 'string' &&
      r.out !== '' &&
      r.options &&
      typeof r.options === 'object';
    if (!ok) throw new Error(`${where}: not a run of index ${runs.length} (index, protocol, split, method, seed, out, options); the plan is damaged, write it again with gradmix sweep plan`);
    const same = runs.find((o) => o.out === r.out);
    if (same) throw new Error(`${where}: run ${r.index} has the folder of run ${same.index} (${r.out}); two runs may not share one, write the plan again with gradmix sweep plan`);
    runs.push(r);
  });
  if (runs.length === 0) throw new Error(`${planFile}: the plan has no runs`);
  return runs;
}
