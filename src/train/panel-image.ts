// Attribution panels as pixels (browser-safe): a header naming the columns (and the epoch and
// method), then a row per image of view 1 | its LayerCAM map over it (viridis) | the pasted box
// outlined | the mixed image, as RGBA bytes that pictures.ts writes to a PNG and a page puts on a
// canvas (src/browser/panels.ts). The header's words are pixels too (bitmap-font.ts), so both show
// the same picture.
import type { AttributionPanels } from './panels.js';
import { drawText, LINE_HEIGHT, textWidth, wrapText } from './bitmap-font.js';

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

export interface PanelCaption {
  /** The training method. The box and mixed columns are GradMix's whatever the method, so for none, mixup and cutmix their names say that training does not use them. */
  method?: string;
  /** Shown in the title line. */
  epoch?: number;
  /** View 1 is the image itself, not a random crop (PanelOptions.plainView1). */
  plainView1?: boolean;
}

/** The four columns' names, as the picture's header shows them. */
export function panelColumns(caption: PanelCaption = {}): string[] {
  // Attentive CutMix's panels are its own mixing (panels.ts): the partner with its attention, the cells taken from it.
  if (caption.method === 'attentive-cutmix') return [caption.plainView1 ? 'image' : 'view 1', 'partner attention', 'cells taken', 'mixed'];
  const gradmix = caption.method === undefined || caption.method === 'gradmix';
  return [caption.plainView1 ? 'image' : 'view 1', 'LayerCAM', gradmix ? 'box' : 'box (unused)', gradmix ? 'mixed' : 'mix (unused)'];
}

/** The columns of GradMix training's pictures. */
export const PANEL_COLUMNS = panelColumns();

/** The title line: epoch and method, and for other methods what the GradMix columns mean ('' when there is nothing to say). */
export function panelTitle(caption: PanelCaption = {}): string {
  const parts: string[] = [];
  if (caption.epoch !== undefined) parts.push(`epoch ${caption.epoch}`);
  if (caption.method !== undefined) parts.push(`method ${caption.method}`);
  let title = parts.join(', ');
  if (caption.method === 'attentive-cutmix') {
    title += ": cells are those the partner's attention ranks highest";
  } else if (caption.method !== undefined && caption.method !== 'gradmix') {
    const trains = caption.method === 'none' ? 'training mixes nothing' : `training mixes with ${caption.method}`;
    title += `: box and mix show where GradMix would paste, unused; ${trains}`;
  }
  return title;
}

const GAP = 2;
const INK: [number, number, number] = [51, 51, 51];

export interface PanelLayout {
  /** Image pixels per image-data pixel, and per font pixel. */
  scale: number;
  textScale: number;
  gap: number;
  cellW: number;
  cellH: number;
  /** Rows of panels drawn. */
  rows: number;
  /** The title's lines and each column's name's lines (wrapped to fit). */
  title: string[];
  columns: string[][];
  /** Height of the header above the first row of panels (its lower gap not included). */
  header: number;
  width: number;
  height: number;
}

/** Where everything of renderPanels goes; panel (row, col) has its top-left at panelOrigin(layout, row, col). */
export function panelLayout(p: Pick<AttributionPanels, 'b' | 'h' | 'w'>, scale = 4, rows = p.b, caption: PanelCaption = {}): PanelLayout {
  const names = panelColumns(caption);
  // Font pixels of about half an image pixel: 'LayerCAM' still fits a 32-pixel-wide panel at scale 3.
  const textScale = Math.max(1, Math.round(scale / 2));
  const cellW = p.w * scale;
  const cellH = p.h * scale;
  const width = names.length * cellW + (names.length + 1) * GAP;
  const titleText = panelTitle(caption);
  const title = titleText ? wrapText(titleText, width - 2 * GAP, textScale) : [];
  const columns = names.map((name) => wrapText(name, cellW, textScale));
  const lines = title.length + Math.max(...columns.map((c) => c.length));
  const header = GAP + lines * LINE_HEIGHT * textScale;
  const n = Math.min(rows, p.b);
  return { scale, textScale, gap: GAP, cellW, cellH, rows: n, title, columns, header, width, height: header + n * cellH + (n + 1) * GAP };
}

export function panelOrigin(l: PanelLayout, row: number, col: number): { x: number; y: number } {
  return { x: l.gap + col * (l.cellW + l.gap), y: l.header + l.gap + row * (l.cellH + l.gap) };
}

/** The header: the title left-aligned, each column's name centred over it and set on the panels. */
function drawHeader(img: RgbaImage, l: PanelLayout): void {
  const lh = LINE_HEIGHT * l.textScale;
  l.title.forEach((line, k) => drawText(img, line, l.gap, l.gap + k * lh, INK, l.textScale));
  const most = Math.max(...l.columns.map((c) => c.length));
  l.columns.forEach((lines, col) => {
    const { x } = panelOrigin(l, 0, col);
    lines.forEach((line, k) => {
      const y = l.gap + (l.title.length + most - lines.length + k) * lh;
      const left = x + Math.floor((l.cellW - textWidth(line, l.textScale)) / 2);
      drawText(img, line, left, y, INK, l.textScale, { x0: x, y0: 0, x1: x + l.cellW, y1: l.header });
    });
  });
}

/**
 * The panels as one RGBA picture: a header (panelTitle's line when there is an epoch or method,
 * then panelColumns' names) and a row per image (the first `rows`), `scale` pixels per image
 * pixel, 2 px gaps. Images are un-normalised with `mean`/`std`; each heatmap is scaled by its own
 * maximum. Bytes are 255 x colour rounded half up (Math.round).
 */
export function renderPanels(p: AttributionPanels, mean: readonly number[], std: readonly number[], scale = 4, rows = p.b, caption: PanelCaption = {}): RgbaImage {
  const l = panelLayout(p, scale, rows, caption);
  const { width, height } = l;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  const picture = { width, height, data };
  drawHeader(picture, l);
  const hw = p.h * p.w;
  const pixel = (img: Float32Array, i: number, y: number, x: number): [number, number, number] => {
    const ch = (k: number) => {
      const cc = p.c === 1 ? 0 : k;
      return Math.min(1, Math.max(0, img[(i * p.c + cc) * hw + y * p.w + x] * std[cc] + mean[cc]));
    };
    return [ch(0), ch(1), ch(2)];
  };
  for (let i = 0; i < l.rows; i++) {
    let camMax = 1e-12;
    for (let k = 0; k < hw; k++) camMax = Math.max(camMax, p.cam[i * hw + k]);
    const [top, left, bh, bw] = p.boxes.subarray(4 * i, 4 * i + 4);
    const region = p.region;
    const inRegion = (y: number, x: number) => !!region && y >= 0 && y < p.h && x >= 0 && x < p.w && region[i * hw + y * p.w + x] !== 0;
    // The outline: the box's edge, or (Attentive CutMix) region pixels with a neighbour outside it.
    const onBorder = region
      ? (y: number, x: number) => inRegion(y, x) && !(inRegion(y - 1, x) && inRegion(y + 1, x) && inRegion(y, x - 1) && inRegion(y, x + 1))
      : (y: number, x: number) => ((y === top || y === top + bh - 1) && x >= left && x < left + bw) || ((x === left || x === left + bw - 1) && y >= top && y < top + bh);
    for (let y = 0; y < p.h; y++) {
      for (let x = 0; x < p.w; x++) {
        const img = pixel(p.view1, i, y, x);
        // The map and the outline are drawn over the image they were computed on: the partner's, for Attentive CutMix.
        const under = p.partner ? pixel(p.partner, i, y, x) : img;
        const heat = viridis(p.cam[i * hw + y * p.w + x] / camMax);
        const cells: [number, number, number][] = [img, under.map((v, k) => 0.35 * v + 0.65 * heat[k]) as [number, number, number], onBorder(y, x) ? [1, 0.15, 0.1] : under, pixel(p.mixed, i, y, x)];
        cells.forEach((rgb, col) => {
          const o = panelOrigin(l, i, col);
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const at = ((o.y + y * scale + dy) * width + o.x + x * scale + dx) * 4;
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
  return picture;
}
