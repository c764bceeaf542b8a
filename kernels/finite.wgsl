// The finite-state guard of training (src/train/finite-guard.ts): after each step the checked
// tensors (parameters, BatchNorm running statistics, optimiser state) are copied end to end into
// one buffer `x` (or a few, each under the adapter's per-buffer limit: one dispatch per buffer)
// and a dispatch marks the first one holding NaN or Inf; the step's scalars are copied beside
// the mark, so one readback returns both. (One dispatch per tensor cost ~3 ms each on a
// CPU adapter: ~0.4 s for ResNet18's 124 tensors; the copies cost almost nothing.)
// reset: flags[0] = 0xffffffff (no non-finite tensor seen).
// check_all: workgroup t scans tensor t of this buffer, elements offsets[t] .. offsets[t+1]-1 of
//   x, WG threads striding by WG; flags[0] = min(flags[0], first + t) if any is NaN or +-Inf: the
//   lowest index over all buffers, i.e. the first tensor in the host's order, whatever order the
//   workgroups ran in.
// The test is on the bits (exponent all ones) because WGSL lets a compiler assume that floats are
// finite, which can fold `x != x` or `abs(x) > F32_MAX` to false.
// Bindings: x (read, the tensors' bits), offsets (read, count + 1 prefix sums), flags (read_write,
// atomic u32). Dispatch: check_all [count] workgroups of WG threads per buffer; reset [1].

override WG: u32 = 64u;

struct Params {
  count: u32,
  // Index of this buffer's first tensor among all checked ones.
  first: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> flags: array<atomic<u32>>;

@compute @workgroup_size(1)
fn reset() {
  atomicStore(&flags[0], 0xffffffffu);
}

@compute @workgroup_size(WG)
fn check_all(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.x;
  if (t >= p.count) { return; }
  let end = offsets[t + 1u];
  for (var i = offsets[t] + lid.x; i < end; i += WG) {
    if ((x[i] & 0x7f800000u) == 0x7f800000u) {
      atomicMin(&flags[0], p.first + t);
      return;
    }
  }
}
