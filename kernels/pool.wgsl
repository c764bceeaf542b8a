// 2-D max pooling of NCHW planes (PyTorch's max_pool2d: dilation 1, floor mode, padding that
// never wins: padded positions are skipped, as if they held -inf) and its gradient.
//   max_pool:          out[q, oy, ox] = max over the window y = oy * SH - PH + i, x = ox * SW - PW + j
//                      (0 <= i < KH, 0 <= j < KW, inside the plane); idx[q, oy, ox] = y * w + x of
//                      the first maximum in row-major window order (ties go to one element, as in
//                      PyTorch); a NaN wins over any number, so a diverged input stays visible.
//   max_pool_backward: dx[q, y, x] = sum of g[q, oy, ox] over the windows holding (y, x) whose
//                      idx is y * w + x. Each input element gathers from the few windows that
//                      can contain it, so there are no atomics and the sum's order is fixed.
// Bindings: p, x (read), g (read), idx (int32: written by max_pool, read by the backward), out
// (written). Dispatch: one invocation per output element (max_pool) or per input element
// (max_pool_backward), WG threads per workgroup, folded into 2-D grids past 65535 workgroups.
// Shapes: x, dx [planes, h, w]; out, g, idx [planes, oh, ow], planes = batch * channels.

override WG: u32 = 64u;

struct Params {
  planes: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  ph: u32,
  pw: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"
//! include "lib/nan.wgsl"

@compute @workgroup_size(WG)
fn max_pool(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let per_plane = p.oh * p.ow;
  if (i >= p.planes * per_plane) { return; }
  let q = i / per_plane;
  let oy = i32((i % per_plane) / p.ow);
  let ox = i32((i % per_plane) % p.ow);
  let base = q * p.h * p.w;
  var best = 0.0;
  var at = -1;
  for (var ky = 0; ky < i32(p.kh); ky++) {
    let y = oy * i32(p.sh) - i32(p.ph) + ky;
    if (y < 0 || y >= i32(p.h)) { continue; }
    for (var kx = 0; kx < i32(p.kw); kx++) {
      let xx = ox * i32(p.sw) - i32(p.pw) + kx;
      if (xx < 0 || xx >= i32(p.w)) { continue; }
      let v = x[base + u32(y) * p.w + u32(xx)];
      // Strictly greater keeps the first maximum; the first NaN replaces any number and stays.
      if (at < 0 || (!is_nan(best) && (v > best || is_nan(v)))) {
        best = v;
        at = y * i32(p.w) + xx;
      }
    }
  }
  out[i] = best;
  idx[i] = at;
}

/** The first output index along one axis whose window (o * s - pad .. + k - 1) holds position y. */
fn first_window(y: i32, k: u32, s: u32, pad: u32) -> i32 {
  let lo = y + i32(pad) - i32(k) + 1;
  return max(0, (lo + i32(s) - 1) / i32(s));
}

@compute @workgroup_size(WG)
fn max_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let per_plane = p.h * p.w;
  if (i >= p.planes * per_plane) { return; }
  let q = i / per_plane;
  let r = i32(i % per_plane);
  let y = r / i32(p.w);
  let xx = r % i32(p.w);
  // Windows holding y: o * sh - ph <= y <= o * sh - ph + kh - 1, and o < oh.
  let oy_end = min(i32(p.oh), (y + i32(p.ph)) / i32(p.sh) + 1);
  let ox_end = min(i32(p.ow), (xx + i32(p.pw)) / i32(p.sw) + 1);
  var sum = 0.0;
  for (var oy = first_window(y, p.kh, p.sh, p.ph); oy < oy_end; oy++) {
    for (var ox = first_window(xx, p.kw, p.sw, p.pw); ox < ox_end; ox++) {
      let o = q * p.oh * p.ow + u32(oy) * p.ow + u32(ox);
      if (idx[o] == r) { sum += g[o]; }
    }
  }
  out[i] = sum;
}
