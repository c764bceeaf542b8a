// Writing an evaluation: results.json (the metric keys of the issue, fractions in [0,1]), the ROC
// curve and score histogram as SVG, and a printed table. Node only (file system).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Evaluation } from './evaluate.js';
import type { OpenSetMetrics } from './metrics.js';
import { histogramSvg, rocSvg } from './plots.js';

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
  return (Object.keys(METRIC_LABELS) as (keyof OpenSetMetrics)[])
    .map((k) => `  ${METRIC_LABELS[k].padEnd(15)} ${(100 * m[k]).toFixed(2).padStart(6)}%`)
    .join('\n');
}

export function writeEvaluation(out: string, e: Evaluation, context: Record<string, unknown>): string {
  mkdirSync(out, { recursive: true });
  const file = join(out, 'results.json');
  writeFileSync(file, JSON.stringify({ ...e.metrics, counts: e.counts, ...context }, null, 2) + '\n');
  writeFileSync(join(out, 'roc.svg'), rocSvg(e.scores, e.isKnown, e.metrics.auroc));
  writeFileSync(join(out, 'scores.svg'), histogramSvg(e.scores, e.isKnown));
  return file;
}
