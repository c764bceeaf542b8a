// Corruptions that filter or resample space (src/corrupt/), on x [B, C, H, W] in [0, 1]; every
// output is clamped to [0, 1]. Tables come from the host (src/corrupt/tables.ts).
//   defocus:  out = sum_{i,j} wts[i * S + j] x[r101(y + i - r), r101(x + j - r)], S = 2r + 1
//             (cv2.filter2D with the scripts' disk kernel, BORDER_REFLECT_101)
//   glass_blur:     out = sum_{i,j} wts[i] wts[j] x[near(y + i - r), near(x + j - r)] (skimage
//                   gaussian, mode nearest); glass blur = glass_blur, shuffle, glass_blur
//   shuffle:        out[b, c, pixel k] = x[b, c, pixel offs[b * H * W + k]] (a gather)
//   motion_blur:    out = sum_k wts[k] x[near(y + offs[b, k].dy), near(x + offs[b, k].dx)]
//                   (ImageMagick MotionBlurImage; edge virtual pixels)
//   zoom_blur:      out = (x + sum_z zoom_z(x)) / (Z + 1), zoom_z = clipped_zoom, linear;
//                   zooms[8z..8z+7] = top, ch, trim, step of rows, then of columns
//   snow_composite: out = g + s(y, x) + s(H-1-y, W-1-x), g = a x + (1 - a) max(x, 1.5 gray + 0.5),
//                   s = the motion-blurred snow layer [B, H, W] in `aux`
//   pixelate:       out = sum_{i,j} A_y[y, i] A_x[x, j] x[i, j], A banded: A_y's row y holds
//                   band_w weights wts[y * band_w ..] from column band_start[y]; then A_x's row x
//                   band_wx weights wts[H * band_w + x * band_wx ..] from band_start[H + x]
//   elastic_warp:   (dx, dy)(y, x) = a * sum_k wts[k] aux[b, f, reflect(y + k - r), x] (the
//                   vertical half of the field's gaussian), out = bilinear sample, mode
//                   'reflect', at (y + dy, x + dx) of the affine-warped image, itself the
//                   bilinear sample (BORDER_REFLECT_101) of x at affine[b] applied to (x, y)
// r101 = whole-sample reflection, near = clamp to the edge, reflect = half-sample reflection.
// Bindings: p; x, wts, offs (int), zooms, band_start (int), aux, affine, out.
// Dispatch: one invocation per output element, WG threads per workgroup, 2-D folded past 65535.

override WG: u32 = 64u;

struct Params {
  n: u32,
  c: u32,
  h: u32,
  w: u32,
  radius: u32,   // defocus, glass, elastic: filter radius; motion: taps; zoom: zooms
  band_w: u32,   // pixelate: band width of the rows; band_wx: of the columns
  band_wx: u32,
  a: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wts: array<f32>;
@group(0) @binding(3) var<storage, read> offs: array<i32>;
@group(0) @binding(4) var<storage, read> zooms: array<f32>;
@group(0) @binding(5) var<storage, read> band_start: array<i32>;
@group(0) @binding(6) var<storage, read> aux: array<f32>;
@group(0) @binding(7) var<storage, read> affine: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"
//! include "lib/zoom.wgsl"

// Whole-sample reflection (OpenCV BORDER_REFLECT_101): dcb|abcd|cba.
fn r101(i: i32, n: i32) -> i32 {
  if (n == 1) { return 0; }
  let period = 2 * n - 2;
  let m = ((i % period) + period) % period;
  return select(period - m, m, m < n);
}

// Half-sample reflection (scipy 'reflect'): dcba|abcd|dcba.
fn reflect(i: i32, n: i32) -> i32 {
  let period = 2 * n;
  let m = ((i % period) + period) % period;
  return select(period - 1 - m, m, m < n);
}

fn near(i: i32, n: i32) -> i32 {
  return clamp(i, 0, n - 1);
}

// Element i as (plane = b * C + c, y, x) and the plane's first element.
struct Pixel {
  b: u32,
  plane: u32,
  y: i32,
  x: i32,
}

fn pixel(i: u32) -> Pixel {
  let hw = p.h * p.w;
  return Pixel(i / (p.c * hw), (i / hw) * hw, i32((i % hw) / p.w), i32(i % p.w));
}

@compute @workgroup_size(WG)
fn defocus(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let q = pixel(i);
  let r = i32(p.radius);
  let side = 2u * p.radius + 1u;
  var acc = 0.0;
  for (var dy = -r; dy <= r; dy++) {
    let row = q.plane + u32(r101(q.y + dy, i32(p.h))) * p.w;
    for (var dx = -r; dx <= r; dx++) {
      acc += wts[u32(dy + r) * side + u32(dx + r)] * x[row + u32(r101(q.x + dx, i32(p.w)))];
    }
  }
  out[i] = clamp(acc, 0.0, 1.0);
}

@compute @workgroup_size(WG)
fn glass_blur(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let q = pixel(i);
  let r = i32(p.radius);
  var acc = 0.0;
  for (var dy = -r; dy <= r; dy++) {
    let row = q.plane + u32(near(q.y + dy, i32(p.h))) * p.w;
    var s = 0.0;
    for (var dx = -r; dx <= r; dx++) { s += wts[u32(dx + r)] * x[row + u32(near(q.x + dx, i32(p.w)))]; }
    acc += wts[u32(dy + r)] * s;
  }
  out[i] = clamp(acc, 0.0, 1.0);
}

@compute @workgroup_size(WG)
fn shuffle(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let q = pixel(i);
  let hw = p.h * p.w;
  out[i] = x[q.plane + u32(offs[q.b * hw + i % hw])];
}

@compute @workgroup_size(WG)
fn motion_blur(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let q = pixel(i);
  var acc = 0.0;
  for (var k = 0u; k < p.radius; k++) {
    let o = 2u * (q.b * p.radius + k);
    acc += wts[k] * x[q.plane + u32(near(q.y + offs[o + 1u], i32(p.h))) * p.w + u32(near(q.x + offs[o], i32(p.w)))];
  }
  out[i] = clamp(acc, 0.0, 1.0);
}

// The clipped_zoom axis `axis` of zoom z, from the host's table: (top, ch, trim, step).
fn zoom_table_axis(i: i32, z: u32, axis: u32) -> vec3f {
  let t = 8u * z + 4u * axis;
  return zoom_axis(f32(i), zooms[t], zooms[t + 1u], zooms[t + 2u], zooms[t + 3u]);
}

@compute @workgroup_size(WG)
fn zoom_blur(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let q = pixel(i);
  var acc = x[i];
  for (var z = 0u; z < p.radius; z++) {
    let zy = zoom_table_axis(q.y, z, 0u);
    let zx = zoom_table_axis(q.x, z, 1u);
    let r0 = q.plane + u32(zy.x) * p.w;
    let r1 = q.plane + u32(zy.y) * p.w;
    let top = mix(x[r0 + u32(zx.x)], x[r0 + u32(zx.y)], zx.z);
    let bottom = mix(x[r1 + u32(zx.x)], x[r1 + u32(zx.y)], zx.z);
    acc += mix(top, bottom, zy.z);
  }
  out[i] = clamp(acc / f32(p.radius + 1u), 0.0, 1.0);
}

@compute @workgroup_size(WG)
fn snow_composite(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let q = pixel(i);
  let hw = p.h * p.w;
  let first = q.b * p.c * hw + u32(q.y) * p.w + u32(q.x);   // channel 0 of this pixel
  var gray = x[first];
  if (p.c == 3u) { gray = 0.299 * x[first] + 0.587 * x[first + hw] + 0.114 * x[first + 2u * hw]; }
  let v = x[i];
  let g = p.a * v + (1.0 - p.a) * max(v, 1.5 * gray + 0.5);
  let s = aux[q.b * hw + i % hw] + aux[q.b * hw + hw - 1u - i % hw];
  out[i] = clamp(g + s, 0.0, 1.0);
}

@compute @workgroup_size(WG)
fn pixelate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let q = pixel(i);
  let y0 = u32(band_start[q.y]);
  let x0 = u32(band_start[p.h + u32(q.x)]);
  let cols = p.h * p.band_w + u32(q.x) * p.band_wx;   // this column's weights in wts
  var acc = 0.0;
  for (var k = 0u; k < p.band_w; k++) {
    let row = q.plane + (y0 + k) * p.w + x0;
    var s = 0.0;
    for (var l = 0u; l < p.band_wx; l++) { s += wts[cols + l] * x[row + l]; }
    acc += wts[u32(q.y) * p.band_w + k] * s;
  }
  out[i] = clamp(acc, 0.0, 1.0);
}

// The affine-warped image (cv2.warpAffine, bilinear, BORDER_REFLECT_101) at integer (row, col).
fn warped(b: u32, plane: u32, row: i32, col: i32) -> f32 {
  let m = 6u * b;
  let sx = affine[m] * f32(col) + affine[m + 1u] * f32(row) + affine[m + 2u];
  let sy = affine[m + 3u] * f32(col) + affine[m + 4u] * f32(row) + affine[m + 5u];
  let fx = floor(sx);
  let fy = floor(sy);
  let ix = i32(fx);
  let iy = i32(fy);
  let h = i32(p.h);
  let w = i32(p.w);
  let y0 = plane + u32(r101(iy, h)) * p.w;
  let y1 = plane + u32(r101(iy + 1, h)) * p.w;
  let x0 = u32(r101(ix, w));
  let x1 = u32(r101(ix + 1, w));
  let top = mix(x[y0 + x0], x[y0 + x1], sx - fx);
  let bottom = mix(x[y1 + x0], x[y1 + x1], sx - fx);
  return mix(top, bottom, sy - fy);
}

@compute @workgroup_size(WG)
fn elastic_warp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let q = pixel(i);
  let h = i32(p.h);
  let w = i32(p.w);
  let hw = p.h * p.w;
  let r = i32(p.radius);
  var d = vec2f(0.0);
  for (var k = -r; k <= r; k++) {
    let at = 2u * q.b * hw + u32(reflect(q.y + k, h)) * p.w + u32(q.x);
    d += wts[u32(k + r)] * vec2f(aux[at], aux[at + hw]);
  }
  let sx = f32(q.x) + p.a * d.x;
  let sy = f32(q.y) + p.a * d.y;
  let fx = floor(sx);
  let fy = floor(sy);
  let y0 = reflect(i32(fy), h);
  let y1 = reflect(i32(fy) + 1, h);
  let x0 = reflect(i32(fx), w);
  let x1 = reflect(i32(fx) + 1, w);
  let top = mix(warped(q.b, q.plane, y0, x0), warped(q.b, q.plane, y0, x1), sx - fx);
  let bottom = mix(warped(q.b, q.plane, y1, x0), warped(q.b, q.plane, y1, x1), sx - fx);
  out[i] = clamp(mix(top, bottom, sy - fy), 0.0, 1.0);
}
