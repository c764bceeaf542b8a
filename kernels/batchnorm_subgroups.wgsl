// Batch normalisation's two partial passes with subgroup operations, for devices with the
// `subgroups` feature (src/ops/batchnorm.ts picks them there; kernels/batchnorm.wgsl has the
// formulas and the fallback). Each lane walks its values as the plain passes do, then the
// workgroup's lanes are combined on the chip: subgroupAdd within each subgroup, and the subgroups'
// results through workgroup memory. So each workgroup writes one partial instead of WG, and the
// finalize passes (batchnorm.stats_finalize with GROUPED, batchnorm.grad_finalize) loop over
// G partials per channel instead of G * WG.
// The subgroup size varies by device (and may not divide WG), and WGSL does not say which
// invocations share a subgroup: so each subgroup's elected invocation takes the next free slot
// from an atomic counter rather than computing a slot from its index.

enable subgroups;

//! include "lib/batchnorm_walk.wgsl"

var<workgroup> slot_count: atomic<u32>;
var<workgroup> slots: array<vec3f, WG>;

// Stores one subgroup's value in the next free slot (called by one invocation per subgroup).
fn put_slot(v: vec3f) {
  slots[atomicAdd(&slot_count, 1u)] = v;
}

// (count, mean, M2) of the lanes' values, combined: the subgroup's by subgroupAdd, then the
// workgroup's from the slots by invocation 0 (the only one whose result is used).
@compute @workgroup_size(WG)
fn stats_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = walk_start(wid, lid, nwg);
  let mm = lane_moments(w);
  let n = f32(lane_len(w.lane, w.lanes));
  // Means relative to the channel's first value, as in lane_moments; an empty lane adds zeros.
  let sn = subgroupAdd(n);
  let smean = subgroupAdd(n * mm.x) / max(sn, 1.0);
  let d = mm.x - smean;
  let sm2 = subgroupAdd(mm.y + n * d * d);
  if (subgroupElect()) { put_slot(vec3f(sn, smean, sm2)); }
  workgroupBarrier();
  if (lid.x != 0u) { return; }
  let k = atomicLoad(&slot_count);
  var total = 0.0;
  var sum = 0.0;
  for (var i = 0u; i < k; i++) {
    total += slots[i].x;
    sum += slots[i].x * slots[i].y;
  }
  let mean = sum / max(total, 1.0);
  var m2 = 0.0;
  for (var i = 0u; i < k; i++) {
    let e = slots[i].y - mean;
    m2 += slots[i].z + slots[i].x * e * e;
  }
  put_partial(w.c * nwg.x + wid.x, vec2f(mean, m2));
}

// Sums gg and gg * (x - mean) over the workgroup's lanes (gg into out under WRITE_GATED).
@compute @workgroup_size(WG)
fn grad_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = walk_start(wid, lid, nwg);
  let sums = subgroupAdd(lane_grad_sums(w));
  if (subgroupElect()) { put_slot(vec3f(sums, 0.0)); }
  workgroupBarrier();
  if (lid.x != 0u) { return; }
  var total = vec2f(0.0);
  for (var i = 0u; i < atomicLoad(&slot_count); i++) { total += slots[i].xy; }
  put_partial(w.c * nwg.x + wid.x, total);
}
