// The comparison as an SVG: one bar per row (B/A on a log scale, coloured by verdict) and a
// roofline panel (log-log GFLOP/s against FLOPs per byte) with both runs' roofs and rows (A
// hollow, B filled). Rows that declare only bytes have no intensity and appear in the bars only.
import type { BenchRun } from './schema.js';
import type { ComparedRow, Verdict } from './compare-runs.js';
import { ridge, type Roof } from './roofline.js';

const COLOUR: Record<Verdict, string> = {
  faster: '#2a9d4b',
  slower: '#d1493f',
  'within noise': '#9a9a9a',
  'only in A': '#c9c9c9',
  'only in B': '#c9c9c9',
  error: '#e0a030',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

function ratioPanel(rows: readonly ComparedRow[], top: number, width: number): { svg: string[]; height: number } {
  const rowH = 14;
  const labelW = 330;
  const mid = labelW + (width - labelW - 80) / 2;
  const half = (width - labelW - 80) / 2;
  const span = 3; // log2: bars reach the edge at 8x
  const x = (ratio: number) => mid + (Math.max(-span, Math.min(span, Math.log2(ratio))) / span) * half;
  const out = [`<text x="10" y="${top + 14}" font-weight="bold">B / A per row (left of the line: B faster; grey: within noise)</text>`];
  const y0 = top + 24;
  rows.forEach((r, i) => {
    const y = y0 + i * rowH;
    const key = r.key.length > 55 ? r.key.slice(0, 54) + '~' : r.key;
    out.push(`<text x="10" y="${y + 10}" font-size="10">${esc(key)}</text>`);
    if (r.ratio !== undefined) {
      const xr = x(r.ratio);
      out.push(`<rect x="${fmt(Math.min(mid, xr))}" y="${y + 2}" width="${fmt(Math.max(1, Math.abs(xr - mid)))}" height="${rowH - 4}" fill="${COLOUR[r.verdict]}"/>`);
      out.push(`<text x="${width - 75}" y="${y + 10}" font-size="10">${r.ratio.toFixed(2)}x ${r.verdict === 'within noise' ? '~' : r.verdict}</text>`);
    } else {
      out.push(`<text x="${mid + 4}" y="${y + 10}" font-size="10" fill="#888">${r.verdict}</text>`);
    }
  });
  const bottom = y0 + rows.length * rowH;
  out.push(`<line x1="${mid}" y1="${y0}" x2="${mid}" y2="${bottom}" stroke="#333"/>`);
  for (const t of [-span, span]) out.push(`<text x="${fmt(mid + (t / span) * half)}" y="${bottom + 12}" font-size="10" text-anchor="middle">${2 ** t >= 1 ? `${2 ** t}x` : `1/${2 ** -t}x`}</text>`);
  return { svg: out, height: bottom + 20 - top };
}

function rooflinePanel(a: BenchRun, b: BenchRun, rows: readonly ComparedRow[], top: number, width: number): { svg: string[]; height: number } {
  const h = 260;
  const left = 60;
  const right = width - 20;
  const plotTop = top + 24;
  const bottom = plotTop + h;
  const pts = rows.flatMap((r) => [r.a, r.b].filter((x) => x?.roofline?.intensity !== undefined).map((x) => x!.roofline!));
  const roofs: Roof[] = [a.ceilings, b.ceilings];
  const xs = [...pts.map((p) => p.intensity!), ...roofs.map(ridge)];
  const ys = [...pts.map((p) => p.attained), ...roofs.map((r) => r.gflops)];
  const lx0 = Math.floor(Math.log10(Math.min(...xs)) - 0.3);
  const lx1 = Math.ceil(Math.log10(Math.max(...xs)) + 0.3);
  const ly0 = Math.floor(Math.log10(Math.max(1e-3, Math.min(...ys))) - 0.3);
  const ly1 = Math.ceil(Math.log10(Math.max(...ys)) + 0.1);
  const X = (ai: number) => left + ((Math.log10(ai) - lx0) / (lx1 - lx0)) * (right - left);
  const Y = (g: number) => bottom - ((Math.log10(g) - ly0) / (ly1 - ly0)) * h;
  const out = [
    `<text x="10" y="${top + 14}" font-weight="bold">Roofline: GFLOP/s against FLOPs per byte (A hollow / dashed roof, B filled / solid)</text>`,
    `<rect x="${left}" y="${plotTop}" width="${right - left}" height="${h}" fill="none" stroke="#333"/>`,
  ];
  for (let e = lx0; e <= lx1; e++) out.push(`<text x="${fmt(X(10 ** e))}" y="${bottom + 12}" font-size="10" text-anchor="middle">${10 ** e >= 1 ? 10 ** e : `1e${e}`}</text>`);
  for (let e = ly0; e <= ly1; e++) out.push(`<text x="${left - 4}" y="${fmt(Y(10 ** e) + 3)}" font-size="10" text-anchor="end">${10 ** e >= 1 ? 10 ** e : `1e${e}`}</text>`);
  roofs.forEach((r, i) => {
    const xa = 10 ** lx0;
    const xr = ridge(r);
    const xb = 10 ** lx1;
    const dash = i === 0 ? ' stroke-dasharray="5,3"' : '';
    out.push(`<polyline fill="none" stroke="#1f5fa8"${dash} points="${fmt(X(xa))},${fmt(Y(Math.max(xa * r.gbps, 10 ** ly0)))} ${fmt(X(xr))},${fmt(Y(r.gflops))} ${fmt(X(xb))},${fmt(Y(r.gflops))}"/>`);
  });
  for (const r of rows) {
    for (const [run, row] of [
      ['A', r.a],
      ['B', r.b],
    ] as const) {
      const p = row?.roofline;
      if (!p || p.intensity === undefined || !(p.attained > 0)) continue;
      const fill = run === 'A' ? 'none' : COLOUR[r.verdict];
      out.push(
        `<circle cx="${fmt(X(p.intensity))}" cy="${fmt(Y(p.attained))}" r="3.5" fill="${fill}" stroke="${COLOUR[r.verdict]}"><title>${esc(`${run}: ${r.key}: ${p.attained.toFixed(2)} GFLOP/s, ${(100 * p.fraction).toFixed(0)}% of the ${p.limit} roof`)}</title></circle>`,
      );
    }
  }
  return { svg: out, height: h + 44 };
}

export function comparisonSvg(a: BenchRun, b: BenchRun, rows: readonly ComparedRow[]): string {
  const width = 900;
  const title = `<text x="10" y="18" font-weight="bold" font-size="13">${esc(`A: ${a.adapter} (${a.engine.commit?.slice(0, 10) ?? a.engine.version})  vs  B: ${b.adapter} (${b.engine.commit?.slice(0, 10) ?? b.engine.version})`)}</text>`;
  const bars = ratioPanel(rows, 28, width);
  const roof = rooflinePanel(a, b, rows, 28 + bars.height + 10, width);
  const height = 28 + bars.height + 10 + roof.height;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    title,
    ...bars.svg,
    ...roof.svg,
    '</svg>',
    '',
  ].join('\n');
}
