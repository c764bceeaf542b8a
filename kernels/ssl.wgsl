// MoCo's two in-place state updates (He et al. 2020), neither recorded for autograd.
// ema (momentum update of the key encoder, one dispatch per parameter tensor):
//   key[i] = momentum * key[i] + one_minus_momentum * query[i]
// enqueue (the queue of negatives is a ring buffer of K rows of D floats; the B newest keys
// overwrite the B oldest rows, starting at row ptr and wrapping past the end):
//   queue[((ptr + r) % K) * D + c] = keys[r * D + c]   for r < B, c < D
// Bindings: ema: params, key (rw), query; enqueue: params, keys, queue (rw).
// Dispatch: one invocation per element (n, resp. B * D), WG threads per workgroup, 2-D folded
// grids (grid()).

override WG: u32 = 64u;

struct EmaParams {
  n: u32,
  momentum: f32,
  one_minus_momentum: f32,
}

struct QueueParams {
  rows: u32,
  dim: u32,
  capacity: u32,
  ptr: u32,
}

@group(0) @binding(0) var<uniform> ep: EmaParams;
@group(0) @binding(1) var<uniform> qp: QueueParams;
@group(0) @binding(2) var<storage, read_write> key: array<f32>;
@group(0) @binding(3) var<storage, read> query: array<f32>;
@group(0) @binding(4) var<storage, read> keys: array<f32>;
@group(0) @binding(5) var<storage, read_write> queue: array<f32>;

//! include "lib/indexing.wgsl"

@compute @workgroup_size(WG)
fn ema(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= ep.n) { return; }
  key[i] = ep.momentum * key[i] + ep.one_minus_momentum * query[i];
}

@compute @workgroup_size(WG)
fn enqueue(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= qp.rows * qp.dim) { return; }
  let r = i / qp.dim;
  let c = i - r * qp.dim;
  queue[((qp.ptr + r) % qp.capacity) * qp.dim + c] = keys[i];
}
