// SVG pictures of an evaluation: the ROC curve (known = positive) and histograms of the known
// and unknown scores, with axes that name the score and ticks fitted to its range (scores differ:
// kNN's mostly in [0, 1] (docs/OPEN-SET.md section 2), MSP's in [1/K, 1], the negative entropy and NNO's are unbounded below).
// Plain strings, so they work in Node and in a page alike.
import type { ScoreKind } from './scores.js';

const W = 420;
const H = 320;
const M = { left: 52, right: 16, top: 28, bottom: 44 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

/** ROC points (FPR, TPR) over every distinct threshold, from (0,0) to (1,1). */
export function rocPoints(scores: ArrayLike<number>, isKnown: ArrayLike<number | boolean>): [number, number][] {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < scores.length; i++) isKnown[i] ? pos++ : neg++;
  const pts: [number, number][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < idx.length; j++) {
    if (isKnown[idx[j]]) tp++;
    else fp++;
    // One point per distinct score: tied samples move together.
    if (j === idx.length - 1 || scores[idx[j + 1]] !== scores[idx[j]]) pts.push([fp / Math.max(neg, 1), tp / Math.max(pos, 1)]);
  }
  return pts;
}

/** The histogram's x-axis title: what the score is, and that higher means more known. */
export function scoreAxisLabel(score: ScoreKind, k?: number): string {
  const what: Record<ScoreKind, string> = {
    knn: `kNN score${k === undefined ? '' : ` (k = ${k})`}: max_c d_c / sum_c d_c`,
    msp: 'MSP: maximum softmax probability',
    entropy: 'negative softmax entropy',
    nno: 'NNO: minus Mahalanobis distance to the nearest class mean',
  };
  return `${what[score] ?? score}; higher = more known`;
}

/** A score's short name, for titles: 'kNN (k = 3)', 'MSP', 'entropy', 'NNO'. */
export function scoreName(score: ScoreKind, k?: number): string {
  const names: Record<ScoreKind, string> = { knn: `kNN${k === undefined ? '' : ` (k = ${k})`}`, msp: 'MSP', entropy: 'entropy', nno: 'NNO' };
  return names[score] ?? score;
}

export interface Ticks {
  /** Tick values, ascending, multiples of step; the first <= the range's low end, the last >= its high end. */
  values: number[];
  step: number;
  /** Decimals that show every tick exactly. */
  decimals: number;
}

/**
 * About `target` intervals of a 1, 2 or 5 x 10^k step covering [lo, hi]. An empty range (a
 * constant score) is widened around its value, so there is never a division by zero; a range
 * with a non-finite end is taken as [0, 1].
 */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo <= Math.abs(lo) * 1e-9) {
    const half = lo === 0 ? 0.5 : Math.abs(lo) * 0.05;
    [lo, hi] = [lo - half, hi + half];
  }
  const raw = (hi - lo) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * magnitude;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const values = Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toFixed(decimals)));
  return { values, step, decimals };
}

interface Axis {
  title: string;
  /** Tick positions along the axis in [0, 1] and their labels. */
  ticks: { at: number; label: string }[];
}

/** Evenly placed ticks of a nice range, labelled with the range's decimals. */
function axisOf(title: string, t: Ticks): Axis {
  const lo = t.values[0];
  const span = t.values[t.values.length - 1] - lo;
  return { title, ticks: t.values.map((v) => ({ at: (v - lo) / span, label: v.toFixed(t.decimals) })) };
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function frame(title: string, x: Axis, y: Axis): string {
  const ticks =
    x.ticks
      .map(
        ({ at, label }) =>
          `<line x1="${M.left + at * PW}" y1="${M.top + PH}" x2="${M.left + at * PW}" y2="${M.top + PH + 4}" stroke="#333"/><text x="${M.left + at * PW}" y="${M.top + PH + 16}" text-anchor="middle">${label}</text>`,
      )
      .join('') +
    y.ticks
      .map(
        ({ at, label }) =>
          `<line x1="${M.left - 4}" y1="${M.top + PH - at * PH}" x2="${M.left}" y2="${M.top + PH - at * PH}" stroke="#333"/><text x="${M.left - 7}" y="${M.top + PH - at * PH + 4}" text-anchor="end">${label}</text>`,
      )
      .join('');
  return (
    `<rect width="${W}" height="${H}" fill="white"/>` +
    `<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>` +
    `<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#333"/>` +
    ticks +
    `<text x="${M.left + PW / 2}" y="${H - 8}" text-anchor="middle">${escapeXml(x.title)}</text>` +
    `<text transform="translate(14 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(y.title)}</text>`
  );
}

const svg = (body: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">${body}</svg>\n`;

export function rocSvg(scores: ArrayLike<number>, isKnown: ArrayLike<number | boolean>, auroc: number, title = 'ROC: known vs unknown'): string {
  const pts = rocPoints(scores, isKnown);
  const path = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${(M.left + x * PW).toFixed(1)},${(M.top + PH - y * PH).toFixed(1)}`).join('');
  const rates = niceTicks(0, 1);
  return svg(
    frame(title, axisOf('false positive rate (unknown images accepted as known)', rates), axisOf('true positive rate (known images accepted)', rates)) +
      `<line x1="${M.left}" y1="${M.top + PH}" x2="${M.left + PW}" y2="${M.top}" stroke="#bbb" stroke-dasharray="4 3"/>` +
      `<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="2"/>` +
      `<text x="${M.left + PW - 8}" y="${M.top + PH - 10}" text-anchor="end">AUROC ${(100 * auroc).toFixed(2)}%</text>`,
  );
}

/**
 * Histograms of the known and unknown samples' scores (each as fractions of its own count) over
 * the scores' range, rounded out to nice ticks; `bins` is a target, adjusted so that bins line up
 * with the ticks. Non-finite scores are left out and counted in the legend.
 */
export function histogramSvg(scores: ArrayLike<number>, isKnown: ArrayLike<number | boolean>, bins = 30, title = 'Open-set scores', xLabel = 'score (higher = more known)'): string {
  let lo = Infinity;
  let hi = -Infinity;
  let nonFinite = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) nonFinite++;
    else [lo, hi] = [Math.min(lo, scores[i]), Math.max(hi, scores[i])];
  }
  const xt = niceTicks(lo, hi);
  const x0 = xt.values[0];
  const span = xt.values[xt.values.length - 1] - x0;
  const intervals = xt.values.length - 1;
  const nBins = intervals * Math.max(1, Math.round(bins / intervals));
  const count = (known: boolean) => {
    const h = new Array<number>(nBins).fill(0);
    let n = 0;
    for (let i = 0; i < scores.length; i++) {
      if (!!isKnown[i] !== known || !Number.isFinite(scores[i])) continue;
      h[Math.min(nBins - 1, Math.max(0, Math.floor(((scores[i] - x0) / span) * nBins)))]++;
      n++;
    }
    return h.map((c) => c / Math.max(n, 1));
  };
  const known = count(true);
  const unknown = count(false);
  const yt = niceTicks(0, Math.max(...known, ...unknown, 1e-9));
  const top = yt.values[yt.values.length - 1];
  const bw = PW / nBins;
  const bars = (h: number[], color: string) =>
    h
      .map((v, i) =>
        v > 0
          ? `<rect x="${(M.left + i * bw).toFixed(1)}" y="${(M.top + PH - (v / top) * PH).toFixed(1)}" width="${bw.toFixed(1)}" height="${((v / top) * PH).toFixed(1)}" fill="${color}" fill-opacity="0.55"/>`
          : '',
      )
      .join('');
  const left = nonFinite ? `<text x="${M.left + 8}" y="${M.top + 49}">${nonFinite} non-finite score${nonFinite === 1 ? '' : 's'} not shown</text>` : '';
  return svg(
    frame(title, axisOf(xLabel, xt), axisOf('fraction of samples', yt)) +
      bars(known, '#1f77b4') +
      bars(unknown, '#d62728') +
      `<rect x="${M.left + 8}" y="${M.top + 8}" width="10" height="10" fill="#1f77b4" fill-opacity="0.55"/><text x="${M.left + 22}" y="${M.top + 17}">known</text>` +
      `<rect x="${M.left + 8}" y="${M.top + 24}" width="10" height="10" fill="#d62728" fill-opacity="0.55"/><text x="${M.left + 22}" y="${M.top + 33}">unknown</text>` +
      left,
  );
}
