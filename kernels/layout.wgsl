// Shape ops that move elements without arithmetic (except gather_backward's sums). Elements are
// copied as raw 32-bit words, so float32 and int32 tensors both pass through bit-exactly.
//   permute: out[i] = x[sum_d c_d(i) * stride[d]], c(i) = coordinates of i in the output shape
//            (rank <= 8, left-padded with size-1 dims), stride[d] = x's stride of the output's dim d.
// The rest view tensors as [outer, len, inner] around one axis (src_len: x's len, dst_len: out's):
//   window:  out[o, j, k] = x[o, j - shift, k] if 0 <= j - shift < src_len, else the word `fill`
//            (slice: shift = -start; slice's backward, zero-padding: shift = start, fill = 0)
//   place:   out[o, j + shift, k] = x[o, j, k] for every element of x (one input of concat;
//            the other inputs fill the rest of out's axis)
//   gather:  out[o, m, k] = x[o, idx[m], k], or the word `fill` if idx[m] is outside [0, src_len)
//   gather_backward: dx[o, j, k] = sum over m with idx[m] == j of g[o, m, k] (float32): each
//            output sums its own terms in index order, so duplicates accumulate without atomics,
//            at a cost of dst_len reads of idx per output.
// Bindings: ap (axis kernels) or pp (permute), x, idx, out; gather_backward: ap, idx, g, dx.
// Dispatch: one invocation per element of out (of x for place, of dx for gather_backward), WG
// threads per workgroup, folded into 2-D grids past 65535 workgroups.

override WG: u32 = 64u;

struct AxisParams {
  outer: u32,
  src_len: u32,
  dst_len: u32,
  inner: u32,
  shift: i32,
  fill: u32,
}

struct PermuteParams {
  n: u32,
  shape_lo: vec4<u32>,
  shape_hi: vec4<u32>,
  stride_lo: vec4<u32>,
  stride_hi: vec4<u32>,
}

@group(0) @binding(0) var<uniform> ap: AxisParams;
@group(0) @binding(1) var<uniform> pp: PermuteParams;
@group(0) @binding(2) var<storage, read> x: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

//! include "lib/indexing.wgsl"

@compute @workgroup_size(WG)
fn permute(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= pp.n) { return; }
  // Peel coordinates off from the last (fastest) dimension.
  var rest = i;
  var src = 0u;
  for (var d = 3; d >= 0; d--) {
    let c = rest % pp.shape_hi[d];
    rest /= pp.shape_hi[d];
    src += c * pp.stride_hi[d];
  }
  for (var d = 3; d >= 0; d--) {
    let c = rest % pp.shape_lo[d];
    rest /= pp.shape_lo[d];
    src += c * pp.stride_lo[d];
  }
  out[i] = x[src];
}

/** (o, j, k) of element i of a [outer, len, inner] tensor. */
fn axis_coords(i: u32, len: u32) -> vec3u {
  return vec3u(i / (len * ap.inner), (i / ap.inner) % len, i % ap.inner);
}

fn axis_offset(c: vec3u, len: u32) -> u32 {
  return (c.x * len + c.y) * ap.inner + c.z;
}

// The word x at (c.x, j, c.z) of the [outer, src_len, inner] source, or `fill` where j is outside it.
fn source_or_fill(c: vec3u, j: i32) -> u32 {
  if (j < 0 || u32(j) >= ap.src_len) { return ap.fill; }
  return x[axis_offset(vec3u(c.x, u32(j), c.z), ap.src_len)];
}

@compute @workgroup_size(WG)
fn window(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= ap.outer * ap.dst_len * ap.inner) { return; }
  let c = axis_coords(i, ap.dst_len);
  out[i] = source_or_fill(c, i32(c.y) - ap.shift);
}

@compute @workgroup_size(WG)
fn place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= ap.outer * ap.src_len * ap.inner) { return; }
  let c = axis_coords(i, ap.src_len);
  out[axis_offset(vec3u(c.x, u32(i32(c.y) + ap.shift), c.z), ap.dst_len)] = x[i];
}

@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= ap.outer * ap.dst_len * ap.inner) { return; }
  let c = axis_coords(i, ap.dst_len);
  out[i] = source_or_fill(c, idx[c.y]);
}

@compute @workgroup_size(WG)
fn gather_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= ap.outer * ap.src_len * ap.inner) { return; }
  let c = axis_coords(i, ap.src_len);
  let base = c.x * ap.dst_len * ap.inner + c.z;
  var acc = 0.0;
  for (var m = 0u; m < ap.dst_len; m++) {
    if (idx[m] == i32(c.y)) { acc += g[base + m * ap.inner]; }
  }
  dx[i] = acc;
}
