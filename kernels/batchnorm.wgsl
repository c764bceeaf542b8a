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
// (sum, sum) pair per lane (kernels/batchnorm_subgroups.wgsl's variants, on devices with
// subgroups: one per workgroup); *_finalize, update_running and eval_stats run one invocation per
// channel on a 1-D grid.

//! include "lib/batchnorm_walk.wgsl"
//! include "lib/indexing.wgsl"

// stats_finalize: the partials are per workgroup (the subgroup variant), not per lane.
override GROUPED: bool = false;
override TRAIN: bool = true;
override RESIDUAL: bool = false;

@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(7) var<storage, read> partial: array<f32>;
@group(0) @binding(8) var<storage, read> dweight_in: array<f32>;
@group(0) @binding(9) var<storage, read> dbias_in: array<f32>;
@group(0) @binding(10) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(12) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(13) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(14) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(15) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(17) var<storage, read> residual: array<f32>;

@compute @workgroup_size(WG)
fn stats_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = walk_start(wid, lid, nwg);
  put_partial(w.c * w.lanes + w.lane, lane_moments(w));
}

// How many values partial l of the p.lanes per channel covers: one lane's, or under GROUPED one
// workgroup's (batchnorm_subgroups.stats_partial: p.lanes = G partials of WG lanes each, lane
// k taking j = k, k + G * WG, ...).
fn partial_len(l: u32) -> u32 {
  if (!GROUPED) { return lane_len(l, p.lanes); }
  let lanes = p.lanes * WG;
  let rem = p.count % lanes;
  return (p.count / lanes) * WG + min(WG, rem - min(rem, l * WG));
}

// Chan et al.'s pairwise combination of the partials' (count, mean, M2).
@compute @workgroup_size(WG)
fn stats_finalize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear_id(gid, nwg);
  if (c >= p.channels) { return; }
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var l = 0u; l < min(p.lanes, p.count); l++) {
    let nl = f32(partial_len(l));
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

// Per lane: sum gg and sum gg * (x - mean) (times invstd once, in grad_finalize); gg itself into
// out under WRITE_GATED.
@compute @workgroup_size(WG)
fn grad_partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = walk_start(wid, lid, nwg);
  put_partial(w.c * w.lanes + w.lane, lane_grad_sums(w));
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
