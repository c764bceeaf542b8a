// Strided subsampling of NCHW planes and its adjoint, for 1x1 convolutions run as matrix
// products (src/ops/conv.ts, variant 'gemm'):
//   gather:  small[q, oy, ox] = big[q, oy * SH, ox * SW]            (q = batch * channels)
//   scatter: big[q, y, x] = small[q, y / SH, x / SW] where SH | y, SW | x and the quotient is
//            inside small; 0 elsewhere (every element of big is written).
// Bindings: p, src (read), dst (written). Dispatch: one invocation per dst element, WG threads
// per workgroup, folded into 2-D grids (x + y * groups_x) past 65535 workgroups.

override WG: u32 = 64u;
override SH: u32 = 2u;
override SW: u32 = 2u;

struct Params {
  planes: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

//! include "lib/indexing.wgsl"

@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let small = p.oh * p.ow;
  if (i >= p.planes * small) { return; }
  let q = i / small;
  let r = i % small;
  let y = (r / p.ow) * SH;
  let x = (r % p.ow) * SW;
  dst[i] = src[(q * p.h + y) * p.w + x];
}

@compute @workgroup_size(WG)
fn scatter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let big = p.h * p.w;
  if (i >= p.planes * big) { return; }
  let q = i / big;
  let r = i % big;
  let y = r / p.w;
  let x = r % p.w;
  var v = 0.0;
  if (y % SH == 0u && x % SW == 0u && y / SH < p.oh && x / SW < p.ow) {
    v = src[(q * p.oh + y / SH) * p.ow + x / SW];
  }
  dst[i] = v;
}
