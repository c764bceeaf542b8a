import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  augmentViews,
  resizeNormalize,
  Augmentation,
  sampleCrop,
  sampleViews,
  wholeImageViews,
  jitterRange,
  MNIST_AUGMENT,
  CIFAR_AUGMENT,
  augmentPreset,
  type AugmentConfig,
  type ViewParams,
  type JitterStep,
  type CropBox,
} from '../src/augment/index.js';
import { roundHalfEven } from '../src/augment/params.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, assertClose, read, seeded, setupGpu, upload } from './helpers.js';

const test = suite('augment');
test.before(setupGpu);

// ---- float64 reference: torchvision's transforms on a whole C x H x W float image ----

type Image = { c: number; h: number; w: number; v: Float64Array };

const at = (im: Image, c: number, y: number, x: number) => im.v[(c * im.h + y) * im.w + x];

/** F.resized_crop with bilinear interpolation, align_corners=False, no antialias. */
function resizedCrop(im: Image, box: CropBox, outH: number, outW: number): Image {
  const v = new Float64Array(im.c * outH * outW);
  const src = (d: number, len: number, out: number) => {
    const s = Math.max((len / out) * (d + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(s), len - 1);
    return { i0, i1: Math.min(i0 + 1, len - 1), l: s - i0 };
  };
  for (let c = 0; c < im.c; c++) {
    for (let y = 0; y < outH; y++) {
      const sy = src(y, box.height, outH);
      for (let x = 0; x < outW; x++) {
        const sx = src(x, box.width, outW);
        const p = (yy: number, xx: number) => at(im, c, box.top + yy, box.left + xx);
        v[(c * outH + y) * outW + x] = (1 - sy.l) * ((1 - sx.l) * p(sy.i0, sx.i0) + sx.l * p(sy.i0, sx.i1)) + sy.l * ((1 - sx.l) * p(sy.i1, sx.i0) + sx.l * p(sy.i1, sx.i1));
      }
    }
  }
  return { c: im.c, h: outH, w: outW, v };
}

function hflip(im: Image): Image {
  const v = new Float64Array(im.v.length);
  for (let c = 0; c < im.c; c++) for (let y = 0; y < im.h; y++) for (let x = 0; x < im.w; x++) v[(c * im.h + y) * im.w + x] = at(im, c, y, im.w - 1 - x);
  return { ...im, v };
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** rgb_to_grayscale as one plane (a copy for C = 1). */
function grayPlane(im: Image): Float64Array {
  const n = im.h * im.w;
  if (im.c === 1) return im.v.slice(0, n);
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = 0.2989 * im.v[i] + 0.587 * im.v[n + i] + 0.114 * im.v[2 * n + i];
  return g;
}

/** _blend(img, other, f) with `other` given per pixel (broadcast over channels). */
function blend(im: Image, other: (i: number) => number, f: number): Image {
  const n = im.h * im.w;
  return { ...im, v: im.v.map((x, k) => clamp01(f * x + (1 - f) * other(k % n))) };
}

function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  const eqc = maxc === minc;
  const cr = maxc - minc;
  const s = cr / (eqc ? 1 : maxc);
  const d = eqc ? 1 : cr;
  const rc = (maxc - r) / d;
  const gc = (maxc - g) / d;
  const bc = (maxc - b) / d;
  const hr = maxc === r ? bc - gc : 0;
  const hg = maxc === g && maxc !== r ? 2 + rc - bc : 0;
  const hb = maxc !== g && maxc !== r ? 4 + gc - rc : 0;
  return [((hr + hg + hb) / 6 + 1) % 1, s, maxc];
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = clamp01(v * (1 - s));
  const q = clamp01(v * (1 - s * f));
  const t = clamp01(v * (1 - s * (1 - f)));
  return (
    [
      [v, t, p],
      [q, v, p],
      [p, v, t],
      [p, q, v],
      [t, p, v],
      [v, p, q],
    ] as [number, number, number][]
  )[i % 6];
}

function adjustHue(im: Image, shift: number): Image {
  if (im.c === 1) return im;
  const n = im.h * im.w;
  const v = new Float64Array(im.v.length);
  for (let i = 0; i < n; i++) {
    const [h, s, val] = rgbToHsv(im.v[i], im.v[n + i], im.v[2 * n + i]);
    const hh = (((h + shift) % 1) + 1) % 1; // Python's %
    [v[i], v[n + i], v[2 * n + i]] = hsvToRgb(hh, s, val);
  }
  return { ...im, v };
}

function jitterStep(im: Image, s: JitterStep): Image {
  switch (s.op) {
    case 'brightness':
      return blend(im, () => 0, s.factor);
    case 'contrast': {
      const g = grayPlane(im);
      const m = g.reduce((a, b) => a + b, 0) / g.length;
      return blend(im, () => m, s.factor);
    }
    case 'saturation': {
      if (im.c === 1) return im;
      const g = grayPlane(im);
      return blend(im, (i) => g[i], s.factor);
    }
    case 'hue':
      return adjustHue(im, s.factor);
  }
}

function referenceView(im: Image, p: ViewParams, outH: number, outW: number, mean: readonly number[], std: readonly number[]): Float64Array {
  let x = resizedCrop(im, p.crop, outH, outW);
  if (p.flip) x = hflip(x);
  for (const s of p.jitter) x = jitterStep(x, s);
  if (p.grayscale) {
    const g = grayPlane(x);
    x = { ...x, v: x.v.map((_, k) => g[k % g.length]) };
  }
  const n = outH * outW;
  return x.v.map((val, k) => (val - mean[Math.floor(k / n)]) / std[Math.floor(k / n)]);
}

function referenceViews(images: Float64Array, shape: number[], views: readonly ViewParams[], outH: number, outW: number, mean: readonly number[], std: readonly number[]): Float64Array {
  const [B, C, H, W] = shape;
  const per = C * outH * outW;
  const out = new Float64Array(views.length * per);
  views.forEach((p, n) => {
    const b = n % B;
    const im = { c: C, h: H, w: W, v: images.subarray(b * C * H * W, (b + 1) * C * H * W) };
    out.set(referenceView(im, p, outH, outW, mean, std), n * per);
  });
  return out;
}

// ---- inputs ----

/** Float32-exact pixels in [0, 1]; some pixels gray (r = g = b), some exactly 0 or 1, for the hue edge cases. */
function randomImages(rng: Rng, shape: number[]): Float64Array {
  const [B, C, H, W] = shape;
  const n = H * W;
  const v = new Float64Array(B * C * n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) {
      const kind = rng.uniform();
      for (let c = 0; c < C; c++) {
        const at = (b * C + c) * n + i;
        v[at] = kind < 0.05 ? Math.round(rng.uniform()) : Math.fround(rng.uniform());
        if (kind >= 0.05 && kind < 0.15 && c > 0) v[at] = v[b * C * n + i];
      }
    }
  }
  return v;
}

/** Strong settings so that every transform shows up and jitter often saturates. */
const STRONG: AugmentConfig = {
  size: 5,
  scale: [0.1, 1],
  ratio: [0.5, 2],
  flip: 0.5,
  jitter: { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.5, p: 0.9 },
  grayscale: 0.3,
  mean: [0.5, 0.4, 0.3],
  std: [0.25, 0.2, 0.3],
};

function normFor(C: number, cfg: AugmentConfig = STRONG) {
  return { mean: cfg.mean.slice(0, C), std: cfg.std.slice(0, C) };
}

// [B, C, H, W, outH, outW]
const CASES: number[][] = [
  [1, 3, 7, 7, 5, 5],
  [3, 3, 9, 5, 4, 7],
  [3, 1, 9, 5, 11, 6],
  [1, 1, 7, 7, 7, 7],
  [3, 3, 7, 7, 13, 9],
];

async function compare(
  images: Float64Array,
  shape: number[],
  views: readonly ViewParams[],
  outH: number,
  outW: number,
  mean: readonly number[],
  std: readonly number[],
  what: string,
  seed: number,
): Promise<void> {
  const ref = referenceViews(images, shape, views, outH, outW, mean, std);
  await scope(async () => {
    const out = augmentViews(upload(images, shape), views, { size: [outH, outW], mean, std });
    assert.equal(out.shape, [views.length, shape[1], outH, outW], `${what}: output shape`);
    assertClose(await read(out), ref, FORWARD_TOL, what, seed);
  });
}

// ---- GPU kernel against the reference ----

test('views match the float64 reference on awkward sizes (sampled parameters)', async () => {
  for (const [B, C, H, W, outH, outW] of CASES) {
    const { rng, seed } = seeded();
    const shape = [B, C, H, W];
    const images = randomImages(rng, shape);
    const views = sampleViews(rng, B, H, W, STRONG, 2);
    const { mean, std } = normFor(C);
    await compare(images, shape, views, outH, outW, mean, std, `views ${JSON.stringify([B, C, H, W])} -> ${outH}x${outW}`, seed);
  }
});

test('every jitter step in every position, flips and grayscale, with and without contrast', async () => {
  const { rng, seed } = seeded();
  const shape = [3, 3, 9, 5];
  const images = randomImages(rng, shape);
  const ops: JitterStep['op'][] = ['brightness', 'contrast', 'saturation', 'hue'];
  const factor: Record<JitterStep['op'], () => number> = {
    brightness: () => rng.uniform(0.3, 1.8),
    contrast: () => rng.uniform(0.3, 1.8),
    saturation: () => rng.uniform(0, 2),
    hue: () => rng.uniform(-0.5, 0.5),
  };
  const views: ViewParams[] = [];
  for (let r = 0; r < 4; r++) {
    for (let k = 0; k < 3; k++) {
      const order = ops.map((_, i) => ops[(i + r) % 4]);
      if (k === 1) order.reverse();
      views.push({
        crop: sampleCrop(rng, 9, 5, [0.2, 1], [0.5, 2]),
        flip: (r + k) % 2 === 0,
        jitter: order.slice(0, 4 - k).map((op) => ({ op, factor: factor[op]() })),
        grayscale: k === 2,
      });
    }
  }
  const { mean, std } = normFor(3);
  await compare(images, shape, views, 6, 4, mean, std, 'all steps', seed);
  // Without any contrast step the single-dispatch path runs.
  const noContrast = views.map((v) => ({ ...v, jitter: v.jitter.filter((s) => s.op !== 'contrast') }));
  await compare(images, shape, noContrast, 6, 4, mean, std, 'steps without contrast', seed);
  // One channel: saturation, hue and grayscale are no-ops; brightness and contrast still apply.
  const gray = randomImages(rng, [3, 1, 9, 5]);
  await compare(gray, [3, 1, 9, 5], views, 7, 3, [0.2], [0.7], 'all steps, one channel', seed);
});

test('Augmentation.views: [2B, C, outH, outW], view 1 then view 2, parameters from its seeded state', async () => {
  for (const [B, C, H, W] of [
    [3, 3, 9, 5],
    [1, 1, 7, 7],
  ]) {
    const { rng, seed } = seeded();
    const shape = [B, C, H, W];
    const images = randomImages(rng, shape);
    const cfg: AugmentConfig = { ...STRONG, size: [6, 5], ...normFor(C) };
    const aug = new Augmentation(cfg, seed);
    const replay = new Rng(0);
    replay.setState(aug.state());
    const views = sampleViews(replay, B, H, W, cfg, 2);
    await scope(async () => {
      const out = aug.views(upload(images, shape));
      assert.equal(out.shape, [2 * B, C, 6, 5]);
      const ref = referenceViews(images, shape, views, 6, 5, cfg.mean, cfg.std);
      assertClose(await read(out), ref, FORWARD_TOL, `Augmentation.views ${JSON.stringify(shape)}`, seed);
    });
    assert.equal(aug.state(), replay.state(), 'the sampler advanced exactly as the replay');
  }
});

test('presets: mnist (crop only) and cifar (SimCLR recipe) match the reference', async () => {
  for (const [name, C] of [
    ['mnist', 1],
    ['cifar', 3],
  ] as const) {
    const { rng, seed } = seeded();
    const cfg = augmentPreset(name);
    const shape = [3, C, 32, 32];
    const images = randomImages(rng, shape);
    const views = sampleViews(rng, 3, 32, 32, cfg, 2);
    await compare(images, shape, views, 32, 32, cfg.mean, cfg.std, `${name} preset`, seed);
  }
});

test('eval path: resize (bilinear) and normalise, no randomness; same size is exactly (x - mean) / std', async () => {
  const { rng, seed } = seeded();
  const shape = [3, 3, 9, 5];
  const images = randomImages(rng, shape);
  const norm = normFor(3);
  await scope(async () => {
    const x = upload(images, shape);
    const resized = resizeNormalize(x, { size: [4, 7], ...norm });
    const ref = referenceViews(images, shape, wholeImageViews(3, 9, 5), 4, 7, norm.mean, norm.std);
    assertClose(await read(resized), ref, FORWARD_TOL, 'eval resize', seed);
    const same = await read(resizeNormalize(x, { size: [9, 5], ...norm }));
    const plane = 45;
    for (let i = 0; i < images.length; i++) {
      const c = Math.floor(i / plane) % 3;
      assert.ok(Math.abs(same[i] - (images[i] - norm.mean[c]) / norm.std[c]) < 1e-5, `eval same size: element ${i} (seed ${seed})`);
    }
    const aug = new Augmentation({ ...MNIST_AUGMENT, size: 7 }, 1);
    const before = aug.state();
    const one = upload(randomImages(rng, [2, 1, 9, 5]), [2, 1, 9, 5]);
    assert.equal(aug.eval(one).shape, [2, 1, 7, 7]);
    assert.equal(aug.state(), before, 'eval draws nothing');
  });
});

test('clear errors for bad inputs', async () => {
  await scope(async () => {
    const x = upload(new Float64Array(2 * 3 * 4 * 4).fill(0.5), [2, 3, 4, 4]);
    const whole = wholeImageViews(2, 4, 4);
    const norm = normFor(3);
    assert.throws(() => augmentViews(x, whole, { size: 4, mean: [0.1], std: [0.3] }), /1 mean and 1 std values, images have 3 channels/);
    assert.throws(() => augmentViews(x, [], { size: 4, ...norm }), /0 views for/);
    assert.throws(() => augmentViews(x, whole.slice(0, 1), { size: 4, ...norm }), /1 views for 2 images/);
    const bad = [{ ...whole[0], crop: { top: 1, left: 0, height: 4, width: 4 } }, whole[1]];
    assert.throws(() => augmentViews(x, bad, { size: 4, ...norm }), /view 0 crop box .* is not inside the 4x4 image/);
    assert.throws(() => augmentViews(upload(new Float64Array(32), [1, 2, 4, 4]), whole.slice(0, 1), { size: 4, mean: [0, 0], std: [1, 1] }), /2 channels; augmentation supports 1 or 3/);
    assert.throws(() => resizeNormalize(x, { size: 0, ...norm }), /output size 0/);
    assert.throws(() => augmentPreset('imagenet'), /unknown preset 'imagenet'; known: mnist, cifar/);
    assert.throws(() => new Augmentation({ ...CIFAR_AUGMENT, flip: 1.5 }, 0), /flip probability 1.5 must lie in \[0, 1\]/);
    assert.throws(() => new Augmentation({ ...CIFAR_AUGMENT, scale: [0.5, 0.2] }, 0), /crop scale range \[0.5,0.2\]/);
    assert.throws(() => new Augmentation({ ...CIFAR_AUGMENT, jitter: { ...CIFAR_AUGMENT.jitter!, hue: 0.6 } }, 0), /hue jitter range/);
  });
});

// ---- the parameter sampler (host only) ----

test('crop boxes always lie inside the image; area and ratio in range unless falling back', () => {
  const { rng, seed } = seeded();
  const sizes = [
    [1, 1],
    [1, 50],
    [50, 1],
    [7, 7],
    [9, 5],
    [32, 32],
    [224, 160],
  ];
  const ranges: [[number, number], [number, number]][] = [
    [
      [0.2, 1],
      [3 / 4, 4 / 3],
    ],
    [
      [0.6, 1],
      [3 / 4, 4 / 3],
    ],
    [
      [0.05, 0.3],
      [0.2, 5],
    ],
    [
      [0.9, 1],
      [2, 3],
    ],
  ];
  let checked = 0;
  for (const [H, W] of sizes) {
    for (const [scale, ratio] of ranges) {
      const fallback = fallbackBox(H, W, ratio);
      for (let t = 0; t < 200; t++) {
        const b = sampleCrop(rng, H, W, scale, ratio);
        const tag = `${H}x${W} scale ${scale} ratio ${ratio}: ${JSON.stringify(b)} (seed ${seed})`;
        assert.ok([b.top, b.left, b.height, b.width].every(Number.isInteger), tag);
        assert.ok(b.top >= 0 && b.left >= 0 && b.height >= 1 && b.width >= 1 && b.top + b.height <= H && b.left + b.width <= W, `outside: ${tag}`);
        if (sameBox(b, fallback)) continue;
        // w = round(sqrt(A r)), h = round(sqrt(A / r)): some exact (A, r) in range rounds to (w, h).
        const areaLo = (b.width - 0.5) * (b.height - 0.5);
        const areaHi = (b.width + 0.5) * (b.height + 0.5);
        assert.ok(areaHi >= scale[0] * H * W && areaLo <= scale[1] * H * W, `area out of range: ${tag}`);
        assert.ok((b.width + 0.5) / Math.max(b.height - 0.5, 1e-9) >= ratio[0] && (b.width - 0.5) / (b.height + 0.5) <= ratio[1], `ratio out of range: ${tag}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 1000, `only ${checked} boxes were not fallbacks`);
  // Large images: rounding is small, so the sampled area fraction and ratio are tight.
  for (let t = 0; t < 500; t++) {
    const b = sampleCrop(rng, 1000, 800, [0.2, 0.5], [0.75, 4 / 3]);
    const frac = (b.width * b.height) / (1000 * 800);
    assert.ok(frac > 0.2 * 0.99 && frac < 0.5 * 1.01, `area fraction ${frac} (seed ${seed})`);
    assert.ok(b.width / b.height > 0.75 * 0.99 && b.width / b.height < (4 / 3) * 1.01, `ratio ${b.width / b.height} (seed ${seed})`);
  }
  // The ratio is log-uniform: over 3/4..4/3, wide and tall boxes are equally likely (uniform gives 57% wide).
  let wide = 0;
  const n = 4000;
  for (let t = 0; t < n; t++) {
    const b = sampleCrop(rng, 1000, 800, [0.1, 0.2], [3 / 4, 4 / 3]);
    wide += b.width > b.height ? 1 : b.width === b.height ? 0.5 : 0;
  }
  assert.ok(Math.abs(wide / n - 0.5) < 5 * Math.sqrt(0.25 / n), `wide boxes ${wide / n}, expected 0.5 (seed ${seed})`);
});

function fallbackBox(H: number, W: number, ratio: [number, number]): CropBox {
  const r = W / H;
  const w = r > ratio[1] ? Math.max(1, roundHalfEven(H * ratio[1])) : W;
  const h = r < ratio[0] ? Math.max(1, roundHalfEven(W / ratio[0])) : H;
  return { top: Math.floor((H - h) / 2), left: Math.floor((W - w) / 2), height: h, width: w };
}

const sameBox = (a: CropBox, b: CropBox) => a.top === b.top && a.left === b.left && a.height === b.height && a.width === b.width;

test("crop falls back to torchvision's centre crop when no try fits", () => {
  const rng = new Rng(5);
  // Ratio 2-3 at 90-100% of a square never fits: centre crop of ratio 2 (w = W, h = round(W / 2)).
  for (let t = 0; t < 20; t++) assert.equal(sampleCrop(rng, 32, 32, [0.9, 1], [2, 3]), { top: 8, left: 0, height: 16, width: 32 });
  // A wide image with a narrow ratio range: h = H, w = round(H * max ratio).
  for (let t = 0; t < 20; t++) assert.equal(sampleCrop(rng, 10, 40, [0.95, 1], [0.5, 1]), { top: 0, left: 15, height: 10, width: 10 });
  // An image whose own ratio is in range falls back to the whole image (an area over 1 never fits).
  for (let t = 0; t < 20; t++) assert.equal(sampleCrop(rng, 10, 12, [1.5, 2], [0.5, 2]), { top: 0, left: 0, height: 10, width: 12 });
  assert.equal([0.5, 1.5, 2.5, 3.5, -2.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 4, -2, 2, 3]);
});

test('same seed gives the same parameters; a restored state continues the stream', () => {
  const a = sampleViews(new Rng(42), 5, 32, 32, CIFAR_AUGMENT, 2);
  const b = sampleViews(new Rng(42), 5, 32, 32, CIFAR_AUGMENT, 2);
  assert.equal(a, b);
  assert.not.equal(sampleViews(new Rng(43), 5, 32, 32, CIFAR_AUGMENT, 2), a);
  const aug = new Augmentation(CIFAR_AUGMENT, 7);
  aug.sample(4, 32, 32);
  const saved = aug.state();
  const next = aug.sample(4, 32, 32);
  const resumed = new Augmentation(CIFAR_AUGMENT, 999);
  resumed.setState(saved);
  assert.equal(resumed.sample(4, 32, 32), next);
});

test('sampled views follow the config: probabilities, factor ranges, step orders, presets', () => {
  const { rng, seed } = seeded();
  const n = 4000;
  const views = sampleViews(rng, n / 2, 32, 32, CIFAR_AUGMENT, 2);
  const rate = (f: (v: ViewParams) => boolean) => views.filter(f).length / n;
  const near = (got: number, p: number, what: string) => assert.ok(Math.abs(got - p) < 5 * Math.sqrt((p * (1 - p)) / n), `${what} rate ${got}, expected ${p} (seed ${seed})`);
  near(
    rate((v) => v.flip),
    0.5,
    'flip',
  );
  near(
    rate((v) => v.jitter.length > 0),
    0.8,
    'jitter',
  );
  near(
    rate((v) => v.grayscale),
    0.2,
    'grayscale',
  );
  const orders = new Set<string>();
  for (const v of views) {
    if (v.jitter.length === 0) continue;
    assert.equal([...v.jitter.map((s) => s.op)].sort(), ['brightness', 'contrast', 'hue', 'saturation'], `all four steps (seed ${seed})`);
    orders.add(v.jitter.map((s) => s.op).join());
    for (const s of v.jitter) {
      const [lo, hi] = s.op === 'hue' ? [-0.1, 0.1] : [0.6, 1.4];
      assert.ok(s.factor >= lo && s.factor <= hi, `${s.op} factor ${s.factor} (seed ${seed})`);
    }
  }
  assert.is(orders.size, 24, `all 24 orders appear (seed ${seed})`);
  // mnist: crop only, never a flip, jitter or grayscale.
  for (const v of sampleViews(rng, 100, 32, 32, MNIST_AUGMENT, 2)) assert.ok(!v.flip && v.jitter.length === 0 && !v.grayscale);
  // torchvision's ColorJitter argument rules: a zero strength disables the step.
  assert.is(jitterRange('hue', 0), null);
  assert.equal(jitterRange('brightness', 1.5), [0, 2.5]);
  assert.throws(() => jitterRange('hue', 0.7), /hue jitter range .* within \[-0.5, 0.5\]/);
  const noHue = sampleViews(rng, 50, 8, 8, { ...CIFAR_AUGMENT, jitter: { brightness: 0.4, contrast: 0, saturation: 0.4, hue: 0, p: 1 } }, 1);
  for (const v of noHue) assert.equal(v.jitter.map((s) => s.op).sort(), ['brightness', 'saturation']);
});

test.run();
