// The finite-state guard of training (src/train/finite-guard.ts): after each step, one dispatch per
// checked tensor (parameters, BatchNorm running statistics) marks the first one holding NaN or
// Inf, and the step's scalars are copied beside the mark, so a single readback returns both.
// reset: flags[0] = 0xffffffff (no non-finite tensor seen).
// check: flags[0] = min(flags[0], slot) if any x[i], i < n, is NaN or +-Inf: the lowest slot, i.e.
//   the first tensor in the order the host numbered them, whatever order the dispatches ran in.
// The test is on the bits (exponent all ones) because WGSL lets a compiler assume that floats are
// finite, which can fold `x != x` or `abs(x) > F32_MAX` to false.
// Bindings: x (read, f32), flags (read_write, atomic u32). Dispatch: check one invocation per
// element, WG threads per workgroup, 2-D folded grids (grid()); reset [1].

override WG: u32 = 64u;

struct Params {
  n: u32,
  slot: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> flags: array<atomic<u32>>;

//! include "lib/indexing.wgsl"

@compute @workgroup_size(1)
fn reset() {
  atomicStore(&flags[0], 0xffffffffu);
}

@compute @workgroup_size(WG)
fn check(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  if ((x[i] & 0x7f800000u) == 0x7f800000u) {
    atomicMin(&flags[0], p.slot);
  }
}
