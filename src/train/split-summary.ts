// Many runs of one protocol (its splits, seeds) summarised per metric as mean and sample std, and
// the paper's figure to put beside them. Used by `gradmix protocol` and `gradmix sweep report`.
import type { OpenSetMetrics } from '../osr/metrics.js';
import { METRIC_LABELS } from '../osr/report.js';

/** The paper's AUROC (%) of GradMix per protocol, ResNet18, mean of 5 splits (docs/OPEN-SET.md section 6). */
export const PAPER_AUROC: Record<string, number> = {
  mnist: 99.8,
  'mnist-mini': 99.8,
  svhn: 94.7,
  cifar10: 91.33,
  'cifar+10': 98.62,
  'cifar+50': 97.64,
  tinyimagenet: 81.92,
};

/** The paper's AUROC (%) beside a method's runs: it reports GradMix's only, so null for other methods (and protocols it lacks). */
export function paperAurocOf(protocol: string, method: string): number | null {
  return method === 'gradmix' ? (PAPER_AUROC[protocol] ?? null) : null;
}

/** Mean and sample std (n-1) of each metric over runs. */
export function summarise(results: OpenSetMetrics[]): Record<keyof OpenSetMetrics, { mean: number; std: number }> {
  const out = {} as Record<keyof OpenSetMetrics, { mean: number; std: number }>;
  for (const k of Object.keys(METRIC_LABELS) as (keyof OpenSetMetrics)[]) {
    const xs = results.map((r) => r[k]);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(xs.length - 1, 1));
    out[k] = { mean, std };
  }
  return out;
}
