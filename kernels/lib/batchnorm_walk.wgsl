// Batch normalisation's shared declarations (kernels/batchnorm.wgsl's header has the formulas
// and the dispatch): the overrides, parameters and bindings the partial passes use, and a lane's
// walk over its channel's values. (batchnorm.wgsl declares the other bindings: what ships to
// browsers stays smaller.)
// Included by batchnorm.wgsl and batchnorm_subgroups.wgsl, whose partial passes must walk alike.

override WG: u32 = 64u;
override RELU: bool = false;
override WRITE_GATED: bool = false;

struct Params {
  channels: u32,
  hw: u32,
  count: u32,
  // Partials per channel, read by the finalize passes: one per lane of the partial passes
  // (G * WG), or one per workgroup (G) from batchnorm_subgroups.wgsl.
  lanes: u32,
  momentum: f32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(6) var<storage, read> stats: array<f32>;
@group(0) @binding(11) var<storage, read_write> partial_out: array<f32>;
@group(0) @binding(16) var<storage, read_write> out: array<f32>;

// A lane's walk over its values of channel c: value j = b * hw + s lives at
// b * C * hw + c * hw + s; stepping j by `lanes` adds whole planes and a remainder to s, with a
// carry from s into the next batch item. Only the start divides.
struct Walk {
  c: u32,
  lane: u32,
  lanes: u32,
  s: u32,
  addr: u32,
  step_s: u32,
  step_addr: u32,
}

fn walk_start(wid: vec3u, lid: vec3u, nwg: vec3u) -> Walk {
  let lane = wid.x * WG + lid.x;
  let lanes = nwg.x * WG;
  let s = lane % p.hw;
  let step_s = lanes % p.hw;
  let plane = p.channels * p.hw;
  return Walk(wid.y, lane, lanes, s, (lane / p.hw) * plane + wid.y * p.hw + s, step_s, (lanes / p.hw) * plane + step_s);
}

fn walk_next(w: Walk) -> Walk {
  var n = w;
  n.s += w.step_s;
  n.addr += w.step_addr;
  if (n.s >= p.hw) {
    n.s -= p.hw;
    n.addr += (p.channels - 1u) * p.hw;
  }
  return n;
}

// How many values lane l of `lanes` takes: j = l, l + lanes, ... below count.
fn lane_len(l: u32, lanes: u32) -> u32 {
  return select(0u, (p.count - l + lanes - 1u) / lanes, l < p.count);
}

// The most values any lane takes (lane 0's count): the loops below run this many times in every
// lane, with shorter lanes idle in the last trip, so all lanes leave a loop together and the
// divergence left is an if inside one trip. The subgroup passes call subgroupAdd right after: a
// loop whose lanes leave at different trips is the harder case for a driver to reconverge from
// (formally, Vulkan promises either only with maximal reconvergence; test/subgroups checks it).
fn uniform_trips(w: Walk) -> u32 {
  return lane_len(0u, w.lanes);
}

fn gated(i: u32) -> f32 {
  if (RELU) { return select(0.0, g[i], y[i] > 0.0); }
  return g[i];
}

// Mean and M2 = sum (x - mean)^2 of one lane's values, two-pass, relative to the channel's first
// value so that a large common offset costs no precision in the float32 sums.
fn lane_moments(start: Walk) -> vec2f {
  let n = lane_len(start.lane, start.lanes);
  let trips = uniform_trips(start);
  let shift = x[start.c * p.hw];
  var w = start;
  var sum = 0.0;
  for (var t = 0u; t < trips; t++) {
    if (t < n) {
      sum += x[w.addr] - shift;
      w = walk_next(w);
    }
  }
  let m = sum / max(f32(n), 1.0);
  w = start;
  var m2 = 0.0;
  for (var t = 0u; t < trips; t++) {
    if (t < n) {
      let d = x[w.addr] - shift - m;
      m2 += d * d;
      w = walk_next(w);
    }
  }
  return vec2f(m, m2);
}

// One lane's sum gg and sum gg * (x - mean) (gg the gated gradient); gg itself into out under
// WRITE_GATED.
fn lane_grad_sums(start: Walk) -> vec2f {
  let mean = stats[start.c];
  let n = lane_len(start.lane, start.lanes);
  var w = start;
  var sg = 0.0;
  var sgx = 0.0;
  let trips = uniform_trips(start);
  for (var t = 0u; t < trips; t++) {
    if (t < n) {
      let gg = gated(w.addr);
      if (WRITE_GATED) { out[w.addr] = gg; }
      sg += gg;
      sgx += gg * (x[w.addr] - mean);
      w = walk_next(w);
    }
  }
  return vec2f(sg, sgx);
}

// Partial i of the [C, partials, 2] array.
fn put_partial(i: u32, v: vec2f) {
  partial_out[2u * i] = v.x;
  partial_out[2u * i + 1u] = v.y;
}
