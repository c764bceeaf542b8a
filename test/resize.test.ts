// Bilinear resizing against PyTorch's interpolate(mode='bilinear', align_corners=False), plain and
// antialiased (test/fixtures/resize.json, written by scripts/fixtures/resize.py): shrinking and
// growing each axis by whole, fractional and prime factors, and 1-pixel sides.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resizeBilinear } from '../src/data/resize.js';

interface ResizeCase {
  c: number;
  h: number;
  w: number;
  H: number;
  W: number;
  pixels: number[];
  plain: number[];
  antialias: number[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/resize.json', import.meta.url), 'utf8')) as { cases: ResizeCase[] };

function assertNear(got: Float32Array, want: number[], what: string) {
  assert.is(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  // Inputs are float32; the sums run in float64 and round to float32 once (half an ulp of ~1 is 6e-8).
  assert.ok(worst < 2e-7, `${what}: worst error ${worst}`);
}

for (const mode of ['plain', 'antialias'] as const) {
  test(`${mode} resize matches PyTorch at every fixture shape`, () => {
    for (const k of fixture.cases) {
      const image = Float32Array.from(k.pixels, (p) => p / 255);
      assertNear(resizeBilinear(image, k.c, k.h, k.w, k.H, k.W, mode === 'antialias'), k[mode], `${mode} ${k.c}x${k.h}x${k.w} -> ${k.H}x${k.W}`);
    }
  });
}

test('growing, both modes are the same; shrinking, only the antialiased one averages every pixel', () => {
  const grow = fixture.cases.find((k) => k.H >= k.h && k.W >= k.w)!;
  const image = Float32Array.from(grow.pixels, (p) => p / 255);
  assert.equal(resizeBilinear(image, grow.c, grow.h, grow.w, grow.H, grow.W, true), resizeBilinear(image, grow.c, grow.h, grow.w, grow.H, grow.W, false));
  // A 1-pixel checkerboard shrunk 4x: plain bilinear reads two neighbouring columns and rows of every four.
  const board = Float32Array.from({ length: 16 * 16 }, (_, i) => (Math.floor(i / 16) + (i % 16)) % 2);
  const smooth = resizeBilinear(board, 1, 16, 16, 4, 4, true);
  smooth.forEach((v, i) => assert.ok(Math.abs(v - 0.5) < 0.07, `antialiased pixel ${i}: ${v}`));
});

test('exact values of small cases (PyTorch interpolate of arange)', () => {
  // torch.nn.functional.interpolate(torch.arange(4.).view(1,1,2,2), size=4, mode='bilinear')
  assert.equal(Array.from(resizeBilinear(Float32Array.from([0, 1, 2, 3]), 1, 2, 2, 4, 4)), [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  const ramp = Float32Array.from({ length: 16 }, (_, i) => i);
  assert.equal(Array.from(resizeBilinear(ramp, 1, 4, 4, 2, 2)), [2.5, 4.5, 10.5, 12.5]);
  // antialias=True: the triangle twice as wide weighs pixels 0, 1, 2 by 3/7, 3/7, 1/7 (and 1, 2, 3 by 1/7, 3/7, 3/7).
  assert.equal(Array.from(resizeBilinear(ramp, 1, 4, 4, 2, 2, true)), [25 / 7, 36 / 7, 69 / 7, 80 / 7].map(Math.fround));
  const same = Float32Array.from([1, 2, 3]);
  assert.is(resizeBilinear(same, 1, 1, 3, 1, 3, true), same);
});

test.run();
