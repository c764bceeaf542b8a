// Fused optimiser updates: one dispatch per parameter tensor, state and parameter updated in place.
// adam (torch.optim.Adam; weight decay is L2 added to the gradient, t = this parameter's step):
//   g = grad + wd * param;  m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g * g
//   param -= step_size * m / (sqrt(v) / bc2_sqrt + eps),  step_size = lr / (1 - b1^t), bc2_sqrt = sqrt(1 - b2^t)
// sgd_momentum (torch.optim.SGD): g = grad + wd * param;
//   buf = first ? g : momentum * buf + (1 - dampening) * g;  d = nesterov ? g + momentum * buf : buf
//   param -= lr * d
// sgd (momentum 0): param -= lr * (grad + wd * param)
// The host computes the bias corrections in float64, as PyTorch does, and passes them as f32.
// Bindings: params, param (rw), grad, and m, v (adam) or buf (sgd_momentum), rw.
// Dispatch: one invocation per element, WG threads per workgroup, 2-D folded grids (grid()).

override WG: u32 = 64u;

struct AdamParams {
  n: u32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  weight_decay: f32,
  step_size: f32,
  bc2_sqrt: f32,
}

struct SgdParams {
  n: u32,
  lr: f32,
  weight_decay: f32,
  momentum: f32,
  one_minus_dampening: f32,
  nesterov: u32,
  first: u32,
}

@group(0) @binding(0) var<uniform> ap: AdamParams;
@group(0) @binding(1) var<uniform> sp: SgdParams;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read_write> buf: array<f32>;

//! include "lib/indexing.wgsl"

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= ap.n) { return; }
  let p = param[i];
  let g = grad[i] + ap.weight_decay * p;
  let m1 = ap.beta1 * m[i] + ap.one_minus_beta1 * g;
  let v1 = ap.beta2 * v[i] + ap.one_minus_beta2 * (g * g);
  m[i] = m1;
  v[i] = v1;
  let denom = sqrt(v1) / ap.bc2_sqrt + ap.eps;
  param[i] = p - ap.step_size * (m1 / denom);
}

@compute @workgroup_size(WG)
fn sgd_momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= sp.n) { return; }
  let p = param[i];
  let g = grad[i] + sp.weight_decay * p;
  var b = g;
  if (sp.first == 0u) { b = sp.momentum * buf[i] + sp.one_minus_dampening * g; }
  buf[i] = b;
  var d = b;
  if (sp.nesterov != 0u) { d = g + sp.momentum * b; }
  param[i] = p - sp.lr * d;
}

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= sp.n) { return; }
  let p = param[i];
  param[i] = p - sp.lr * (grad[i] + sp.weight_decay * p);
}
