// Running a corruption plan (./plans.ts) on a batch of images on the GPU. Kernels:
// kernels/corrupt_random.wgsl (noise, snow layer, elastic noise field, frost),
// kernels/corrupt_filter.wgsl (blurs, pixelate, elastic warp, snow compositing),
// kernels/corrupt_color.wgsl (brightness, contrast, fog) and kernels/corrupt_jpeg.wgsl.
// These are data transformations: nothing is recorded for autograd.
import { tensor } from '../creation.js';
import { scope } from '../scope.js';
import { Tensor, formatShape } from '../tensor.js';
import { WG, grid, launch, requireFloat } from '../ops/launch.js';
import type { CorruptionPlan } from './plans.js';
import { jpegRoundTrip } from './jpeg.js';
import type { ZoomAxis } from './tables.js';

type Dims = { b: number; c: number; h: number; w: number; n: number };

function dims(x: Tensor): Dims {
  requireFloat('corrupt', x);
  const [b, c, h, w] = x.shape;
  if (x.rank !== 4 || !(c === 1 || c === 3) || x.size === 0) {
    throw new Error(`corrupt: expected images [B, C, H, W] with C = 1 or 3 and no empty axis, got ${formatShape(x.shape)}`);
  }
  return { b, c, h, w, n: x.size };
}

function expectLength(name: string, what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`corrupt ${name}: the plan's ${what} has ${got} values, the batch needs ${want} (plan made for another batch shape?)`);
}

const f32 = (v: ArrayLike<number>) => tensor(Float32Array.from(v), [v.length]);
const i32 = (v: ArrayLike<number>) => tensor(Int32Array.from(v), [v.length], { dtype: 'int32' });
/** uint32 keys travel in an int32 tensor (same bits; the kernels read them as u32). */
const u32 = (v: Uint32Array) => tensor(new Int32Array(v.buffer, v.byteOffset, v.length), [v.length], { dtype: 'int32' });

function zoomTable(zooms: { y: ZoomAxis; x: ZoomAxis }[]): Tensor {
  return f32(zooms.flatMap(({ y, x }) => [y.top, y.ch, y.trim, y.step, x.top, x.ch, x.trim, x.step]));
}

/** A corrupt_random entry: one invocation per value, or per pixel (all channels) for frost. */
function randomKernel(entry: string, d: Dims, tensors: Record<string, Tensor>, p: { a: number; a2?: number; cell?: number; perPixel?: boolean }): Tensor {
  const out = Tensor.empty([d.b, d.c, d.h, d.w]);
  const n = p.perPixel ? d.b * d.h * d.w : d.n;
  launch(`corrupt_random.${entry}`, {
    tensors: { ...tensors, out },
    params: { n, c: d.c, h: d.h, w: d.w, a: p.a, a2: p.a2 ?? 0, cell: p.cell ?? 0 },
    workgroups: grid(n, WG),
    overrides: { WG },
  });
  return out;
}

function filterKernel(entry: string, d: Dims, tensors: Record<string, Tensor>, extra: { radius?: number; bandW?: number; bandWx?: number; a?: number } = {}): Tensor {
  const out = Tensor.empty([d.b, d.c, d.h, d.w]);
  launch(`corrupt_filter.${entry}`, {
    tensors: { ...tensors, out },
    params: { n: d.n, c: d.c, h: d.h, w: d.w, radius: extra.radius ?? 0, band_w: extra.bandW ?? 0, band_wx: extra.bandWx ?? 0, a: extra.a ?? 0 },
    workgroups: grid(d.n, WG),
    overrides: { WG },
  });
  return out;
}

function colorKernel(entry: string, d: Dims, tensors: Record<string, Tensor>, a: number): Tensor {
  const out = Tensor.empty([d.b, d.c, d.h, d.w]);
  launch(`corrupt_color.${entry}`, { tensors: { ...tensors, out }, params: { n: d.n, c: d.c, h: d.h, w: d.w, a }, workgroups: grid(d.n, WG), overrides: { WG } });
  return out;
}

/** Per image: the mean of each channel, then the image's maximum ([B, C + 1]). */
export function imageStats(x: Tensor): Tensor {
  const d = dims(x);
  const stats = Tensor.empty([d.b, d.c + 1]);
  launch('corrupt_color.image_stats', { tensors: { x, stats_out: stats }, params: { n: d.b, c: d.c, h: d.h, w: d.w, a: 0 }, workgroups: grid(d.b, WG), overrides: { WG } });
  return stats;
}

type SnowPlan = Extract<CorruptionPlan, { name: 'snow' }>;

/** The snow layer [B, 1, H, W] before its motion blur: zoomed normal field, thresholded, clipped. */
export function snowLayer(plan: SnowPlan, b: number, h: number, w: number): Tensor {
  expectLength('snow', 'keys', plan.keys.length, b);
  const { y, x } = plan.zoom;
  const keys = u32(plan.keys);
  const out = Tensor.empty([b, 1, h, w]);
  launch('corrupt_random.snow_layer', {
    tensors: { keys, out },
    params: {
      n: out.size,
      h,
      w,
      loc: plan.loc,
      scale: plan.scale,
      threshold: plan.threshold,
      top_y: y.top,
      top_x: x.top,
      ch_y: y.ch,
      ch_x: x.ch,
      trim_y: y.trim,
      trim_x: x.trim,
      step_y: y.step,
      step_x: x.step,
    },
    workgroups: grid(out.size, WG),
    overrides: { WG },
  });
  keys.dispose();
  return out;
}

/** Motion blur (ImageMagick's) of images x with weights [taps] and per-image offsets [B, taps, 2]. */
function motionBlur(x: Tensor, weights: Float64Array, offsets: Int32Array, name: string): Tensor {
  const d = dims(x);
  expectLength(name, 'offsets', offsets.length, d.b * weights.length * 2);
  return scope(() => filterKernel('motion_blur', d, { x, wts: f32(weights), offs: i32(offsets) }, { radius: weights.length }));
}

/** Blends the brightened image with the motion-blurred layer and its 180-degree rotation. */
export function snowComposite(x: Tensor, layer: Tensor, plan: SnowPlan): Tensor {
  const d = dims(x);
  return scope(() => filterKernel('snow_composite', d, { x, aux: motionBlur(layer, plan.weights, plan.offsets, 'snow') }, { a: plan.blend }));
}

/** Applies a plan to images x [B, C, H, W] in [0, 1]; returns a new tensor of the same shape. */
export function applyPlan(x: Tensor, plan: CorruptionPlan): Tensor {
  const d = dims(x);
  return scope(() => {
    switch (plan.name) {
      case 'gaussian_noise':
      case 'shot_noise':
      case 'impulse_noise': {
        expectLength(plan.name, 'keys', plan.keys.length, d.b);
        const a = plan.name === 'gaussian_noise' ? plan.sigma : plan.name === 'shot_noise' ? plan.rate : plan.amount;
        return randomKernel(plan.name, d, { x, keys: u32(plan.keys) }, { a });
      }
      case 'defocus_blur':
        return filterKernel('defocus', d, { x, wts: f32(plan.kernel) }, { radius: plan.radius });
      case 'glass_blur': {
        expectLength(plan.name, 'permutation', plan.perm.length, d.b * d.h * d.w);
        const wts = f32(plan.weights);
        const radius = (plan.weights.length - 1) / 2;
        const blurred = filterKernel('glass_blur', d, { x, wts }, { radius });
        const shuffled = filterKernel('shuffle', d, { x: blurred, offs: i32(plan.perm) });
        return filterKernel('glass_blur', d, { x: shuffled, wts }, { radius });
      }
      case 'motion_blur':
        return motionBlur(x, plan.weights, plan.offsets, plan.name);
      case 'zoom_blur':
        return filterKernel('zoom_blur', d, { x, zooms: zoomTable(plan.zooms) }, { radius: plan.zooms.length });
      case 'snow':
        return snowComposite(x, snowLayer(plan, d.b, d.h, d.w), plan);
      case 'frost':
        expectLength(plan.name, 'crops', plan.crops.length, 3 * d.b);
        return randomKernel('frost', d, { x, crops: i32(plan.crops) }, { a: plan.keep, a2: plan.add, cell: plan.cell, perPixel: true });
      case 'fog':
        expectLength(plan.name, 'plasma', plan.plasma.length, d.b * d.h * d.w);
        return colorKernel('fog', d, { x, stats: imageStats(x), plasma: f32(plan.plasma) }, plan.amount);
      case 'brightness':
        return colorKernel('brightness', d, { x }, plan.amount);
      case 'contrast':
        return colorKernel('contrast', d, { x, stats: imageStats(x) }, plan.factor);
      case 'elastic_transform': {
        expectLength(plan.name, 'keys', plan.keys.length, d.b);
        expectLength(plan.name, 'affine maps', plan.affine.length, 6 * d.b);
        const wts = f32(plan.weights);
        const radius = (plan.weights.length - 1) / 2;
        const field = Tensor.empty([d.b, 2, d.h, d.w]);
        launch('corrupt_random.elastic_field', {
          tensors: { keys: u32(plan.keys), wts, out: field },
          params: { n: field.size, h: d.h, w: d.w, radius },
          workgroups: grid(field.size, WG),
          overrides: { WG },
        });
        return filterKernel('elastic_warp', d, { x, wts, aux: field, affine: f32(plan.affine) }, { radius, a: plan.alpha });
      }
      case 'pixelate': {
        const { rows, cols } = plan;
        expectLength(plan.name, 'row band', rows.n, d.h);
        expectLength(plan.name, 'column band', cols.n, d.w);
        const wts = f32([...rows.weights, ...cols.weights]);
        return filterKernel('pixelate', d, { x, wts, band_start: i32([...rows.start, ...cols.start]) }, { bandW: rows.width, bandWx: cols.width });
      }
      case 'jpeg_compression':
        return jpegRoundTrip(x, plan.luma, plan.chroma);
    }
  });
}
