// Elementwise maps. unary: out[i] = f(x[i], s); binary: out[i] = a[i % a_size] (op) b[i % b_size],
// which broadcasts either operand over leading dimensions; fill: out[i] = value.
// Bindings: params, x | a, b, out. Dispatch: one invocation per output element, WG threads per
// workgroup, folded into 2-D grids (x + y * groups_x) past 65535 workgroups.
// OP selects the function (an override, so each op compiles to its own pipeline).

override OP: u32 = 0u;
override WG: u32 = 64u;

struct Params {
  n: u32,
  a_size: u32,
  b_size: u32,
  s: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"

// Unary ops: 0 copy, 1 neg, 2 exp, 3 log, 4 relu, 5 x + s, 6 x * s, 7 s - x, 8 s / x,
// 9 sqrt, 10 x * x (each launched by src/ops/elementwise.ts and checked in test/elementwise).
fn apply_unary(v: f32, s: f32) -> f32 {
  switch OP {
    case 1u: { return -v; }
    case 2u: { return exp(v); }
    case 3u: { return log(v); }
    case 4u: { return max(v, 0.0); }
    case 5u: { return v + s; }
    case 6u: { return v * s; }
    case 7u: { return s - v; }
    case 8u: { return s / v; }
    case 9u: { return sqrt(v); }
    case 10u: { return v * v; }
    default: { return v; }
  }
}

// Binary ops: 0 add, 1 sub, 2 mul, 3 div, 4 relu'(b) * a (a gated by b > 0).
fn apply_binary(u: f32, v: f32) -> f32 {
  switch OP {
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    case 3u: { return u / v; }
    case 4u: { return select(0.0, u, v > 0.0); }
    default: { return u + v; }
  }
}

@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = apply_unary(x[i], p.s);
}

@compute @workgroup_size(WG)
fn binary(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = apply_binary(a[i % p.a_size], b[i % p.b_size]);
}

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.s;
}
