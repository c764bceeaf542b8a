// LayerCAM (docs/TRAINING.md section 3), aggregated over up to 8 layers l of activations A_l and
// gradients G_l, each [B, C_l, h_l, w_l], into one map per image at the input resolution
// [B, out_h, out_w]:
//   channels:     cams[off_l + (b*h_l + y)*w_l + x] = ReLU(sum_c ReLU(G_l[b,c,y,x]) * A_l[b,c,y,x])
//                 (up to 3 layers per dispatch, slots a0/g0 .. a2/g2; the cams of all layers are
//                 packed into one buffer, layer l's [B, h_l, w_l] block at offset off_l)
//   minmax:       stats[2*(l*B + b)] = min, stats[2*(l*B + b) + 1] = max of cams of image b, layer l
//   minmax_batch: (option normalize 'batch') every stats[l*B + b] <- min/max over all b of layer l
//   upsample_sum: map[b, y, x] = sum_l bilinear_l(y, x), where bilinear_l samples layer l's cam of
//                 image b, normalised as (cam - min) / (max - min + 1e-8), at (y, x) with
//                 PyTorch's align_corners=False rule (half-pixel centres, source index clamped at
//                 0, last row/column repeated). The four taps are normalised before they are
//                 blended (as PyTorch would, normalising first), so a constant map gives exactly 0.
//   argmax:       centres[b] = first (row-major) index of the maximum of map[b]
// Bindings: cp (channels) or lp (the rest), a0, g0, a1, g1, a2, g2, cams, stats, map, centres.
// Dispatch: one invocation per cam element (channels), per (layer, image) (minmax), per layer
// (minmax_batch), per map element (upsample_sum), per image (argmax); WG threads per workgroup,
// folded into 2-D grids past 65535 workgroups. Layer l's shape and offset are component l % 4 of
// the *_lo (l < 4) or *_hi (l >= 4) vectors.

override WG: u32 = 64u;
const EPS = 1e-8;

struct ChannelParams {
  // Threads of this dispatch: the cam elements of its slots, which are contiguous in cams.
  n: u32,
  slots: u32,
  chan: vec4<u32>,
  hw: vec4<u32>,
  // Offsets in cams of each slot's block; slot 0's is where this dispatch starts.
  off: vec4<u32>,
}

struct LayerParams {
  b: u32,
  layers: u32,
  out_h: u32,
  out_w: u32,
  h_lo: vec4<u32>,
  h_hi: vec4<u32>,
  w_lo: vec4<u32>,
  w_hi: vec4<u32>,
  off_lo: vec4<u32>,
  off_hi: vec4<u32>,
}

@group(0) @binding(0) var<uniform> cp: ChannelParams;
@group(0) @binding(1) var<uniform> lp: LayerParams;
@group(0) @binding(2) var<storage, read> a0: array<f32>;
@group(0) @binding(3) var<storage, read> g0: array<f32>;
@group(0) @binding(4) var<storage, read> a1: array<f32>;
@group(0) @binding(5) var<storage, read> g1: array<f32>;
@group(0) @binding(6) var<storage, read> a2: array<f32>;
@group(0) @binding(7) var<storage, read> g2: array<f32>;
@group(0) @binding(8) var<storage, read_write> cams: array<f32>;
@group(0) @binding(9) var<storage, read_write> stats: array<f32>;
@group(0) @binding(10) var<storage, read_write> map: array<f32>;
@group(0) @binding(11) var<storage, read_write> centres: array<i32>;

//! include "lib/indexing.wgsl"
//! include "lib/resample.wgsl"

@compute @workgroup_size(WG)
fn channels(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= cp.n) { return; }
  let at = cp.off[0] + i;
  var s = 0u;
  if (cp.slots > 1u && at >= cp.off[1]) { s = 1u; }
  if (cp.slots > 2u && at >= cp.off[2]) { s = 2u; }
  let local = at - cp.off[s];
  let hw = cp.hw[s];
  let chan = cp.chan[s];
  // Element (b, c, q) of A and G is at (b * chan + c) * hw + q.
  let base = (local / hw) * chan * hw + local % hw;
  var acc = 0.0;
  switch s {
    case 0u: { for (var c = 0u; c < chan; c++) { let k = base + c * hw; acc += max(g0[k], 0.0) * a0[k]; } }
    case 1u: { for (var c = 0u; c < chan; c++) { let k = base + c * hw; acc += max(g1[k], 0.0) * a1[k]; } }
    default: { for (var c = 0u; c < chan; c++) { let k = base + c * hw; acc += max(g2[k], 0.0) * a2[k]; } }
  }
  cams[at] = max(acc, 0.0);
}

fn layer_h(l: u32) -> u32 {
  if (l < 4u) { return lp.h_lo[l]; }
  return lp.h_hi[l - 4u];
}

fn layer_w(l: u32) -> u32 {
  if (l < 4u) { return lp.w_lo[l]; }
  return lp.w_hi[l - 4u];
}

fn layer_off(l: u32) -> u32 {
  if (l < 4u) { return lp.off_lo[l]; }
  return lp.off_hi[l - 4u];
}

@compute @workgroup_size(WG)
fn minmax(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= lp.layers * lp.b) { return; }
  let l = i / lp.b;
  let hw = layer_h(l) * layer_w(l);
  let base = layer_off(l) + (i % lp.b) * hw;
  var lo = cams[base];
  var hi = lo;
  for (var q = 1u; q < hw; q++) {
    let v = cams[base + q];
    lo = min(lo, v);
    hi = max(hi, v);
  }
  stats[2u * i] = lo;
  stats[2u * i + 1u] = hi;
}

@compute @workgroup_size(WG)
fn minmax_batch(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let l = linear_id(gid, nwg);
  if (l >= lp.layers) { return; }
  let first = 2u * l * lp.b;
  var lo = stats[first];
  var hi = stats[first + 1u];
  for (var b = 1u; b < lp.b; b++) {
    lo = min(lo, stats[first + 2u * b]);
    hi = max(hi, stats[first + 2u * b + 1u]);
  }
  for (var b = 0u; b < lp.b; b++) {
    stats[first + 2u * b] = lo;
    stats[first + 2u * b + 1u] = hi;
  }
}

// Layer l's cam of image b at (row, col), min-max normalised with its stats. The max() keeps
// compilers that reassociate float adds (lavapipe does) from turning (hi - lo) + EPS into
// hi + (EPS - lo), which loses EPS, and so 0 / 0 for constant maps.
fn normalised(base: u32, row: u32, col: u32, w: u32, lo: f32, hi: f32) -> f32 {
  return (cams[base + row * w + col] - lo) / (max(hi - lo, 0.0) + EPS);
}

@compute @workgroup_size(WG)
fn upsample_sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let plane = lp.out_h * lp.out_w;
  if (i >= lp.b * plane) { return; }
  let b = i / plane;
  let y = (i % plane) / lp.out_w;
  let x = i % lp.out_w;
  var acc = 0.0;
  for (var l = 0u; l < lp.layers; l++) {
    let h = layer_h(l);
    let w = layer_w(l);
    let base = layer_off(l) + b * h * w;
    let s = 2u * (l * lp.b + b);
    let lo = stats[s];
    let hi = stats[s + 1u];
    let sy = source_axis(y, h, lp.out_h);
    let sx = source_axis(x, w, lp.out_w);
    let r0 = u32(sy.x);
    let r1 = u32(sy.y);
    let c0 = u32(sx.x);
    let c1 = u32(sx.y);
    let top = (1.0 - sx.z) * normalised(base, r0, c0, w, lo, hi) + sx.z * normalised(base, r0, c1, w, lo, hi);
    let bottom = (1.0 - sx.z) * normalised(base, r1, c0, w, lo, hi) + sx.z * normalised(base, r1, c1, w, lo, hi);
    acc += (1.0 - sy.z) * top + sy.z * bottom;
  }
  map[i] = acc;
}

@compute @workgroup_size(WG)
fn argmax(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg);
  if (b >= lp.b) { return; }
  let plane = lp.out_h * lp.out_w;
  let base = b * plane;
  var best = map[base];
  var arg = 0u;
  for (var q = 1u; q < plane; q++) {
    let v = map[base + q];
    if (v > best) {
      best = v;
      arg = q;
    }
  }
  centres[b] = i32(arg);
}
