// Flat invocation index of a 1-D problem dispatched on a 2-D grid of WG-wide workgroups
// (runtime/gpu.ts grid() folds more than 65535 workgroups into rows of x). The including kernel
// declares `override WG` (its workgroup size).
fn linear_id(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}
