// `gradmix objectives`: the paper's Table 1 on one protocol split. Each supervised objective (ce,
// ce+ssl, supcon, supcon+ssl) is trained with the same settings, then scored by every open-set score
// that applies (kNN; MSP and entropy need the ce classifier; NNO) and its features' intrinsic
// dimension (TwoNN). Resumable: a finished objective's results are read back, not retrained.
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { writeJsonAtomic } from '../checkpoint/index.js';
import { basename, join, resolve } from 'node:path';
import { augmentPreset } from '../augment/index.js';
import { inputInfo } from '../data/index.js';
import { evaluateOpenSet } from '../osr/index.js';
import { SCORES, needsClassifier, type ScoreKind } from '../osr/scores.js';
import { train } from '../train/train.js';
import { RERUN_TO_CONTINUE } from '../train/epoch-loop.js';
import { OBJECTIVES, usesClassifier, type Objective } from '../train/objectives.js';
import { listFlag, parseFlags, usage, type FlagSpecs } from './args.js';
import { TRAIN_FLAGS, trainOptionsFrom } from './commands.js';
import { listOf } from './flag-values.js';
import { outFlag } from './common-flags.js';
import { checkTrainOptions } from './option-flags.js';
import { checkSameRun } from './run-config.js';

export const OBJECTIVES_FLAGS: FlagSpecs = {
  ...TRAIN_FLAGS,
  objectives: { type: 'string', value: listOf(OBJECTIVES), help: `objectives to compare, comma-separated (default ${OBJECTIVES.join(',')})` },
  out: outFlag('output folder, one sub-folder per objective (default runs/table1-<protocol>-split<split>)'),
};
for (const f of ['objective', 'score', 'no-eval', 'all-classes', 'resume']) delete (OBJECTIVES_FLAGS as Record<string, unknown>)[f];

interface Row {
  objective: Objective;
  auroc: Partial<Record<ScoreKind, number>>;
  intrinsicDim: number;
}

/** A finished objective's row as written (NaN, which JSON lacks, was written as null), or null when missing or damaged (then it is evaluated again). */
export function readRow(file: string, objective: Objective): Row | null {
  if (!existsSync(file)) return null;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as { objective?: unknown; auroc?: Record<string, unknown>; intrinsicDim?: unknown };
    const value = (v: unknown) => (v === null ? NaN : typeof v === 'number' ? v : undefined);
    const dim = value(r.intrinsicDim);
    if (r.objective !== objective || !r.auroc || typeof r.auroc !== 'object' || dim === undefined) throw new Error('not a row of this objective');
    const auroc: Row['auroc'] = {};
    for (const [score, v] of Object.entries(r.auroc)) {
      const a = value(v);
      if (!(SCORES as readonly string[]).includes(score) || a === undefined) throw new Error(`bad AUROC for ${score}`);
      auroc[score as ScoreKind] = a;
    }
    return { objective, auroc, intrinsicDim: dim };
  } catch (e) {
    console.error(`note: ${file} is damaged (${(e as Error).message}); evaluating ${objective} again`);
    return null;
  }
}

async function runObjective(base: ReturnType<typeof trainOptionsFrom>, objective: Objective, out: string): Promise<Row | null> {
  const done = join(out, 'table1.json');
  const saved = readRow(done, objective);
  if (saved) return saved;
  // A run already started keeps the resize rule it started with (train() reads it back).
  const result = await train({ ...base, objective, out, resume: true, evaluate: false }, { continueHint: RERUN_TO_CONTINUE });
  const row: Row = { objective, auroc: {}, intrinsicDim: NaN };
  try {
    if (result.interrupted) return null;
    // A protocol's input, or an image folder's from its images (--data with --known).
    const info = inputInfo(result.options.protocol, result.data.train);
    const transform = augmentPreset(info.augmentation, info.imageSize);
    for (const score of SCORES) {
      if (needsClassifier(score) && !usesClassifier(objective)) continue;
      const e = await evaluateOpenSet(result.model, result.data, transform, { k: result.options.k, score });
      row.auroc[score] = e.metrics.auroc;
      row.intrinsicDim = e.intrinsicDim;
      console.log(`  ${objective} / ${score}: AUROC ${(100 * e.metrics.auroc).toFixed(2)}%`);
    }
  } finally {
    result.model.dispose(); // interrupted or evaluated, the next objective starts from a flat GPU memory
  }
  await writeJsonAtomic(done, row);
  return row;
}

export function formatTable1(rows: readonly Row[]): string {
  const cell = (v: number | undefined) => (v === undefined ? '-' : (100 * v).toFixed(2)).padStart(9);
  const head = `  ${'objective'.padEnd(12)}${SCORES.map((s) => s.padStart(9)).join('')}${'ID'.padStart(9)}`;
  const lines = rows.map((r) => `  ${r.objective.padEnd(12)}${SCORES.map((s) => cell(r.auroc[s])).join('')}${r.intrinsicDim.toFixed(2).padStart(9)}`);
  return `AUROC (%) by open-set score, and the train features' intrinsic dimension (TwoNN):\n${head}\n${lines.join('\n')}`;
}

export async function objectivesCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, OBJECTIVES_FLAGS);
  if (v.help)
    return console.log(
      usage(
        'objectives',
        "The paper's Table 1: trains each supervised objective with the same settings and reports AUROC under every open-set score plus the features' intrinsic dimension.",
        OBJECTIVES_FLAGS,
      ),
    );
  const base = trainOptionsFrom(v);
  const list = (listFlag(v, 'objectives') ?? [...OBJECTIVES]) as Objective[];
  // Own data (--data with --known) is named by its folder.
  const source = base.known && base.dataDir ? basename(resolve(base.dataDir)) : (base.protocol ?? 'mnist-mini');
  const root = base.out ?? join('runs', `table1-${source}-split${base.split ?? 0}`);
  // Every run's settings, and their agreement with a run already started or finished (whose row
  // would be reused), before the first starts.
  for (const objective of list) {
    const out = join(root, objective.replace('+', '-'));
    await checkSameRun(checkTrainOptions({ ...base, objective, out }));
  }
  const rows: Row[] = [];
  for (const objective of list) {
    console.log(`objective ${objective}:`);
    const row = await runObjective(base, objective, join(root, objective.replace('+', '-')));
    if (!row) return; // interrupted: rerun the same command to continue
    rows.push(row);
  }
  console.log(formatTable1(rows));
  mkdirSync(root, { recursive: true });
  await writeJsonAtomic(join(root, 'table1.json'), rows);
  console.log(`wrote ${join(root, 'table1.json')}`);
}
