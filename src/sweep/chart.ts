// report.svg: mean AUROC per method (and the settings that tell groups apart), grouped by
// protocol, with std whiskers and the paper's AUROC of GradMix as a dashed mark over each protocol's group.
import { seriesName, varyingSettings, type GroupSummary } from './report.js';

const escapeXml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];

export function aurocChartSvg(groups: GroupSummary[]): string {
  const protocols = [...new Set(groups.map((g) => g.protocol))];
  // One series per method and settings: groups of one method but another width are bars of their own.
  const varying = varyingSettings(groups);
  const series = (g: GroupSummary) => seriesName(g, varying);
  const methods = [...new Set(groups.map(series))];
  const bar = 22;
  const groupWidth = methods.length * bar + 24;
  const M = { left: 48, top: 34, bottom: 40 };
  const ph = 220;
  const paperLabel = 'paper (GradMix)';
  const legend = Math.max(130, 30 + 7 * Math.max(...methods.map((m) => m.length), paperLabel.length)); // room for the longest series name
  const w = M.left + Math.max(protocols.length, 1) * groupWidth + legend;
  const h = M.top + ph + M.bottom;
  const y = (pct: number) => M.top + ph * (1 - Math.min(Math.max(pct, 0), 100) / 100);
  const parts: string[] = [];
  for (const t of [0, 25, 50, 75, 100]) {
    parts.push(`<line x1="${M.left}" x2="${w - legend}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11">${t}</text>`);
  }
  protocols.forEach((p, pi) => {
    const x0 = M.left + pi * groupWidth + 12;
    parts.push(`<text x="${x0 + (methods.length * bar) / 2}" y="${M.top + ph + 18}" text-anchor="middle" font-size="12">${escapeXml(p)}</text>`);
    methods.forEach((m, mi) => {
      const g = groups.find((q) => q.protocol === p && series(q) === m);
      if (!g) return;
      const mean = 100 * g.summary.auroc.mean;
      const std = 100 * g.summary.auroc.std;
      const x = x0 + mi * bar;
      const cx = x + bar / 2 - 1;
      parts.push(
        `<rect x="${x}" y="${y(mean)}" width="${bar - 2}" height="${y(0) - y(mean)}" fill="${COLOURS[mi % COLOURS.length]}"><title>${escapeXml(`${p} ${m}: ${mean.toFixed(2)} ± ${std.toFixed(2)} (${g.runs} runs)`)}</title></rect>`,
      );
      parts.push(`<line class="whisker" x1="${cx}" x2="${cx}" y1="${y(mean - std)}" y2="${y(mean + std)}" stroke="#222"/>`);
    });
    const paper = groups.find((q) => q.protocol === p && q.paperAuroc !== null)?.paperAuroc;
    if (paper != null) parts.push(`<line class="paper" x1="${x0 - 4}" x2="${x0 + methods.length * bar + 2}" y1="${y(paper)}" y2="${y(paper)}" stroke="#000" stroke-dasharray="4 3"/>`);
  });
  methods.forEach((m, mi) => {
    const ly = M.top + 10 + mi * 18;
    parts.push(
      `<rect x="${w - legend + 12}" y="${ly - 9}" width="12" height="12" fill="${COLOURS[mi % COLOURS.length]}"/><text x="${w - legend + 30}" y="${ly + 1}" font-size="12">${escapeXml(m)}</text>`,
    );
  });
  const ly = M.top + 10 + methods.length * 18;
  parts.push(
    `<line x1="${w - legend + 12}" x2="${w - legend + 24}" y1="${ly - 3}" y2="${ly - 3}" stroke="#000" stroke-dasharray="4 3"/><text x="${w - legend + 30}" y="${ly + 1}" font-size="12">${paperLabel}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${M.left}" y="18" font-size="14">AUROC % (mean ± std over splits and seeds)</text>
${parts.join('\n')}
</svg>
`;
}
