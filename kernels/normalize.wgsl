// L2 normalisation of each row (the last axis) of a [rows, dim] view, as PyTorch's F.normalize:
//   forward:  out = x / n,  n = max(||x||, eps)
//   backward: dx = (g - x * (x.g) / ||x||^2) / ||x||  where ||x|| > eps (the sphere's tangent part),
//             dx = g / eps                           where the norm is clamped (a constant scale).
// Bindings: params, x, g (backward), out. Dispatch: one invocation per row, WG threads per
// workgroup, 2-D folded grids; each invocation reads its row twice (a reduction, then the map).

override WG: u32 = 64u;

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_id(gid, nwg);
  if (r >= p.rows) { return; }
  let base = r * p.dim;
  var ss = 0.0;
  for (var j = 0u; j < p.dim; j++) {
    let v = x[base + j];
    ss += v * v;
  }
  let n = max(sqrt(ss), p.eps);
  for (var j = 0u; j < p.dim; j++) {
    out[base + j] = x[base + j] / n;
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_id(gid, nwg);
  if (r >= p.rows) { return; }
  let base = r * p.dim;
  var ss = 0.0;
  var dot = 0.0;
  for (var j = 0u; j < p.dim; j++) {
    let v = x[base + j];
    ss += v * v;
    dot += v * g[base + j];
  }
  let norm = sqrt(ss);
  let clamped = norm <= p.eps;
  let n = select(norm, p.eps, clamped);
  // x.g / ||x||^2 scales the radial part that the normalisation removes; none when clamped.
  let radial = select(dot / ss, 0.0, clamped);
  for (var j = 0u; j < p.dim; j++) {
    out[base + j] = (g[base + j] - x[base + j] * radial) / n;
  }
}
