// A 5x7 pixel font with descenders (an 8th row for g, j, p, q, y), drawn into RGBA pixels
// (browser-safe): the attribution grid's headers are part of its pixels, so the PNG written in
// Node and a page's canvas show the same words without a font library. Each glyph is 7 rows of 5
// cells ('#' ink, '.' paper) above the baseline, plus one below for descenders; characters it
// lacks draw as '?'.
import type { RgbaImage } from './panel-image.js';

export const GLYPH_WIDTH = 5;
/** Rows of a glyph: 7 above the baseline, 1 below it. */
export const GLYPH_HEIGHT = 8;
/** Font pixels from one character's left edge to the next (a 1-pixel space between glyphs). */
export const GLYPH_ADVANCE = GLYPH_WIDTH + 1;
/** Font pixels from one line's top to the next. */
export const LINE_HEIGHT = GLYPH_HEIGHT + 2;

const GLYPHS: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. ..#.. .#...',
  '-': '..... ..... ..... .###. ..... ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  _: '..... ..... ..... ..... ..... ..... #####',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
};

/** The glyph of `ch` as GLYPH_HEIGHT rows of GLYPH_WIDTH booleans (ink); '?' for characters the font lacks. */
export function glyph(ch: string): boolean[][] {
  const rows = (GLYPHS[ch] ?? GLYPHS['?']).split(' ');
  while (rows.length < GLYPH_HEIGHT) rows.push('.....'); // no descender
  return rows.map((r) => [...r].map((c) => c === '#'));
}

/** Width in image pixels of `text` drawn at `scale` image pixels per font pixel (no trailing space). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * GLYPH_ADVANCE - 1) * scale;
}

/** Splits `text` into lines at most `maxWidth` pixels wide, at spaces; a word wider than that gets a line of its own. */
export function wrapText(text: string, maxWidth: number, scale = 1): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const joined = line ? `${line} ${word}` : word;
    if (line && textWidth(joined, scale) > maxWidth) {
      lines.push(line);
      line = word;
    } else line = joined;
  }
  if (line) lines.push(line);
  return lines;
}

export interface TextClip {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Draws `text` with its top-left corner at (x, y), `scale` image pixels per font pixel, in `rgb`
 * (opaque). Ink outside `clip` (default: the image) is not drawn, so a long label cannot spill into
 * a neighbouring column.
 */
export function drawText(img: RgbaImage, text: string, x: number, y: number, rgb: readonly [number, number, number], scale = 1, clip?: TextClip): void {
  const c = clip ?? { x0: 0, y0: 0, x1: img.width, y1: img.height };
  const x0 = Math.max(0, c.x0);
  const y0 = Math.max(0, c.y0);
  const x1 = Math.min(img.width, c.x1);
  const y1 = Math.min(img.height, c.y1);
  [...text].forEach((ch, i) => {
    const rows = glyph(ch);
    const left = x + i * GLYPH_ADVANCE * scale;
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!rows[gy][gx]) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = left + gx * scale + dx;
            const py = y + gy * scale + dy;
            if (px < x0 || px >= x1 || py < y0 || py >= y1) continue;
            const at = (py * img.width + px) * 4;
            img.data[at] = rgb[0];
            img.data[at + 1] = rgb[1];
            img.data[at + 2] = rgb[2];
            img.data[at + 3] = 255;
          }
        }
      }
    }
  });
}
