// GradMix's attribution panels on a page's canvas: computed by src/train/panels.ts and rendered to
// RGBA, header included, by src/train/panel-image.ts, as src/train/pictures.ts does for its PNG
// files, so the page shows the same picture.
import type { RgbaImage } from '../train/panel-image.js';

/** Shows rendered panels on a canvas, at their own size. */
export function drawPanels(canvas: HTMLCanvasElement, img: RgbaImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
}
