// Augmented views: out[n, c, y, x] = (T_n(src[n % batch])[c, y, x] - mean[c]) / std[c], where T_n is
// output image n's pipeline, as torchvision's SimCLR transforms on float tensors:
//  1. crop box (top, left, height, width) resized bilinearly to out_h x out_w with half-pixel
//     centres (PyTorch align_corners=False: s = max((d + 0.5) * in / out - 0.5, 0), no antialias);
//  2. horizontal flip;
//  3. up to four colour-jitter steps in their sampled order, each clamped to [0, 1]:
//     brightness f*v; contrast f*v + (1-f)*m (m: mean grayscale of the whole image just before this
//     step); saturation f*v + (1-f)*gray(v); hue: rotate HSV hue by f (torchvision's _rgb2hsv/_hsv2rgb);
//  4. grayscale: every channel = gray(v) = 0.2989 R + 0.587 G + 0.114 B (torchvision's weights).
// C is 1 or 3; with C = 1, gray(v) = v and saturation, hue and grayscale are identities.
// vp: 16 floats per output image: top, left, height, width, flip, grayscale, steps, unused, then
// (op, factor) x 4 with op 0 brightness, 1 contrast, 2 saturation, 3 hue.
// Bindings: p, vp, src [batch, C, in_h, in_w], means / means_out [images], out [images, C, out_h, out_w].
// Entry points (WG threads per workgroup, 2-D folded grids):
//  views: one invocation per output pixel (all channels); for batches without contrast steps.
//  views_contrast: the same, taking m from means[n].
//  contrast_means: one invocation per output image; means_out[n] = m (0 when n has no contrast step).
//    A whole-image mean cannot come from per-pixel invocations without workgroup memory, so views
//    with contrast jitter take this small extra pass first.

override WG: u32 = 64u;
const VIEW_FLOATS = 16u;
const BRIGHTNESS = 0u;
const CONTRAST = 1u;
const SATURATION = 2u;
const HUE = 3u;

struct Params {
  batch: u32,
  channels: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  images: u32,
  norm_mean: vec4<f32>,
  norm_std: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> vp: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> means: array<f32>;
@group(0) @binding(4) var<storage, read_write> means_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"
//! include "lib/resample.wgsl"

fn gray(v: vec3f) -> f32 {
  if (p.channels == 1u) { return v.x; }
  return 0.2989 * v.x + 0.587 * v.y + 0.114 * v.z;
}

fn blend(a: vec3f, b: vec3f, f: f32) -> vec3f {
  return clamp(f * a + (1.0 - f) * b, vec3f(0.0), vec3f(1.0));
}

fn shift_hue(v: vec3f, shift: f32) -> vec3f {
  let maxc = max(v.x, max(v.y, v.z));
  let minc = min(v.x, min(v.y, v.z));
  let eqc = maxc == minc;
  let cr = maxc - minc;
  let s = cr / select(maxc, 1.0, eqc);
  let d = select(cr, 1.0, eqc);
  let rc = (maxc - v.x) / d;
  let gc = (maxc - v.y) / d;
  let bc = (maxc - v.z) / d;
  var h: f32;
  if (maxc == v.x) {
    h = bc - gc;
  } else if (maxc == v.y) {
    h = 2.0 + rc - bc;
  } else {
    h = 4.0 + gc - rc;
  }
  h = fract(h / 6.0 + 1.0);
  h = fract(h + shift);
  let h6 = h * 6.0;
  let i = floor(h6);
  let f = h6 - i;
  let pv = clamp(maxc * (1.0 - s), 0.0, 1.0);
  let qv = clamp(maxc * (1.0 - s * f), 0.0, 1.0);
  let tv = clamp(maxc * (1.0 - s * (1.0 - f)), 0.0, 1.0);
  switch (u32(i) % 6u) {
    case 0u: { return vec3f(maxc, tv, pv); }
    case 1u: { return vec3f(qv, maxc, pv); }
    case 2u: { return vec3f(pv, maxc, tv); }
    case 3u: { return vec3f(pv, qv, maxc); }
    case 4u: { return vec3f(tv, pv, maxc); }
    default: { return vec3f(maxc, pv, qv); }
  }
}

// The pixel at (y, x) of source image b as rgb (C = 1 repeats its one value).
fn texel(b: u32, y: u32, x: u32) -> vec3f {
  let plane = p.in_h * p.in_w;
  let at = b * p.channels * plane + y * p.in_w + x;
  if (p.channels == 1u) { return vec3f(src[at]); }
  return vec3f(src[at], src[at + plane], src[at + 2u * plane]);
}

// Steps 1-3 for pixel (y, x) of output image n. With stop_at_contrast, returns the colour just
// before the contrast step (for its mean); otherwise applies every step with contrast mean m.
fn pipeline(n: u32, y: u32, x: u32, stop_at_contrast: bool, m: f32) -> vec3f {
  let o = n * VIEW_FLOATS;
  let top = u32(vp[o]);
  let left = u32(vp[o + 1u]);
  let ch = u32(vp[o + 2u]);
  let cw = u32(vp[o + 3u]);
  let fx = select(x, p.out_w - 1u - x, vp[o + 4u] != 0.0);
  // Source rows/columns and weights within the crop (PyTorch's area_pixel_compute_source_index).
  let sy = source_axis(y, ch, p.out_h);
  let sx = source_axis(fx, cw, p.out_w);
  let y0 = u32(sy.x);
  let x0 = u32(sx.x);
  let y1 = u32(sy.y);
  let x1 = u32(sx.y);
  let ly = sy.z;
  let lx = sx.z;
  let b = n % p.batch;
  let top_row = (1.0 - lx) * texel(b, top + y0, left + x0) + lx * texel(b, top + y0, left + x1);
  let bottom_row = (1.0 - lx) * texel(b, top + y1, left + x0) + lx * texel(b, top + y1, left + x1);
  var v = (1.0 - ly) * top_row + ly * bottom_row;
  let steps = u32(vp[o + 6u]);
  for (var k = 0u; k < steps; k++) {
    let op = u32(vp[o + 8u + 2u * k]);
    let f = vp[o + 9u + 2u * k];
    if (op == BRIGHTNESS) {
      v = clamp(f * v, vec3f(0.0), vec3f(1.0));
    } else if (op == CONTRAST) {
      if (stop_at_contrast) { return v; }
      v = blend(v, vec3f(m), f);
    } else if (p.channels == 3u) {
      if (op == SATURATION) {
        v = blend(v, vec3f(gray(v)), f);
      } else if (op == HUE) {
        v = shift_hue(v, f);
      }
    }
  }
  return v;
}

// Step 4 and normalisation, then the store of every channel.
fn emit(i: u32, m: f32) {
  let pixels = p.out_h * p.out_w;
  let n = i / pixels;
  let yx = i % pixels;
  var v = pipeline(n, yx / p.out_w, yx % p.out_w, false, m);
  if (vp[n * VIEW_FLOATS + 5u] != 0.0) { v = vec3f(gray(v)); }
  let at = n * p.channels * pixels + yx;
  out[at] = (v.x - p.norm_mean.x) / p.norm_std.x;
  if (p.channels == 3u) {
    out[at + pixels] = (v.y - p.norm_mean.y) / p.norm_std.y;
    out[at + 2u * pixels] = (v.z - p.norm_mean.z) / p.norm_std.z;
  }
}

fn has_contrast(n: u32) -> bool {
  let o = n * VIEW_FLOATS;
  let steps = u32(vp[o + 6u]);
  for (var k = 0u; k < steps; k++) {
    if (u32(vp[o + 8u + 2u * k]) == CONTRAST) { return true; }
  }
  return false;
}

@compute @workgroup_size(WG)
fn views(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.images * p.out_h * p.out_w) { return; }
  emit(i, 0.0);
}

@compute @workgroup_size(WG)
fn views_contrast(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.images * p.out_h * p.out_w) { return; }
  emit(i, means[i / (p.out_h * p.out_w)]);
}

@compute @workgroup_size(WG)
fn contrast_means(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = linear_id(gid, nwg);
  if (n >= p.images) { return; }
  if (!has_contrast(n)) {
    means_out[n] = 0.0;
    return;
  }
  var sum = 0.0;
  for (var y = 0u; y < p.out_h; y++) {
    var row = 0.0;
    for (var x = 0u; x < p.out_w; x++) {
      row += gray(pipeline(n, y, x, true, 0.0));
    }
    sum += row;
  }
  means_out[n] = sum / f32(p.out_h * p.out_w);
}
