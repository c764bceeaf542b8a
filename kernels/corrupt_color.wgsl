// Per-pixel corruptions (src/corrupt/) on x [B, C, H, W] in [0, 1], some using per-image statistics.
//   image_stats: stats[b, c] = mean over H, W of channel c (c < C); stats[b, C] = max over the image
//   brightness:  v = max_c x (HSV value), v' = min(v + a, 1): out = x * v' / v (v > 0), else v';
//                the same as skimage's rgb2hsv, V += a, clip, hsv2rgb (rgb is linear in V)
//   contrast:    out = clamp((x - stats[b, c]) * a + stats[b, c], 0, 1)
//   fog:         out = clamp((x + a * plasma[b, y, x]) * m / (m + a), 0, 1), m = stats[b, C]
// Bindings: p; x, stats, plasma, stats_out, out. Dispatch: image_stats one invocation per image
// (a serial pass over it); the others one per output element. WG threads per workgroup, 2-D
// folded past 65535 workgroups.

override WG: u32 = 64u;

struct Params {
  n: u32,
  c: u32,
  h: u32,
  w: u32,
  a: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> plasma: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"

@compute @workgroup_size(WG)
fn image_stats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg);
  if (b >= p.n) { return; }
  let hw = p.h * p.w;
  var m = x[b * p.c * hw];
  for (var c = 0u; c < p.c; c++) {
    let base = (b * p.c + c) * hw;
    var s = 0.0;
    for (var k = 0u; k < hw; k++) {
      s += x[base + k];
      m = max(m, x[base + k]);
    }
    stats_out[b * (p.c + 1u) + c] = s / f32(hw);
  }
  stats_out[b * (p.c + 1u) + p.c] = m;
}

@compute @workgroup_size(WG)
fn brightness(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.h * p.w;
  let first = (i / (p.c * hw)) * p.c * hw + i % hw;
  var v = x[first];
  for (var c = 1u; c < p.c; c++) { v = max(v, x[first + c * hw]); }
  let raised = min(v + p.a, 1.0);
  out[i] = select(raised, clamp(x[i] * (raised / v), 0.0, 1.0), v > 0.0);
}

@compute @workgroup_size(WG)
fn contrast(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.h * p.w;
  let b = i / (p.c * hw);
  let mean = stats[b * (p.c + 1u) + (i / hw) % p.c];
  out[i] = clamp((x[i] - mean) * p.a + mean, 0.0, 1.0);
}

@compute @workgroup_size(WG)
fn fog(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.h * p.w;
  let b = i / (p.c * hw);
  let m = stats[b * (p.c + 1u) + p.c];
  out[i] = clamp((x[i] + p.a * plasma[b * hw + i % hw]) * m / (m + p.a), 0.0, 1.0);
}
