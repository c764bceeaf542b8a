// A small class-per-folder image tree of drawn shapes (PNG, sizes differ per image), for the
// own-data tests: classes a model can tell apart after little training, grey or in colour.
import { join } from 'node:path';
import { pngBytes, put } from './data-fixtures.js';

export const SHAPES = ['bars', 'columns', 'disc', 'ring'] as const;
type Shape = (typeof SHAPES)[number];

/** Intensity in [0, 1] of `shape` at (x, y) of a w x h image, with a per-image phase. */
function draw(shape: Shape, x: number, y: number, w: number, h: number, phase: number): number {
  const u = x / w - 0.5;
  const v = y / h - 0.5;
  const r = Math.hypot(u, v);
  switch (shape) {
    case 'bars':
      return Math.floor(y / 3 + phase) % 2;
    case 'columns':
      return Math.floor(x / 3 + phase) % 2;
    case 'disc':
      return r < 0.25 + 0.05 * (phase % 2) ? 1 : 0;
    case 'ring':
      return Math.abs(r - 0.3) < 0.07 ? 1 : 0;
  }
}

/**
 * Writes root/<shape>/<i>.png for each shape, `perClass` images each, of sizes between 20 and
 * 43 pixels; colour images tint the shape, grey ones keep R = G = B. Returns root.
 */
export function writeShapesFolder(root: string, options: { perClass?: number; colour?: boolean; shapes?: readonly Shape[] } = {}): string {
  const { perClass = 10, colour = false, shapes = SHAPES } = options;
  shapes.forEach((shape, c) => {
    for (let i = 0; i < perClass; i++) {
      const w = 20 + ((i * 7 + c * 5) % 24);
      const h = 20 + ((i * 11 + c * 3) % 24);
      const data = new Uint8Array(w * h * 4);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const noise = ((x * 31 + y * 17 + i * 13) % 23) / 23;
          const value = Math.round(255 * (0.8 * draw(shape, x, y, w, h, i) + 0.2 * noise));
          const p = 4 * (y * w + x);
          data.set(colour ? [value, (value * (c + 1)) % 256, 255 - value] : [value, value, value], p);
          data[p + 3] = 255;
        }
      }
      put(root, join(shape, `${i}.png`), pngBytes({ width: w, height: h, data }));
    }
  });
  return root;
}
