// JPEG compression on the GPU (kernels/corrupt_jpeg.wgsl): encode to quantised DCT coefficients
// and decode back, as Pillow's save(quality=q) + open through libjpeg does with its defaults
// (4:2:0 chroma for colour, one component for grey). Exported by stage so tests can check the
// rounding step (where float32 and float64 may legitimately round a tie-near value differently)
// apart from the continuous ones.
import { tensor } from '../creation.js';
import { Tensor } from '../tensor.js';
import { WG, grid, launch } from '../ops/launch.js';
import { dctBasis } from './tables.js';

/** The block-padded plane geometry of an H x W image with C channels. */
export interface JpegLayout {
  c: number;
  h: number;
  w: number;
  /** Luma plane, padded to whole 8x8 blocks. */
  py: number;
  px: number;
  /** Chroma samples (ceil(H/2) x ceil(W/2)) and their padded plane (0 for grey images). */
  cy: number;
  cx: number;
  pcy: number;
  pcx: number;
  /** Plane values per image. */
  per: number;
}

const blocks = (n: number) => 8 * Math.ceil(n / 8);

export function jpegLayout(c: number, h: number, w: number): JpegLayout {
  const [cy, cx] = c === 3 ? [Math.ceil(h / 2), Math.ceil(w / 2)] : [0, 0];
  const [pcy, pcx] = c === 3 ? [blocks(cy), blocks(cx)] : [0, 0];
  const [py, px] = [blocks(h), blocks(w)];
  return { c, h, w, py, px, cy, cx, pcy, pcx, per: py * px + 2 * pcy * pcx };
}

function params(l: JpegLayout, n: number) {
  return { n, c: l.c, h: l.h, w: l.w, py: l.py, px: l.px, cy: l.cy, cx: l.cx, pcy: l.pcy, pcx: l.pcx, per: l.per };
}

let basisCache: Float32Array | null = null;

function tables(luma: Float64Array, chroma: Float64Array): { basis: Tensor; quant: Tensor } {
  basisCache ??= Float32Array.from(dctBasis());
  const q = new Float32Array(128);
  q.set(luma, 0);
  q.set(chroma, 64);
  return { basis: tensor(basisCache, [64]), quant: tensor(q, [128]) };
}

/** Level-shifted YCbCr planes [B, per] of images x [B, C, H, W]. */
export function jpegPlanes(x: Tensor, l: JpegLayout): Tensor {
  const b = x.shape[0];
  const out = Tensor.empty([b, l.per]);
  launch('corrupt_jpeg.to_ycc', { tensors: { x, out }, params: params(l, out.size), workgroups: grid(out.size, WG), overrides: { WG } });
  return out;
}

/** Quantised DCT coefficients (integers, in the planes' layout) of planes [B, per]. */
export function jpegEncode(planes: Tensor, l: JpegLayout, luma: Float64Array, chroma: Float64Array): Tensor {
  const { basis, quant } = tables(luma, chroma);
  const out = Tensor.empty(planes.shape);
  launch('corrupt_jpeg.fdct', { tensors: { x: planes, basis, quant, out }, params: params(l, out.size), workgroups: grid(out.size, WG), overrides: { WG } });
  basis.dispose();
  quant.dispose();
  return out;
}

/** Images [B, C, H, W] decoded from quantised coefficients [B, per]. */
export function jpegDecode(coef: Tensor, l: JpegLayout, luma: Float64Array, chroma: Float64Array): Tensor {
  const { basis, quant } = tables(luma, chroma);
  const planes = Tensor.empty(coef.shape);
  launch('corrupt_jpeg.idct', { tensors: { x: coef, basis, quant, out: planes }, params: params(l, planes.size), workgroups: grid(planes.size, WG), overrides: { WG } });
  const b = coef.shape[0];
  const out = Tensor.empty([b, l.c, l.h, l.w]);
  launch('corrupt_jpeg.to_rgb', { tensors: { x: planes, out }, params: params(l, out.size), workgroups: grid(out.size, WG), overrides: { WG } });
  for (const t of [basis, quant, planes]) t.dispose();
  return out;
}

/** The JPEG round trip of x [B, C, H, W] with the given quantisation tables. */
export function jpegRoundTrip(x: Tensor, luma: Float64Array, chroma: Float64Array): Tensor {
  const [, c, h, w] = x.shape;
  const l = jpegLayout(c, h, w);
  const planes = jpegPlanes(x, l);
  const coef = jpegEncode(planes, l, luma, chroma);
  const out = jpegDecode(coef, l, luma, chroma);
  planes.dispose();
  coef.dispose();
  return out;
}
