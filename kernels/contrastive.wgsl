// Contrastive losses on 2N samples (N images x 2 views): sample r < N is z1[r], sample r >= N is
// z2[z2_row0 + r - N] (z2_row0 = N binds one stacked [2N, D] tensor as both z1 and z2), and the
// partner (other view) of r is (r + N) mod 2N. S[r,c] = z_r . z_c / tau. Per anchor r:
//   lse_r  = log sum_{c != r} exp(S[r,c])
//   loss_r = w_supcon * (lse_r - mean_{p in P(r)} S[r,p]) + w_simclr * (lse_r - S[r, partner])
// with P(r) = samples c != r of r's label (labels[c mod N]); without labels only the partner.
// Backward, with g_r = dL/dloss_r and A = w_supcon + w_simclr:
//   W[r,c] = A (g_r e^{S[r,c]-lse_r} + g_c e^{S[r,c]-lse_c}) - w_simclr [c partner of r] (g_r + g_c)
//            - w_supcon [c in P(r)] (g_r / |P(r)| + g_c / |P(c)|),   W[r,r] = 0   (S is symmetric)
//   dz_r   = (1/tau) sum_c W[r,c] z_c
// Entry points and dispatch:
//   similarity:   sim_out = S [2N, 2N]; 8x8 threads, each a 4x4 block of S (no workgroup memory,
//                 as matmul's register_blocked); workgroups (ceil(2N / 32), ceil(2N / 32))
//   row_losses:   loss [2N], stats_out [2N, 2] = (lse_r, 1/|P(r)|) from sim, labels;
//                 one invocation per anchor, WG per workgroup, 2-D folded
//   pair_weights: weights_out = W [2N, 2N] from sim, stats, g [2N], labels; one invocation
//                 per element, WG per workgroup, 2-D folded
//   feature_grad: dz[o, :] = dz_{row_base + o} for o < rows, from weights, z1, z2; 8x8 threads,
//                 each a 4x4 block of dz; workgroups (ceil(D / 32), ceil(rows / 32))

override WG: u32 = 64u;

struct Params {
  n: u32,          // images N; 2N samples
  d: u32,          // feature size D
  z2_row0: u32,    // row of z2 holding sample N
  row_base: u32,   // feature_grad: first sample whose gradient is written
  rows: u32,       // feature_grad: number of samples written
  has_labels: u32, // 0: P(r) is the partner only and labels is never read (bind any buffer)
  inv_tau: f32,
  w_supcon: f32,
  w_simclr: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z1: array<f32>;
@group(0) @binding(2) var<storage, read> z2: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<i32>;
@group(0) @binding(4) var<storage, read> sim: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> g: array<f32>;
@group(0) @binding(7) var<storage, read> weights: array<f32>;
@group(0) @binding(8) var<storage, read_write> sim_out: array<f32>;
@group(0) @binding(9) var<storage, read_write> loss: array<f32>;
@group(0) @binding(10) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(11) var<storage, read_write> weights_out: array<f32>;
@group(0) @binding(12) var<storage, read_write> dz: array<f32>;

//! include "lib/indexing.wgsl"

fn feature(sample: u32, k: u32) -> f32 {
  if (sample < p.n) { return z1[sample * p.d + k]; }
  return z2[(p.z2_row0 + sample - p.n) * p.d + k];
}

fn partner(r: u32) -> u32 {
  return (r + p.n) % (2u * p.n);
}

// c in P(r) for c != r: the same image, or the same label when labels are given.
fn is_positive(r: u32, c: u32) -> bool {
  let ir = r % p.n;
  let ic = c % p.n;
  return ir == ic || (p.has_labels != 0u && labels[ir] == labels[ic]);
}

// Features k of four samples.
fn features4(samples: vec4u, k: u32) -> vec4f {
  return vec4f(feature(samples.x, k), feature(samples.y, k), feature(samples.z, k), feature(samples.w, k));
}

// Four indices from i0, clamped onto last so inner loops need no bounds checks (the duplicates
// are computed but not stored).
fn block4(i0: u32, last: u32) -> vec4u {
  return min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u), vec4u(last));
}

// S[row, c0 + j] = v[j] / tau for the j with c0 + j < 2N, when row < 2N.
fn store_sim(row: u32, c0: u32, v: vec4f) {
  let m = 2u * p.n;
  if (row >= m) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (c0 + j < m) { sim_out[row * m + c0 + j] = v[j] * p.inv_tau; }
  }
}

@compute @workgroup_size(8, 8)
fn similarity(@builtin(global_invocation_id) gid: vec3u) {
  let m = 2u * p.n;
  let c0 = gid.x * 4u;
  let r0 = gid.y * 4u;
  if (r0 >= m || c0 >= m) { return; }
  let rs = block4(r0, m - 1u);
  let cs = block4(c0, m - 1u);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < p.d; k++) {
    let cv = features4(cs, k);
    let rv = features4(rs, k);
    acc0 += rv.x * cv;
    acc1 += rv.y * cv;
    acc2 += rv.z * cv;
    acc3 += rv.w * cv;
  }
  store_sim(r0, c0, acc0);
  store_sim(r0 + 1u, c0, acc1);
  store_sim(r0 + 2u, c0, acc2);
  store_sim(r0 + 3u, c0, acc3);
}

@compute @workgroup_size(WG)
fn row_losses(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = linear_id(gid, nwg);
  let m = 2u * p.n;
  if (r >= m) { return; }
  let base = r * m;
  let s_partner = sim[base + partner(r)];
  // Max over c != r (the partner always qualifies, so it seeds the max).
  var top = s_partner;
  for (var c = 0u; c < m; c++) {
    if (c != r) { top = max(top, sim[base + c]); }
  }
  var total = 0.0;
  var pos_sum = 0.0;
  var pos_count = 0u;
  for (var c = 0u; c < m; c++) {
    if (c == r) { continue; }
    let s = sim[base + c];
    total += exp(s - top);
    if (is_positive(r, c)) {
      pos_sum += s;
      pos_count++;
    }
  }
  let lse = top + log(total);
  let inv_count = 1.0 / f32(pos_count);
  loss[r] = p.w_supcon * (lse - pos_sum * inv_count) + p.w_simclr * (lse - s_partner);
  stats_out[2u * r] = lse;
  stats_out[2u * r + 1u] = inv_count;
}

@compute @workgroup_size(WG)
fn pair_weights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let m = 2u * p.n;
  if (i >= m * m) { return; }
  let r = i / m;
  let c = i % m;
  if (r == c) {
    weights_out[i] = 0.0;
    return;
  }
  let s = sim[i];
  let g_r = g[r];
  let g_c = g[c];
  var w = (p.w_supcon + p.w_simclr) * (g_r * exp(s - stats[2u * r]) + g_c * exp(s - stats[2u * c]));
  if (c == partner(r)) { w -= p.w_simclr * (g_r + g_c); }
  if (is_positive(r, c)) { w -= p.w_supcon * (g_r * stats[2u * r + 1u] + g_c * stats[2u * c + 1u]); }
  weights_out[i] = w;
}

// dz[o * D + k0 + j] = v[j] / tau for the j with k0 + j < D, when o < rows.
fn store_grad(o: u32, k0: u32, v: vec4f) {
  if (o >= p.rows) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (k0 + j < p.d) { dz[o * p.d + k0 + j] = v[j] * p.inv_tau; }
  }
}

@compute @workgroup_size(8, 8)
fn feature_grad(@builtin(global_invocation_id) gid: vec3u) {
  let k0 = gid.x * 4u;
  let o0 = gid.y * 4u;
  if (o0 >= p.rows || k0 >= p.d) { return; }
  let m = 2u * p.n;
  let ws = (vec4u(p.row_base) + block4(o0, p.rows - 1u)) * m; // rows of W
  let ks = block4(k0, p.d - 1u);
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var c = 0u; c < m; c++) {
    let zc = vec4f(feature(c, ks.x), feature(c, ks.y), feature(c, ks.z), feature(c, ks.w));
    acc0 += weights[ws.x + c] * zc;
    acc1 += weights[ws.y + c] * zc;
    acc2 += weights[ws.z + c] * zc;
    acc3 += weights[ws.w + c] * zc;
  }
  store_grad(o0, k0, acc0);
  store_grad(o0 + 1u, k0, acc1);
  store_grad(o0 + 2u, k0, acc2);
  store_grad(o0 + 3u, k0, acc3);
}
