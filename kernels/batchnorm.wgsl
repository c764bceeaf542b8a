// Batch normalisation of NCHW tensors: per channel c, over its count = B*H*W values,
//   out = (x - mean_c) * invstd_c * weight_c + bias_c   (+ residual when RESIDUAL, then max(., 0) when RELU),
//   invstd_c = 1 / sqrt(var_c + eps), var_c the biased variance (train) or running_var (eval).
// Train forward: stats_partial -> stats_finalize -> [update_running] -> normalize.
// Eval forward:  eval_stats -> normalize.
// Backward:      grad_partial -> grad_finalize -> grad_input, where gg = g gated by y > 0 under
//   RELU, dbias = sum gg, dweight = sum gg * xhat, and
//   dx = weight * invstd * (gg - dbias / count - xhat * dweight / count)   (TRAIN)
//   dx = weight * invstd * gg                                              (eval: stats are constants)
// A residual block's end, relu(bn(x) + shortcut), is one normalize pass with RESIDUAL. Its backward
// needs gg twice more (it is the shortcut's gradient, and grad_input's input), so grad_partial,
// which visits every value once anyway, writes gg to out under WRITE_GATED; grad_input then runs
// on gg with RELU off, reading neither g nor y.
// stats is [3, C]: rows mean, invstd, biased variance. partial is [C, lanes, 2].
// Dispatch: the per-value passes (*_partial, normalize, grad_input) run on a [G, C] grid: the
// G workgroups of row c serve channel c, whose lanes = G * WG invocations take its values
// j = l, l + lanes, l + 2 * lanes, ... (j the flat index over (b, h, w), l the lane). So the
// channel is uniform in a workgroup (per-channel values load once, no per-value division) and
// neighbouring lanes read neighbouring addresses. The partial passes write one (mean, M2) or
// (sum, sum) pair per lane; *_finalize, update_running and eval_stats run one invocation per
// channel on a 1-D grid.

override WG: u32 = 64u;
override RELU: bool = false;
override TRAIN: bool = true;
override RESIDUAL: bool = false;
override WRITE_GATED: bool = false;

struct Params {
  channels: u32,
  hw: u32,
  count: u32,
  // Lanes per channel of the partial passes (their G * WG), read by the finalize passes.
  lanes: u32,
  momentum: f32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read> stats: array<f32>;
@group(0) @binding(7) var<storage, read> partial: array<f32>;
@group(0) @binding(8) var<storage, read> dweight_in: array<f32>;
@group(0) @binding(9) var<storage, read> dbias_in: array<f32>;
@group(0) @binding(10) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(11) var<storage, read_write> partial_out: array<f32>;
@group(0) @binding(12) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(13) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(14) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(15) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(16) var<storage, read_write> out: array<f32>;
@group(0) @binding(17) var<storage, read> residual: array<f32>;

//! include "lib/indexing.wgsl"

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

// Mean and M2 = sum (x - mean)^2 of one lane's values, two-pass, relative to the channel's first
// value so that a large common offset costs no precision in the float32 sums.
@compute @workgroup_size(WG)
fn stats_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let start = walk_start(wid, lid, nwg);
  let n = lane_len(start.lane, start.lanes);
  let shift = x[start.c * p.hw];
  var w = start;
  var sum = 0.0;
  for (var t = 0u; t < n; t++) {
    sum += x[w.addr] - shift;
    w = walk_next(w);
  }
  let m = sum / max(f32(n), 1.0);
  w = start;
  var m2 = 0.0;
  for (var t = 0u; t < n; t++) {
    let d = x[w.addr] - shift - m;
    m2 += d * d;
    w = walk_next(w);
  }
  let at = 2u * (start.c * start.lanes + start.lane);
  partial_out[at] = m;
  partial_out[at + 1u] = m2;
}

// Chan et al.'s pairwise combination of the lanes' (count, mean, M2).
@compute @workgroup_size(WG)
fn stats_finalize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear_id(gid, nwg);
  if (c >= p.channels) { return; }
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var l = 0u; l < min(p.lanes, p.count); l++) {
    let nl = f32(lane_len(l, p.lanes));
    let at = 2u * (c * p.lanes + l);
    let total = n + nl;
    let delta = partial[at] - mean;
    mean += delta * (nl / total);
    m2 += partial[at + 1u] + delta * delta * (n * nl / total);
    n = total;
  }
  let variance = m2 / n;
  stats_out[c] = x[c * p.hw] + mean;
  stats_out[p.channels + c] = 1.0 / sqrt(variance + p.eps);
  stats_out[2u * p.channels + c] = variance;
}

// PyTorch: running = (1 - momentum) * running + momentum * batch, with the unbiased variance.
@compute @workgroup_size(WG)
fn update_running(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear_id(gid, nwg);
  if (c >= p.channels) { return; }
  let n = f32(p.count);
  let unbiased = stats[2u * p.channels + c] * (n / (n - 1.0));
  running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * stats[c];
  running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * unbiased;
}

@compute @workgroup_size(WG)
fn eval_stats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear_id(gid, nwg);
  if (c >= p.channels) { return; }
  stats_out[c] = running_mean[c];
  stats_out[p.channels + c] = 1.0 / sqrt(running_var[c] + p.eps);
  stats_out[2u * p.channels + c] = running_var[c];
}

@compute @workgroup_size(WG)
fn normalize(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var w = walk_start(wid, lid, nwg);
  let scale = stats[p.channels + w.c] * weight[w.c];
  let shift = bias[w.c] - stats[w.c] * scale;
  let n = lane_len(w.lane, w.lanes);
  for (var t = 0u; t < n; t++) {
    var v = x[w.addr] * scale + shift;
    if (RESIDUAL) { v += residual[w.addr]; }
    if (RELU) { v = max(v, 0.0); }
    out[w.addr] = v;
    w = walk_next(w);
  }
}

fn gated(i: u32) -> f32 {
  if (RELU) { return select(0.0, g[i], y[i] > 0.0); }
  return g[i];
}

// Per lane: sum gg and sum gg * (x - mean) (times invstd once, in grad_finalize); gg itself into
// out under WRITE_GATED.
@compute @workgroup_size(WG)
fn grad_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var w = walk_start(wid, lid, nwg);
  let at = 2u * (w.c * w.lanes + w.lane);
  let mean = stats[w.c];
  let n = lane_len(w.lane, w.lanes);
  var sg = 0.0;
  var sgx = 0.0;
  for (var t = 0u; t < n; t++) {
    let gg = gated(w.addr);
    if (WRITE_GATED) { out[w.addr] = gg; }
    sg += gg;
    sgx += gg * (x[w.addr] - mean);
    w = walk_next(w);
  }
  partial_out[at] = sg;
  partial_out[at + 1u] = sgx;
}

@compute @workgroup_size(WG)
fn grad_finalize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear_id(gid, nwg);
  if (c >= p.channels) { return; }
  var sg = 0.0;
  var sgx = 0.0;
  for (var l = 0u; l < min(p.lanes, p.count); l++) {
    let at = 2u * (c * p.lanes + l);
    sg += partial[at];
    sgx += partial[at + 1u];
  }
  dbias[c] = sg;
  dweight[c] = sgx * stats[p.channels + c];
}

// dx = a * gg - k_x * (x - mean) - k_0, the three terms' per-channel factors computed once.
@compute @workgroup_size(WG)
fn grad_input(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var w = walk_start(wid, lid, nwg);
  let invstd = stats[p.channels + w.c];
  let a = weight[w.c] * invstd;
  var mean = 0.0;
  var k_x = 0.0;
  var k_0 = 0.0;
  if (TRAIN) {
    let inv_n = 1.0 / f32(p.count);
    mean = stats[w.c];
    // a * (xhat * dweight / count) with xhat = (x - mean) * invstd.
    k_x = a * invstd * dweight_in[w.c] * inv_n;
    k_0 = a * dbias_in[w.c] * inv_n;
  }
  let n = lane_len(w.lane, w.lanes);
  for (var t = 0u; t < n; t++) {
    out[w.addr] = a * gated(w.addr) - k_x * (x[w.addr] - mean) - k_0;
    w = walk_next(w);
  }
}
