// Writing an evaluation: results.json (the metric keys of the issue, fractions in [0,1]), the ROC
// curve and score histogram as SVG, and a printed table. Node only (file system).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../checkpoint/files.js';
import type { Evaluation } from './evaluate.js';
import type { OpenSetMetrics } from './metrics.js';
import { histogramSvg, rocSvg, scoreAxisLabel, scoreName } from './plots.js';

export const METRIC_LABELS: Record<keyof OpenSetMetrics, string> = {
  auroc: 'AUROC',
  tnr95: 'TNR@95TPR',
  dtacc: 'DTACC',
  auin: 'AUIN',
  auout: 'AUOUT',
  closedAcc: 'closed-set acc',
  oscr: 'OSCR',
};

export function metricsTable(m: OpenSetMetrics): string {
  return (Object.keys(METRIC_LABELS) as (keyof OpenSetMetrics)[]).map((k) => `  ${METRIC_LABELS[k].padEnd(15)} ${(100 * m[k]).toFixed(2).padStart(6)}%`).join('\n');
}

/** The TwoNN intrinsic dimension as a row under metricsTable. */
export function intrinsicDimLine(dim: number): string {
  return `  ${'intrinsic dim'.padEnd(15)} ${dim.toFixed(2).padStart(6)}   (TwoNN, train features)`;
}

/** Writes results.json (atomically, last: sweeps and `protocol` read a whole one as a finished run), roc.svg and scores.svg; returns results.json's path. */
export async function writeEvaluation(out: string, e: Evaluation, context: Record<string, unknown>): Promise<string> {
  mkdirSync(out, { recursive: true });
  // The plots name the score (and kNN's k, which the context carries) on their axes and titles.
  const k = e.score === 'knn' && typeof context.k === 'number' ? context.k : undefined;
  writeFileSync(join(out, 'roc.svg'), rocSvg(e.scores, e.isKnown, e.metrics.auroc, `ROC of the ${scoreName(e.score, k)} score: known vs unknown`));
  writeFileSync(join(out, 'scores.svg'), histogramSvg(e.scores, e.isKnown, 30, `${scoreName(e.score, k)} scores: known vs unknown test images`, scoreAxisLabel(e.score, k)));
  const file = join(out, 'results.json');
  await writeJsonAtomic(file, { ...e.metrics, counts: e.counts, ...context });
  return file;
}
