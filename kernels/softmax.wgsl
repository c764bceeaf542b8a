// Softmax family over the middle axis of a tensor viewed as [outer, len, inner], one invocation
// per row (o, k), each reading its row serially: the row's max and sum of exponentials are
// computed in registers and the outputs written in the same invocation (no intermediate buffers).
//   forward:  m = max_j x, s = sum_j exp(x - m);
//             LOG = 0: out = exp(x - m) / s        LOG = 1: out = x - m - log(s)
//   backward (y = forward output, g = its gradient):
//             LOG = 0: dx = y * (g - sum_j g y)    LOG = 1: dx = g - exp(y) * sum_j g
// Cross-entropy over rows of logits [rows = outer, len = classes] (inner = 1), labels i32 [rows]:
//   cross_entropy:          loss[r] = logsumexp(x[r]) - x[r, label[r]]
//   cross_entropy_backward: dx[r, c] = (softmax(x[r])[c] - (c == label[r])) * g[r * g_stride] * scale
// A label outside [0, len) is never read through: its row's loss and gradient are NaN, which
// makes the mistake visible in the loss (the host cannot check labels without a readback).
// Bindings: params, x, y, g, labels, out. Dispatch: one invocation per row (outer * inner),
// WG threads per workgroup, folded into 2-D grids past 65535 workgroups.

override WG: u32 = 64u;
override LOG: u32 = 0u;

struct Params {
  outer: u32,
  len: u32,
  inner: u32,
  /** cross_entropy_backward: the loss's reduction factor (1/rows for a mean, else 1). */
  scale: f32,
  /** cross_entropy_backward: 0 when g is one scalar for the whole batch, 1 for per-row g. */
  g_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> labels: array<i32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"

/** Offset of element 0 of row r, whose elements lie p.inner apart. */
fn row_base(r: u32) -> u32 {
  return (r / p.inner) * p.len * p.inner + r % p.inner;
}

/** (max, sum of exp(x - max)) of the row starting at base. */
fn row_max_sum(base: u32) -> vec2f {
  var m = x[base];
  for (var j = 1u; j < p.len; j++) { m = max(m, x[base + j * p.inner]); }
  var s = 0.0;
  for (var j = 0u; j < p.len; j++) { s += exp(x[base + j * p.inner] - m); }
  return vec2f(m, s);
}

/** A quiet NaN made at run time (a constant NaN is a shader-creation error in WGSL). */
fn nan() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_id(gid, nwg);
  if (r >= p.outer * p.inner) { return; }
  let base = row_base(r);
  let ms = row_max_sum(base);
  if (LOG == 1u) {
    let shift = ms.x + log(ms.y);
    for (var j = 0u; j < p.len; j++) {
      let at = base + j * p.inner;
      out[at] = x[at] - shift;
    }
  } else {
    let inv = 1.0 / ms.y;
    for (var j = 0u; j < p.len; j++) {
      let at = base + j * p.inner;
      out[at] = exp(x[at] - ms.x) * inv;
    }
  }
}

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_id(gid, nwg);
  if (r >= p.outer * p.inner) { return; }
  let base = row_base(r);
  var gy = 0.0;
  for (var j = 0u; j < p.len; j++) {
    let at = base + j * p.inner;
    gy += select(g[at] * y[at], g[at], LOG == 1u);
  }
  for (var j = 0u; j < p.len; j++) {
    let at = base + j * p.inner;
    if (LOG == 1u) {
      out[at] = g[at] - exp(y[at]) * gy;
    } else {
      out[at] = y[at] * (g[at] - gy);
    }
  }
}

@compute @workgroup_size(WG)
fn cross_entropy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_id(gid, nwg);
  if (r >= p.outer) { return; }
  let label = labels[r];
  if (label < 0 || u32(label) >= p.len) {
    out[r] = nan();
    return;
  }
  let base = r * p.len;
  let ms = row_max_sum(base);
  out[r] = ms.x + log(ms.y) - x[base + u32(label)];
}

@compute @workgroup_size(WG)
fn cross_entropy_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_id(gid, nwg);
  if (r >= p.outer) { return; }
  let base = r * p.len;
  let label = labels[r];
  let valid = label >= 0 && u32(label) < p.len;
  let ms = row_max_sum(base);
  let gr = select(nan(), g[r * p.g_stride] * p.scale, valid);
  let inv = 1.0 / ms.y;
  for (var c = 0u; c < p.len; c++) {
    let onehot = select(0.0, 1.0, c == u32(label));
    out[base + c] = (exp(x[base + c] - ms.x) * inv - onehot) * gr;
  }
}
