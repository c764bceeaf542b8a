// A picture of one image under every corruption: one row per corruption (in CORRUPTIONS order),
// columns the clean image then severities 1..5, each image enlarged by pixel replication.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';

export interface CorruptionGrid {
  /** rows[r][k]: an image [C, H, W] in [0, 1] (C = 1 or 3); all the same size. */
  rows: Float32Array[][];
  channels: number;
  height: number;
  width: number;
}

/** Renders the grid as RGBA: `scale` screen pixels per image pixel, a 2 px white gap between images. */
export function renderCorruptionGrid(g: CorruptionGrid, scale = Math.max(1, Math.round(96 / Math.max(g.height, g.width)))): PNG {
  const gap = 2;
  const cols = Math.max(...g.rows.map((r) => r.length));
  const [cw, ch] = [g.width * scale, g.height * scale];
  const png = new PNG({ width: cols * cw + (cols + 1) * gap, height: g.rows.length * ch + (g.rows.length + 1) * gap });
  png.data.fill(255);
  const hw = g.height * g.width;
  g.rows.forEach((row, r) => {
    row.forEach((img, k) => {
      if (img.length !== g.channels * hw) throw new Error(`corruption grid: image (${r}, ${k}) has ${img.length} values, expected ${g.channels * hw}`);
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) {
          const p = Math.floor(y / scale) * g.width + Math.floor(x / scale);
          const at = ((gap + r * (ch + gap) + y) * png.width + gap + k * (cw + gap) + x) * 4;
          for (let c = 0; c < 3; c++) png.data[at + c] = Math.round(255 * Math.min(1, Math.max(0, img[(g.channels === 1 ? 0 : c) * hw + p])));
          png.data[at + 3] = 255;
        }
      }
    });
  });
  return png;
}

export function writeCorruptionGrid(file: string, g: CorruptionGrid): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, PNG.sync.write(renderCorruptionGrid(g)));
  return file;
}
