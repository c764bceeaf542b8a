// GradMix's attribution panels on a page's canvas: computed by src/train/panels.ts and rendered to
// RGBA by src/train/panel-image.ts, as src/train/pictures.ts does for its PNG files.
import { PANEL_COLUMNS, type RgbaImage } from '../train/panel-image.js';

/** Shows rendered panels on a canvas (resized to fit), with the column names above when `captions`. */
export function drawPanels(canvas: HTMLCanvasElement, img: RgbaImage, captions = true): void {
  const top = captions ? 16 : 0;
  canvas.width = img.width;
  canvas.height = img.height + top;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, top);
  ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, top);
  if (!captions) return;
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'center';
  const cell = img.width / PANEL_COLUMNS.length;
  PANEL_COLUMNS.forEach((name, col) => ctx.fillText(name, (col + 0.5) * cell, 12));
}
