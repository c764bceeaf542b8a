// Attribution panels as pixels (browser-safe): a row per image of view 1 | its LayerCAM map over
// it (viridis) | the pasted box outlined | the mixed image, as RGBA bytes that pictures.ts writes
// to a PNG and a page puts on a canvas (src/browser/panels.ts).
import type { AttributionPanels } from './panels.js';

/** matplotlib's viridis as a degree-6 polynomial fit (perceptually uniform, colour-blind safe). */
export function viridis(t: number): [number, number, number] {
  const c = [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ];
  const x = Math.min(1, Math.max(0, t));
  return [0, 1, 2].map((k) => {
    let v = c[6][k];
    for (let i = 5; i >= 0; i--) v = c[i][k] + x * v;
    return Math.min(1, Math.max(0, v));
  }) as [number, number, number];
}

export interface RgbaImage {
  width: number;
  height: number;
  /** width x height x 4 bytes, row-major (ImageData's layout). */
  data: Uint8ClampedArray;
}

export const PANEL_COLUMNS = ['view 1', 'LayerCAM', 'box', 'mixed'] as const;

/**
 * The panels as one RGBA picture: a row per image (the first `rows`), columns PANEL_COLUMNS,
 * `scale` pixels per image pixel, 2 px gaps. Images are un-normalised with `mean`/`std`; each
 * heatmap is scaled by its own maximum. Bytes are 255 x colour rounded half up (Math.round).
 */
export function renderPanels(p: AttributionPanels, mean: readonly number[], std: readonly number[], scale = 4, rows = p.b): RgbaImage {
  const gap = 2;
  const n = Math.min(rows, p.b);
  const cellW = p.w * scale;
  const cellH = p.h * scale;
  const width = PANEL_COLUMNS.length * cellW + (PANEL_COLUMNS.length + 1) * gap;
  const height = n * cellH + (n + 1) * gap;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  const hw = p.h * p.w;
  const pixel = (img: Float32Array, i: number, y: number, x: number): [number, number, number] => {
    const ch = (k: number) => {
      const cc = p.c === 1 ? 0 : k;
      return Math.min(1, Math.max(0, img[(i * p.c + cc) * hw + y * p.w + x] * std[cc] + mean[cc]));
    };
    return [ch(0), ch(1), ch(2)];
  };
  for (let i = 0; i < n; i++) {
    let camMax = 1e-12;
    for (let k = 0; k < hw; k++) camMax = Math.max(camMax, p.cam[i * hw + k]);
    const [top, left, bh, bw] = p.boxes.subarray(4 * i, 4 * i + 4);
    const onBorder = (y: number, x: number) =>
      ((y === top || y === top + bh - 1) && x >= left && x < left + bw) || ((x === left || x === left + bw - 1) && y >= top && y < top + bh);
    for (let y = 0; y < p.h; y++) {
      for (let x = 0; x < p.w; x++) {
        const img = pixel(p.view1, i, y, x);
        const heat = viridis(p.cam[i * hw + y * p.w + x] / camMax);
        const cells: [number, number, number][] = [
          img,
          img.map((v, k) => 0.35 * v + 0.65 * heat[k]) as [number, number, number],
          onBorder(y, x) ? [1, 0.15, 0.1] : img,
          pixel(p.mixed, i, y, x),
        ];
        cells.forEach((rgb, col) => {
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const at = ((gap + i * (cellH + gap) + y * scale + dy) * width + gap + col * (cellW + gap) + x * scale + dx) * 4;
              data[at] = Math.round(255 * rgb[0]);
              data[at + 1] = Math.round(255 * rgb[1]);
              data[at + 2] = Math.round(255 * rgb[2]);
              data[at + 3] = 255;
            }
          }
        });
      }
    }
  }
  return { width, height, data };
}
