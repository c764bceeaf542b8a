// Float64 references of the corruption kernels (kernels/corrupt_*.wgsl), written from the
// published scripts' algorithms, reading the same plan (host draws and tables) and the same
// counter-based hash draws as the GPU. Where a result hinges on a discrete decision (a Poisson
// sample, a threshold, a rounding), the reference also reports how close the decision was, so a
// test can set aside the rare values that float32 and float64 may legitimately decide apart.
import type { CorruptionPlan, ImageShape } from '../src/corrupt/plans.js';
import type { JpegLayout } from '../src/corrupt/jpeg.js';
import { clampIndex, dctBasis, reflect101Index, reflectIndex, type ZoomAxis } from '../src/corrupt/tables.js';

// ---- the hash stream (kernels/corrupt_random.wgsl) ----

export function lowbias32(v: number): number {
  let z = v >>> 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x7feb352d) >>> 0;
  z ^= z >>> 15;
  z = Math.imul(z, 0x846ca68b) >>> 0;
  z ^= z >>> 16;
  return z >>> 0;
}

const stream = (key: number, i: number) => lowbias32((key ^ lowbias32(i)) >>> 0);
const draw = (s: number, j: number) => lowbias32((s + Math.imul(j, 0x9e3779b9)) >>> 0);
export const uniform = (s: number, j: number) => (draw(s, j) >>> 8) / 16777216;
const uniformOpen = (s: number, j: number) => ((draw(s, j) >>> 8) + 0.5) / 16777216;
const normal = (s: number, j: number) => Math.sqrt(-2 * Math.log(uniformOpen(s, j))) * Math.cos(2 * Math.PI * uniform(s, j + 1));

const clip = (v: number) => Math.min(1, Math.max(0, v));

export interface RefResult {
  out: Float64Array;
  /** 1 where a discrete decision was within float32 error of its boundary. */
  fragile: Uint8Array;
}

// ---- noise ----

/** numpy's legacy loggam. */
function loggam(x: number): number {
  const a = [
    8.333333333333333e-2, -2.777777777777778e-3, 7.936507936507937e-4, -5.952380952380952e-4, 8.417508417508418e-4, -1.917526917526918e-3, 6.41025641025641e-3, -2.955065359477124e-2,
    1.796443723688307e-1, -1.3924322169059,
  ];
  if (x === 1 || x === 2) return 0;
  let x0 = x;
  let n = 0;
  if (x <= 7) {
    n = Math.trunc(7 - x);
    x0 = x + n;
  }
  const x2 = 1 / (x0 * x0);
  let gl0 = a[9];
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + a[k];
  let gl = gl0 / x0 + 0.5 * Math.log(2 * Math.PI) + (x0 - 0.5) * Math.log(x0) - x0;
  if (x <= 7) {
    for (let k = 1; k <= n; k++) {
      gl -= Math.log(x0 - 1);
      x0 -= 1;
    }
  }
  return gl;
}

/** numpy's random_poisson on the hash stream; `close` is set when a decision was near its boundary. */
export function poisson(lam: number, s: number): { k: number; close: boolean } {
  let close = false;
  const near = (a: number, b: number, tol: number) => {
    if (Math.abs(a - b) < tol) close = true;
  };
  if (lam <= 0) return { k: 0, close };
  if (lam < 10) {
    const enlam = Math.exp(-lam);
    let prod = 1;
    for (let j = 0; j < 1024; j++) {
      prod *= uniform(s, j);
      near(prod, enlam, 1e-5 * enlam);
      if (prod <= enlam) return { k: j, close };
    }
    return { k: Math.floor(lam), close };
  }
  const slam = Math.sqrt(lam);
  const loglam = Math.log(lam);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (let t = 0; t < 64; t++) {
    const U = uniform(s, 2 * t) - 0.5;
    const V = uniformOpen(s, 2 * t + 1);
    const us = 0.5 - Math.abs(U);
    if (us <= 0) continue;
    const arg = ((2 * a) / us + b) * U + lam + 0.43;
    near(arg, Math.round(arg), 2e-6 * (1 + lam + Math.abs(((2 * a) / us + b) * U)));
    const k = Math.floor(arg);
    near(us, 0.07, 1e-6);
    near(V, vr, 1e-5);
    if (us >= 0.07 && V <= vr) return { k, close };
    near(us, 0.013, 1e-6);
    near(V, us, 1e-6);
    if (k < 0 || (us < 0.013 && V > us)) continue;
    const lhs = Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b);
    const rhs = -lam + k * loglam - loggam(k + 1);
    near(lhs, rhs, 2e-4);
    if (lhs <= rhs) return { k, close };
  }
  return { k: Math.floor(lam), close };
}

// ---- helpers on [B, C, H, W] ----

function eachPixel(s: ImageShape, f: (b: number, c: number, y: number, x: number, i: number) => number): Float64Array {
  const out = new Float64Array(s.b * s.c * s.h * s.w);
  let i = 0;
  for (let b = 0; b < s.b; b++) for (let c = 0; c < s.c; c++) for (let y = 0; y < s.h; y++) for (let x = 0; x < s.w; x++, i++) out[i] = f(b, c, y, x, i);
  return out;
}

const at = (s: ImageShape, img: ArrayLike<number>) => (b: number, c: number, y: number, x: number) => img[((b * s.c + c) * s.h + y) * s.w + x];

/** Linear interpolation along one clipped_zoom axis: [index0, index1, weight]. */
function zoomAxis(i: number, z: ZoomAxis): [number, number, number] {
  const c = (i + z.trim) * z.step;
  const i0 = Math.min(Math.floor(c), z.ch - 1);
  return [z.top + i0, z.top + Math.min(i0 + 1, z.ch - 1), c - i0];
}

const lerp = (a: number, b: number, t: number) => a * (1 - t) + b * t;

/** ImageMagick's motion blur of images img with per-image offsets. */
function motionBlur(s: ImageShape, img: ArrayLike<number>, weights: ArrayLike<number>, offsets: Int32Array): Float64Array {
  const px = at(s, img);
  const n = weights.length;
  return eachPixel(s, (b, c, y, x) => {
    let acc = 0;
    for (let k = 0; k < n; k++) {
      const o = 2 * (b * n + k);
      acc += weights[k] * px(b, c, clampIndex(y + offsets[o + 1], s.h), clampIndex(x + offsets[o], s.w));
    }
    return clip(acc);
  });
}

/** Separable Gaussian with edge clamping (skimage gaussian, mode nearest). */
function gaussianNearest(s: ImageShape, img: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const r = (w.length - 1) / 2;
  const px = at(s, img);
  return eachPixel(s, (b, c, y, x) => {
    let acc = 0;
    for (let i = -r; i <= r; i++) for (let j = -r; j <= r; j++) acc += w[i + r] * w[j + r] * px(b, c, clampIndex(y + i, s.h), clampIndex(x + j, s.w));
    return clip(acc);
  });
}

// ---- frost texture (kernels/corrupt_random.wgsl ice()) ----

function gradDot(t: number, ix: number, iy: number, fx: number, fy: number): number {
  const h = lowbias32((lowbias32((lowbias32((t + 0x632be5ab) >>> 0) ^ (ix >>> 0)) >>> 0) ^ (iy >>> 0)) >>> 0) & 7;
  const d = Math.SQRT1_2;
  return [fx, -fx, fy, -fy, d * (fx + fy), d * (fy - fx), d * (fx - fy), -d * (fx + fy)][h];
}

function gnoise(t: number, px: number, py: number): number {
  const ix = Math.floor(px);
  const iy = Math.floor(py);
  const fx = px - ix;
  const fy = py - iy;
  const fade = (f: number) => f * f * f * (f * (f * 6 - 15) + 10);
  const a = lerp(gradDot(t, ix, iy, fx, fy), gradDot(t, ix + 1, iy, fx - 1, fy), fade(fx));
  const c = lerp(gradDot(t, ix, iy + 1, fx, fy - 1), gradDot(t, ix + 1, iy + 1, fx - 1, fy - 1), fade(fx));
  return lerp(a, c, fade(fy));
}

const DIRS = [
  [0.955336489, 0.295520207],
  [0.540302306, 0.841470985],
  [-0.128844494, 0.99166481],
  [-0.737393716, 0.675463181],
  [-0.99913515, 0.041580662],
  [-0.790967712, -0.611857891],
  [-0.210795799, -0.977530118],
  [0.468516671, -0.883454656],
];

export function ice(tex: number, py: number, px: number, cell: number): number {
  const t = tex * 20;
  const [qx, qy] = [px / cell, py / cell];
  let haze = 0;
  for (let o = 0; o < 3; o++) haze += 0.5 ** (o + 1) * gnoise(t + o, qx * 2 ** o, qy * 2 ** o);
  const wx = qx + 0.3 * gnoise(t + 3, 0.7 * qx, 0.7 * qy);
  const wy = qy + 0.3 * gnoise(t + 4, 0.7 * qx, 0.7 * qy);
  let needles = 0;
  for (let l = 0; l < 3; l++) {
    const [c, s] = DIRS[(3 * tex + l) % 8];
    const [u, v] = [c * wx + s * wy, c * wy - s * wx];
    let acc = 0;
    for (let o = 0; o < 4; o++) {
      const f = 2.1 ** o;
      acc += 0.6 * 0.55 ** o * (1 - Math.abs(gnoise(t + 5 + 4 * l + o, u * f * 0.35, v * f * 3))) ** 8;
    }
    needles = Math.max(needles, acc);
  }
  return clip(0.02 + 0.3 * haze + 0.85 * needles);
}

export function iceRgb(v: number): [number, number, number] {
  return [Math.min(1, 0.82 * v + 0.02), Math.min(1, 0.91 * v + 0.05), Math.min(1, v + 0.1)];
}

// ---- snow and JPEG by stage ----

type Plan<N extends CorruptionPlan['name']> = Extract<CorruptionPlan, { name: N }>;

export function refSnowLayer(plan: Plan<'snow'>, b: number, h: number, w: number): RefResult {
  const field = (i: number, y: number, x: number) => normal(stream(plan.keys[i], y * w + x), 0);
  const fragile = new Uint8Array(b * h * w);
  const out = eachPixel({ b, c: 1, h, w }, (i, _c, y, x, k) => {
    const [y0, y1, ty] = zoomAxis(y, plan.zoom.y);
    const [x0, x1, tx] = zoomAxis(x, plan.zoom.x);
    const v = plan.loc + plan.scale * lerp(lerp(field(i, y0, x0), field(i, y0, x1), tx), lerp(field(i, y1, x0), field(i, y1, x1), tx), ty);
    if (Math.abs(v - plan.threshold) < 1e-5) fragile[k] = 1;
    return clip(v < plan.threshold ? 0 : v);
  });
  return { out, fragile };
}

export function refSnowComposite(s: ImageShape, x: ArrayLike<number>, layer: ArrayLike<number>, plan: Plan<'snow'>): Float64Array {
  const blurred = motionBlur({ ...s, c: 1 }, layer, plan.weights, plan.offsets);
  const px = at(s, x);
  return eachPixel(s, (b, c, y, xx) => {
    const gray = s.c === 3 ? 0.299 * px(b, 0, y, xx) + 0.587 * px(b, 1, y, xx) + 0.114 * px(b, 2, y, xx) : px(b, 0, y, xx);
    const v = px(b, c, y, xx);
    const g = plan.blend * v + (1 - plan.blend) * Math.max(v, 1.5 * gray + 0.5);
    const snow = blurred[(b * s.h + y) * s.w + xx] + blurred[(b * s.h + s.h - 1 - y) * s.w + (s.w - 1 - xx)];
    return clip(g + snow);
  });
}

export function refJpegPlanes(s: ImageShape, x: ArrayLike<number>, l: JpegLayout): Float64Array {
  const px = at(s, x);
  const rgb = (b: number, y: number, xx: number) => {
    const [yy, xc] = [Math.min(y, s.h - 1), Math.min(xx, s.w - 1)];
    return s.c === 1 ? [px(b, 0, yy, xc), px(b, 0, yy, xc), px(b, 0, yy, xc)] : [0, 1, 2].map((c) => px(b, c, yy, xc));
  };
  const out = new Float64Array(s.b * l.per);
  const nc = l.pcy * l.pcx;
  for (let b = 0; b < s.b; b++) {
    const base = b * l.per;
    for (let y = 0; y < l.py; y++) {
      for (let xx = 0; xx < l.px; xx++) {
        const [r, g, bl] = rgb(b, y, xx);
        out[base + y * l.px + xx] = 255 * (0.299 * r + 0.587 * g + 0.114 * bl) - 128;
      }
    }
    for (let comp = 0; comp < (s.c === 3 ? 2 : 0); comp++) {
      const k = comp === 0 ? [-0.16874, -0.33126, 0.5] : [0.5, -0.41869, -0.08131];
      for (let y = 0; y < l.pcy; y++) {
        for (let xx = 0; xx < l.pcx; xx++) {
          let acc = 0;
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++) {
              const v = rgb(b, 2 * y + dy, 2 * xx + dx);
              acc += k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
            }
          out[base + l.py * l.px + comp * nc + y * l.pcx + xx] = (255 * acc) / 4;
        }
      }
    }
  }
  return out;
}

/** Each component plane of each image as (offset, rows, cols, table). */
function jpegPlanesOf(l: JpegLayout, b: number, luma: ArrayLike<number>, chroma: ArrayLike<number>) {
  const base = b * l.per;
  const planes = [{ start: base, rows: l.py, cols: l.px, q: luma }];
  if (l.c === 3) for (let k = 0; k < 2; k++) planes.push({ start: base + l.py * l.px + k * l.pcy * l.pcx, rows: l.pcy, cols: l.pcx, q: chroma });
  return planes;
}

/** Quantised coefficients, and the unrounded quotients F / Q they came from. */
export function refJpegEncode(planes: ArrayLike<number>, b: number, l: JpegLayout, luma: ArrayLike<number>, chroma: ArrayLike<number>): { coef: Float64Array; raw: Float64Array } {
  const basis = dctBasis();
  const coef = new Float64Array(b * l.per);
  const raw = new Float64Array(b * l.per);
  for (let i = 0; i < b; i++) {
    for (const p of jpegPlanesOf(l, i, luma, chroma)) {
      for (let by = 0; by < p.rows; by += 8)
        for (let bx = 0; bx < p.cols; bx += 8) {
          for (let u = 0; u < 8; u++)
            for (let v = 0; v < 8; v++) {
              let f = 0;
              for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) f += basis[u * 8 + r] * basis[v * 8 + c] * planes[p.start + (by + r) * p.cols + bx + c];
              const q = f / p.q[u * 8 + v];
              const k = p.start + (by + u) * p.cols + bx + v;
              raw[k] = q;
              coef[k] = Math.sign(q) * Math.floor(Math.abs(q) + 0.5);
            }
        }
    }
  }
  return { coef, raw };
}

export function refJpegDecode(s: ImageShape, coef: ArrayLike<number>, l: JpegLayout, luma: ArrayLike<number>, chroma: ArrayLike<number>): Float64Array {
  const basis = dctBasis();
  const planes = new Float64Array(s.b * l.per);
  for (let i = 0; i < s.b; i++) {
    for (const p of jpegPlanesOf(l, i, luma, chroma)) {
      for (let y = 0; y < p.rows; y++)
        for (let x = 0; x < p.cols; x++) {
          const [by, bx, r, c] = [y - (y % 8), x - (x % 8), y % 8, x % 8];
          let acc = 0;
          for (let u = 0; u < 8; u++) for (let v = 0; v < 8; v++) acc += basis[u * 8 + r] * basis[v * 8 + c] * coef[p.start + (by + u) * p.cols + bx + v] * p.q[u * 8 + v];
          planes[p.start + y * p.cols + x] = acc;
        }
    }
  }
  const pair = (y: number, n: number) => [y >> 1, (y & 1) === 0 ? Math.max((y >> 1) - 1, 0) : Math.min((y >> 1) + 1, n - 1)];
  const chromaAt = (b: number, comp: number, y: number, x: number) => {
    const start = b * l.per + l.py * l.px + comp * l.pcy * l.pcx;
    const [j, j2] = pair(y, l.cy);
    const [k, k2] = pair(x, l.cx);
    const c = (r: number, q: number) => planes[start + r * l.pcx + q];
    return (9 * c(j, k) + 3 * c(j, k2) + 3 * c(j2, k) + c(j2, k2)) / 16;
  };
  return eachPixel(s, (b, ch, y, x) => {
    const luma = planes[b * l.per + y * l.px + x] + 128;
    if (s.c === 1) return clip(luma / 255);
    const cb = chromaAt(b, 0, y, x);
    const cr = chromaAt(b, 1, y, x);
    const v = [luma + 1.402 * cr, luma - 0.34414 * cb - 0.71414 * cr, luma + 1.772 * cb][ch];
    return clip(v / 255);
  });
}

// ---- every corruption ----

export function referenceCorrupt(s: ImageShape, x: ArrayLike<number>, plan: CorruptionPlan): RefResult {
  const px = at(s, x);
  const per = s.c * s.h * s.w;
  const fragile = new Uint8Array(x.length);
  const done = (out: Float64Array): RefResult => ({ out, fragile });
  switch (plan.name) {
    case 'gaussian_noise':
      return done(eachPixel(s, (b, _c, _y, _x, i) => clip(x[i] + plan.sigma * normal(stream(plan.keys[b], i % per), 0))));
    case 'shot_noise':
      return done(
        eachPixel(s, (b, _c, _y, _x, i) => {
          const { k, close } = poisson(Math.fround(x[i] * plan.rate), stream(plan.keys[b], i % per));
          if (close) fragile[i] = 1;
          return clip(k / plan.rate);
        }),
      );
    case 'impulse_noise':
      return done(
        eachPixel(s, (b, _c, _y, _x, i) => {
          const st = stream(plan.keys[b], i % per);
          return uniform(st, 0) < Math.fround(plan.amount) ? (uniform(st, 1) < 0.5 ? 1 : 0) : x[i];
        }),
      );
    case 'defocus_blur': {
      const { kernel, radius: r } = plan;
      const side = 2 * r + 1;
      return done(
        eachPixel(s, (b, c, y, xx) => {
          let acc = 0;
          for (let i = -r; i <= r; i++) for (let j = -r; j <= r; j++) acc += kernel[(i + r) * side + j + r] * px(b, c, reflect101Index(y + i, s.h), reflect101Index(xx + j, s.w));
          return clip(acc);
        }),
      );
    }
    case 'glass_blur': {
      const first = gaussianNearest(s, x, plan.weights);
      const hw = s.h * s.w;
      const shuffled = eachPixel(s, (b, c, y, xx) => first[(b * s.c + c) * hw + plan.perm[b * hw + y * s.w + xx]]);
      return done(gaussianNearest(s, shuffled, plan.weights));
    }
    case 'motion_blur':
      return done(motionBlur(s, x, plan.weights, plan.offsets));
    case 'zoom_blur':
      return done(
        eachPixel(s, (b, c, y, xx, i) => {
          let acc = x[i];
          for (const z of plan.zooms) {
            const [y0, y1, ty] = zoomAxis(y, z.y);
            const [x0, x1, tx] = zoomAxis(xx, z.x);
            acc += lerp(lerp(px(b, c, y0, x0), px(b, c, y0, x1), tx), lerp(px(b, c, y1, x0), px(b, c, y1, x1), tx), ty);
          }
          return clip(acc / (plan.zooms.length + 1));
        }),
      );
    case 'snow': {
      const layer = refSnowLayer(plan, s.b, s.h, s.w);
      const out = refSnowComposite(s, x, layer.out, plan);
      // A layer pixel on the threshold changes a whole streak: mark the image.
      for (let b = 0; b < s.b; b++) if (layer.fragile.subarray(b * s.h * s.w, (b + 1) * s.h * s.w).some((f) => f)) fragile.fill(1, b * per, (b + 1) * per);
      return done(out);
    }
    case 'frost':
      return done(
        eachPixel(s, (b, c, y, xx, i) => {
          const [tex, top, left] = plan.crops.subarray(3 * b, 3 * b + 3);
          const rgb = iceRgb(ice(tex, top + y, left + xx, plan.cell));
          const v = s.c === 1 ? 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] : rgb[c];
          return clip(plan.keep * x[i] + plan.add * v);
        }),
      );
    case 'fog': {
      const max = Array.from({ length: s.b }, (_, b) => Math.max(...Array.from(x).slice(b * per, (b + 1) * per)));
      return done(eachPixel(s, (b, _c, y, xx, i) => clip(((x[i] + plan.amount * plan.plasma[(b * s.h + y) * s.w + xx]) * max[b]) / (max[b] + plan.amount))));
    }
    case 'brightness':
      return done(
        eachPixel(s, (b, _c, y, xx, i) => {
          let v = 0;
          for (let c = 0; c < s.c; c++) v = Math.max(v, px(b, c, y, xx));
          const raised = Math.min(v + plan.amount, 1);
          return v > 0 ? clip((x[i] * raised) / v) : raised;
        }),
      );
    case 'contrast': {
      const means = new Float64Array(s.b * s.c);
      for (let p = 0; p < s.b * s.c; p++) {
        let sum = 0;
        for (let k = 0; k < s.h * s.w; k++) sum += x[p * s.h * s.w + k];
        means[p] = sum / (s.h * s.w);
      }
      return done(eachPixel(s, (b, c, _y, _x, i) => clip((x[i] - means[b * s.c + c]) * plan.factor + means[b * s.c + c])));
    }
    case 'elastic_transform': {
      const { weights: w, alpha, affine } = plan;
      const r = (w.length - 1) / 2;
      const hw = s.h * s.w;
      const u = (b: number, f: number, y: number, xx: number) => 2 * uniform(stream(plan.keys[b], f * hw + y * s.w + xx), 0) - 1;
      const disp = (b: number, f: number, y: number, xx: number) => {
        let acc = 0;
        for (let i = -r; i <= r; i++) for (let j = -r; j <= r; j++) acc += w[i + r] * w[j + r] * u(b, f, reflectIndex(y + i, s.h), reflectIndex(xx + j, s.w));
        return alpha * acc;
      };
      const warped = (b: number, c: number, row: number, col: number) => {
        const m = affine.subarray(6 * b, 6 * b + 6);
        const sx = m[0] * col + m[1] * row + m[2];
        const sy = m[3] * col + m[4] * row + m[5];
        const [fx, fy] = [Math.floor(sx), Math.floor(sy)];
        const v = (yy: number, xc: number) => px(b, c, reflect101Index(yy, s.h), reflect101Index(xc, s.w));
        return lerp(lerp(v(fy, fx), v(fy, fx + 1), sx - fx), lerp(v(fy + 1, fx), v(fy + 1, fx + 1), sx - fx), sy - fy);
      };
      return done(
        eachPixel(s, (b, c, y, xx) => {
          const sx = xx + disp(b, 0, y, xx);
          const sy = y + disp(b, 1, y, xx);
          const [fx, fy] = [Math.floor(sx), Math.floor(sy)];
          const v = (yy: number, xc: number) => warped(b, c, reflectIndex(yy, s.h), reflectIndex(xc, s.w));
          return clip(lerp(lerp(v(fy, fx), v(fy, fx + 1), sx - fx), lerp(v(fy + 1, fx), v(fy + 1, fx + 1), sx - fx), sy - fy));
        }),
      );
    }
    case 'pixelate': {
      const { rows, cols } = plan;
      return done(
        eachPixel(s, (b, c, y, xx) => {
          let acc = 0;
          for (let k = 0; k < rows.width; k++) {
            for (let l = 0; l < cols.width; l++) acc += rows.weights[y * rows.width + k] * cols.weights[xx * cols.width + l] * px(b, c, rows.start[y] + k, cols.start[xx] + l);
          }
          return clip(acc);
        }),
      );
    }
    case 'jpeg_compression':
      throw new Error('referenceCorrupt: JPEG is checked by stage (refJpegPlanes, refJpegEncode, refJpegDecode)');
  }
}
