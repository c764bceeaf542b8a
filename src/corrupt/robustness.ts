// Corruption robustness of a trained encoder (the paper's section 4.4): closed-set accuracy of the
// kNN classifier (docs/OPEN-SET.md section 2, predicted = argmax_c d_c) on the clean known test images and
// on each corruption at each severity, the accuracy drop from clean, and the paper's summaries:
// Fig. 5 (accuracy per severity, averaged over the corruption types) and Table 5 (per type,
// averaged over the severities).
import type { ViewsOutput } from '../augment/index.js';
import type { Dataset } from '../data/index.js';
import type { SupConResNet } from '../nn/index.js';
import { extractFeatures, scoreOpenSet } from '../osr/index.js';
import type { Tensor } from '../tensor.js';
import { CORRUPTIONS, CORRUPTION_LABELS, SEVERITIES, checkSeverity, type CorruptionName, type ParamTable } from './corruptions.js';
import { corruptDataset } from './corrupt.js';
import { loadCorruptedSet, type CorruptedFilesOptions } from './corrupted-files.js';

/** The test images of one corruption at one severity, labelled like the clean known test set. */
export type CorruptedSource = (name: CorruptionName, severity: number) => Promise<Dataset>;

/** The random seed of one corruption and severity of a run seeded `seed`: each set draws its own noise. */
export function corruptionSeed(seed: number, name: CorruptionName, severity: number): number {
  return (Math.imul(seed, 0x9e3779b1) + 8 * CORRUPTIONS.indexOf(name) + severity) >>> 0;
}

/** Corruptions generated on the GPU from the clean images, a seed per (corruption, severity). */
export function generatedSource(clean: Dataset, options: { seed?: number; table?: ParamTable; batchSize?: number } = {}): CorruptedSource {
  const { seed = 0, table, batchSize } = options;
  return (name, severity) => corruptDataset(clean, name, severity, { seed: corruptionSeed(seed, name, severity), table, batchSize });
}

/** The published corrupted test sets on disk (./corrupted-files.ts). */
export function filesSource(dir: string, options: CorruptedFilesOptions): CorruptedSource {
  return (name, severity) => loadCorruptedSet(dir, name, severity, options);
}

export interface RobustnessOptions {
  /** kNN neighbours per class (default 3). */
  k?: number;
  batchSize?: number;
  corruptions?: readonly CorruptionName[];
  severities?: readonly number[];
  /** Reports each set's accuracy as it is measured. */
  progress?: (name: CorruptionName, severity: number, accuracy: number, count: number) => void;
}

export interface RobustnessSummary {
  cleanAccuracy: number;
  corruptions: CorruptionName[];
  severities: number[];
  /** accuracy[name][j]: the accuracy at severities[j]. */
  accuracy: Record<string, number[]>;
  /** Fig. 5: accuracy per severity averaged over the corruption types, and its drop from clean. */
  perSeverity: { severity: number; accuracy: number; drop: number }[];
  /** Table 5: accuracy per corruption type averaged over the severities, and its drop from clean. */
  perType: { corruption: CorruptionName; label: string; accuracy: number; drop: number }[];
  /** Over every type and severity. */
  mean: { accuracy: number; drop: number };
}

export interface RobustnessResult extends RobustnessSummary {
  k: number;
  /** Clean known test images; counts[name][j] the images of each corrupted set. */
  count: number;
  counts: Record<string, number[]>;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The Fig. 5 and Table 5 summaries of per-set accuracies. */
export function summariseRobustness(cleanAccuracy: number, accuracy: Record<string, number[]>, corruptions: readonly CorruptionName[], severities: readonly number[]): RobustnessSummary {
  for (const name of corruptions) {
    if (accuracy[name]?.length !== severities.length) throw new Error(`summariseRobustness: ${name} has ${accuracy[name]?.length ?? 0} accuracies for ${severities.length} severities`);
  }
  const perSeverity = severities.map((severity, j) => {
    const a = mean(corruptions.map((name) => accuracy[name][j]));
    return { severity, accuracy: a, drop: cleanAccuracy - a };
  });
  const perType = corruptions.map((corruption) => {
    const a = mean(accuracy[corruption]);
    return { corruption, label: CORRUPTION_LABELS[corruption], accuracy: a, drop: cleanAccuracy - a };
  });
  const all = mean(perType.map((t) => t.accuracy));
  return { cleanAccuracy, corruptions: [...corruptions], severities: [...severities], accuracy, perSeverity, perType, mean: { accuracy: all, drop: cleanAccuracy - all } };
}

/** Fraction of `ds` (named `what` in errors) the kNN classifier on `trainF` labels correctly. */
async function knnAccuracy(model: SupConResNet, trainF: Tensor, train: Dataset, ds: Dataset, transform: ViewsOutput, k: number, numClasses: number, batchSize: number, what: string): Promise<number> {
  if (ds.n === 0) throw new Error(`corruption robustness: ${what} has no images of the known classes (do its labels number the classes as the protocol does?)`);
  const f = await extractFeatures(model, ds, transform, { batchSize });
  try {
    const { predicted } = await scoreOpenSet(trainF, train.labels, f, { k, numClasses });
    let correct = 0;
    for (let i = 0; i < ds.n; i++) if (predicted[i] === ds.labels[i]) correct++;
    return correct / ds.n;
  } finally {
    f.dispose();
  }
}

/**
 * Accuracy of the kNN classifier (train features of `train`) on `clean` and on every corrupted
 * set that `source` gives, for each corruption and severity.
 */
export async function evaluateRobustness(
  model: SupConResNet,
  train: Dataset,
  clean: Dataset,
  source: CorruptedSource,
  transform: ViewsOutput,
  options: RobustnessOptions = {},
): Promise<RobustnessResult> {
  const { k = 3, batchSize = 256, corruptions = CORRUPTIONS, severities = SEVERITIES } = options;
  severities.forEach(checkSeverity);
  let numClasses = 0;
  for (const l of train.labels) numClasses = Math.max(numClasses, l + 1);
  const trainF = await extractFeatures(model, train, transform, { batchSize });
  try {
    const cleanAccuracy = await knnAccuracy(model, trainF, train, clean, transform, k, numClasses, batchSize, 'the clean test set');
    const accuracy: Record<string, number[]> = {};
    const counts: Record<string, number[]> = {};
    for (const name of corruptions) {
      accuracy[name] = [];
      counts[name] = [];
      for (const severity of severities) {
        const what = `${name} severity ${severity}`;
        let ds: Dataset;
        try {
          ds = await source(name, severity);
        } catch (e) {
          throw new Error(`${what}: ${(e as Error).message}`);
        }
        const a = await knnAccuracy(model, trainF, train, ds, transform, k, numClasses, batchSize, what);
        accuracy[name].push(a);
        counts[name].push(ds.n);
        options.progress?.(name, severity, a, ds.n);
      }
    }
    return { ...summariseRobustness(cleanAccuracy, accuracy, corruptions, severities), k, count: clean.n, counts };
  } finally {
    trainF.dispose();
  }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}`.padStart(7);

/**
 * The results as text: one row per corruption type (Table 5: accuracy at each severity, mean over
 * severities, drop from clean), then the per-severity means over types (Fig. 5) and their drops.
 */
export function robustnessTable(r: RobustnessSummary): string {
  const head = `${'accuracy %'.padEnd(16)}${r.severities.map((s) => `sev ${s}`.padStart(7)).join('')}${'mean'.padStart(8)}${'drop'.padStart(8)}`;
  const rows = r.perType.map((t) => `${t.label.padEnd(16)}${r.accuracy[t.corruption].map(pct).join('')} ${pct(t.accuracy)} ${pct(t.drop)}`);
  const line = '-'.repeat(head.length);
  const fig5 = `${'all types'.padEnd(16)}${r.perSeverity.map((s) => pct(s.accuracy)).join('')} ${pct(r.mean.accuracy)} ${pct(r.mean.drop)}`;
  const drops = `${'drop'.padEnd(16)}${r.perSeverity.map((s) => pct(s.drop)).join('')}`;
  return [`clean accuracy ${pct(r.cleanAccuracy).trim()}%`, head, line, ...rows, line, fig5, drops].join('\n');
}
