// Reductions over the middle axis of a tensor viewed as [outer, len, inner].
// sum: out[o,k] = scale * sum_j x[o,j,k]; maximum: out[o,k] = max_j x[o,j,k], idx[o,k] = first argmax
// (the first NaN, if any, as PyTorch's);
// logsumexp: out[o,k] = m + log(sum_j exp(x[o,j,k] - m)), m = max_j x[o,j,k].
// Backward helpers: expand: dx[o,j,k] = scale * g[o,k]; scatter_argmax: dx[o,j,k] = g[o,k] if
// j == idx[o,k] else 0; logsumexp_backward: dx[o,j,k] = g[o,k] * exp(x[o,j,k] - out[o,k]).
// Dispatch: one invocation per output element (reductions) or per input element (backward),
// WG threads per workgroup, 2-D folded grids. Each reducing thread loops over len serially;
// sum_chunks is the first of two passes for long sums with few outputs.

override WG: u32 = 64u;
const F32_MAX = 0x1.fffffep+127f;

struct Params {
  outer: u32,
  len: u32,
  inner: u32,
  scale: f32,
  chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> red: array<f32>;
@group(0) @binding(4) var<storage, read> idx_in: array<i32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> idx: array<i32>;

//! include "lib/indexing.wgsl"
//! include "lib/nan.wgsl"

@compute @workgroup_size(WG)
fn sum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.len * p.inner + i % p.inner;
  var acc = 0.0;
  for (var j = 0u; j < p.len; j++) {
    acc += x[base + j * p.inner];
  }
  out[i] = acc * p.scale;
}

// First pass of a long sum: out[o,c,k] = sum of x[o,j,k] for j in chunk c (chunk terms each).
@compute @workgroup_size(WG)
fn sum_chunks(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let chunks = (p.len + p.chunk - 1u) / p.chunk;
  if (i >= p.outer * chunks * p.inner) { return; }
  let k = i % p.inner;
  let c = (i / p.inner) % chunks;
  let o = i / (p.inner * chunks);
  let base = o * p.len * p.inner + k;
  var acc = 0.0;
  for (var j = c * p.chunk; j < min(p.len, (c + 1u) * p.chunk); j++) {
    acc += x[base + j * p.inner];
  }
  out[i] = acc;
}

@compute @workgroup_size(WG)
fn maximum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.len * p.inner + i % p.inner;
  var m = x[base];
  var arg = 0u;
  for (var j = 1u; j < p.len; j++) {
    let v = x[base + j * p.inner];
    // A NaN wins and stays: v > NaN is false.
    if (v > m || (is_nan(v) && !is_nan(m))) { m = v; arg = j; }
  }
  out[i] = m;
  idx[i] = i32(arg);
}

@compute @workgroup_size(WG)
fn logsumexp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.outer * p.inner) { return; }
  let base = (i / p.inner) * p.len * p.inner + i % p.inner;
  var m = x[base];
  for (var j = 1u; j < p.len; j++) { m = max(m, x[base + j * p.inner]); }
  // An infinite maximum is the answer itself (x - m would be inf - inf = NaN), as in PyTorch.
  if (abs(m) > F32_MAX) { out[i] = m; return; }
  var s = 0.0;
  for (var j = 0u; j < p.len; j++) { s += exp(x[base + j * p.inner] - m); }
  out[i] = m + log(s);
}

// Index of the reduced element that input element i (in [outer, len, inner]) belongs to, and its j.
fn reduced_index(i: u32) -> vec2u {
  let k = i % p.inner;
  let j = (i / p.inner) % p.len;
  let o = i / (p.inner * p.len);
  return vec2u(o * p.inner + k, j);
}

@compute @workgroup_size(WG)
fn expand(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.outer * p.len * p.inner) { return; }
  out[i] = g[reduced_index(i).x] * p.scale;
}

@compute @workgroup_size(WG)
fn scatter_argmax(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.outer * p.len * p.inner) { return; }
  let r = reduced_index(i);
  out[i] = select(0.0, g[r.x], u32(idx_in[r.x]) == r.y);
}

@compute @workgroup_size(WG)
fn logsumexp_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.outer * p.len * p.inner) { return; }
  let r = reduced_index(i).x;
  out[i] = g[r] * exp(x[i] - red[r]);
}
