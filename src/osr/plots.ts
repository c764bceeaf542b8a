// SVG pictures of an evaluation: the ROC curve (known = positive) and histograms of the known
// and unknown scores. Plain strings, so they work in Node and in a page alike.

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
  for (let i = 0; i < scores.length; i++) (isKnown[i] ? pos++ : neg++);
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

function frame(title: string, xLabel: string, yLabel: string, xTicks: number[], yTicks: number[], xFmt: (v: number) => string, yFmt: (v: number) => string): string {
  const ticks =
    xTicks.map((t) => `<line x1="${M.left + t * PW}" y1="${M.top + PH}" x2="${M.left + t * PW}" y2="${M.top + PH + 4}" stroke="#333"/><text x="${M.left + t * PW}" y="${M.top + PH + 16}" text-anchor="middle">${xFmt(t)}</text>`).join('') +
    yTicks.map((t) => `<line x1="${M.left - 4}" y1="${M.top + PH - t * PH}" x2="${M.left}" y2="${M.top + PH - t * PH}" stroke="#333"/><text x="${M.left - 7}" y="${M.top + PH - t * PH + 4}" text-anchor="end">${yFmt(t)}</text>`).join('');
  return (
    `<rect width="${W}" height="${H}" fill="white"/>` +
    `<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>` +
    `<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#333"/>` +
    ticks +
    `<text x="${M.left + PW / 2}" y="${H - 8}" text-anchor="middle">${xLabel}</text>` +
    `<text transform="translate(14 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`
  );
}

const svg = (body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">${body}</svg>\n`;

export function rocSvg(scores: ArrayLike<number>, isKnown: ArrayLike<number | boolean>, auroc: number, title = 'ROC: known vs unknown'): string {
  const pts = rocPoints(scores, isKnown);
  const path = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${(M.left + x * PW).toFixed(1)},${(M.top + PH - y * PH).toFixed(1)}`).join('');
  const t = [0, 0.25, 0.5, 0.75, 1];
  return svg(
    frame(title, 'false positive rate (unknown accepted)', 'true positive rate (known accepted)', t, t, String, String) +
      `<line x1="${M.left}" y1="${M.top + PH}" x2="${M.left + PW}" y2="${M.top}" stroke="#bbb" stroke-dasharray="4 3"/>` +
      `<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="2"/>` +
      `<text x="${M.left + PW - 8}" y="${M.top + PH - 10}" text-anchor="end">AUROC ${(100 * auroc).toFixed(2)}%</text>`,
  );
}

export function histogramSvg(scores: ArrayLike<number>, isKnown: ArrayLike<number | boolean>, bins = 30, title = 'Open-set scores'): string {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    lo = Math.min(lo, scores[i]);
    hi = Math.max(hi, scores[i]);
  }
  if (!(hi > lo)) hi = lo + 1e-6;
  const count = (known: boolean) => {
    const h = new Array<number>(bins).fill(0);
    let n = 0;
    for (let i = 0; i < scores.length; i++) {
      if (!!isKnown[i] !== known) continue;
      h[Math.min(bins - 1, Math.floor(((scores[i] - lo) / (hi - lo)) * bins))]++;
      n++;
    }
    return h.map((c) => c / Math.max(n, 1));
  };
  const known = count(true);
  const unknown = count(false);
  const top = Math.max(...known, ...unknown, 1e-9);
  const bw = PW / bins;
  const bars = (h: number[], color: string) =>
    h.map((v, i) => `<rect x="${(M.left + i * bw).toFixed(1)}" y="${(M.top + PH - (v / top) * PH).toFixed(1)}" width="${bw.toFixed(1)}" height="${((v / top) * PH).toFixed(1)}" fill="${color}" fill-opacity="0.55"/>`).join('');
  const t = [0, 0.25, 0.5, 0.75, 1];
  return svg(
    frame(title, 'score (max_c d_c / sum_c d_c)', 'fraction of samples', t, t, (v) => (lo + v * (hi - lo)).toFixed(3), (v) => (v * top).toFixed(2)) +
      bars(known, '#1f77b4') +
      bars(unknown, '#d62728') +
      `<rect x="${M.left + 8}" y="${M.top + 8}" width="10" height="10" fill="#1f77b4" fill-opacity="0.55"/><text x="${M.left + 22}" y="${M.top + 17}">known</text>` +
      `<rect x="${M.left + 8}" y="${M.top + 24}" width="10" height="10" fill="#d62728" fill-opacity="0.55"/><text x="${M.left + 22}" y="${M.top + 33}">unknown</text>`,
  );
}
