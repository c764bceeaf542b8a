// kNN open-set scoring (docs/OPEN-SET.md section 2), streamed over the train set so no test x train
// matrix is ever stored.
// class_topk: sums[i, c] = sum of the min(k, n_c) largest dot products test[i] . train[j] over
//   the train rows j of class c, for test rows i in [row0, row0 + rows). The train rows of class c
//   are train[order[class_start[c] .. class_start[c + 1])] (the host groups them by class).
//   Each invocation takes 4 test rows and steps through the class 4 train rows at a time: a 4x4
//   block of dot products in registers (4 test loads + 4 train loads per 16 multiply-adds), then
//   each value is offered to its test row's running top-k list, kept in a private array.
//   Dispatch: [x, y, num_classes] workgroups, x/y a folded grid over ceil(rows / 4) invocations,
//   z = class c, so all invocations of a workgroup read the same train rows at the same time.
// score_rows: score[i] = max_c sums[i, c] / sum_c sums[i, c], pred[i] = first argmax_c sums[i, c].
//   Dispatch: one invocation per test row (rows = all test rows, row0 = 0), folded grid.
// Bindings: params, test [Nte, dim], train [Ntr, dim], order [Ntr] i32, class_start [K + 1] i32,
// sums_out / sums_in [Nte, K], score [Nte], pred [Nte] i32.

override WG: u32 = 64u;
/** Largest supported k: the size of the private top-k array. */
const MAX_K: u32 = 32u;
/** Test rows per invocation (the host dispatches ceil(rows / ROWS) invocations). */
const ROWS: u32 = 4u;
/** Below any dot product of finite features: the empty slots of the top-k lists. */
const LOWEST: f32 = -3.0e38;

struct Params {
  rows: u32,
  row0: u32,
  dim: u32,
  num_classes: u32,
  k: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> test: array<f32>;
@group(0) @binding(2) var<storage, read> train: array<f32>;
@group(0) @binding(3) var<storage, read> order: array<i32>;
@group(0) @binding(4) var<storage, read> class_start: array<i32>;
@group(0) @binding(5) var<storage, read_write> sums_out: array<f32>;
@group(0) @binding(6) var<storage, read> sums_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> score: array<f32>;
@group(0) @binding(8) var<storage, read_write> pred: array<i32>;

//! include "lib/indexing.wgsl"

// Offers a value to a descending top-k list and returns the list's k-th value. Comparing with
// that value in a register first keeps the common case (no insertion) off the private array.
fn offer(top: ptr<function, array<f32, MAX_K>>, kth: f32, value: f32) -> f32 {
  if (value <= kth) { return kth; }
  var v = value;
  for (var t = 0u; t < p.k; t++) {
    let held = (*top)[t];
    if (v > held) { (*top)[t] = v; v = held; }
  }
  return (*top)[p.k - 1u];
}

// Classes with fewer than k train rows sum the n rows they have.
fn top_sum(top: ptr<function, array<f32, MAX_K>>, n: u32) -> f32 {
  var s = 0.0;
  for (var t = 0u; t < min(p.k, n); t++) { s += (*top)[t]; }
  return s;
}

@compute @workgroup_size(WG)
fn class_topk(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(workgroup_id) wid: vec3u) {
  let r0 = linear_id(vec3u(gid.x, gid.y, 0u), nwg) * ROWS;
  if (r0 >= p.rows) { return; }
  let c = wid.z;
  let start = u32(class_start[c]);
  let end = u32(class_start[c + 1u]);
  // Test rows past the end repeat the last one (their results are not written).
  let i0 = p.row0 + r0;
  let a = min(vec4u(i0, i0 + 1u, i0 + 2u, i0 + 3u), vec4u(p.row0 + p.rows - 1u)) * p.dim;
  var top0: array<f32, MAX_K>;
  var top1: array<f32, MAX_K>;
  var top2: array<f32, MAX_K>;
  var top3: array<f32, MAX_K>;
  for (var t = 0u; t < MAX_K; t++) {
    top0[t] = LOWEST;
    top1[t] = LOWEST;
    top2[t] = LOWEST;
    top3[t] = LOWEST;
  }
  var kth = vec4f(LOWEST);
  for (var j = start; j < end; j += 4u) {
    let e = end - 1u;
    let b = vec4u(u32(order[j]), u32(order[min(j + 1u, e)]), u32(order[min(j + 2u, e)]), u32(order[min(j + 3u, e)])) * p.dim;
    var s0 = vec4f(0.0);
    var s1 = vec4f(0.0);
    var s2 = vec4f(0.0);
    var s3 = vec4f(0.0);
    for (var d = 0u; d < p.dim; d++) {
      let y = vec4f(train[b.x + d], train[b.y + d], train[b.z + d], train[b.w + d]);
      s0 += test[a.x + d] * y;
      s1 += test[a.y + d] * y;
      s2 += test[a.z + d] * y;
      s3 += test[a.w + d] * y;
    }
    // Slots past the class end (repeats of its last row) are not offered.
    let n = min(4u, end - j);
    for (var t = 0u; t < n; t++) {
      kth.x = offer(&top0, kth.x, s0[t]);
      kth.y = offer(&top1, kth.y, s1[t]);
      kth.z = offer(&top2, kth.z, s2[t]);
      kth.w = offer(&top3, kth.w, s3[t]);
    }
  }
  let n = end - start;
  let o = i0 * p.num_classes + c;
  sums_out[o] = top_sum(&top0, n);
  if (r0 + 1u < p.rows) { sums_out[o + p.num_classes] = top_sum(&top1, n); }
  if (r0 + 2u < p.rows) { sums_out[o + 2u * p.num_classes] = top_sum(&top2, n); }
  if (r0 + 3u < p.rows) { sums_out[o + 3u * p.num_classes] = top_sum(&top3, n); }
}

@compute @workgroup_size(WG)
fn score_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.rows) { return; }
  let base = i * p.num_classes;
  var best = sums_in[base];
  var arg = 0u;
  var total = 0.0;
  for (var c = 0u; c < p.num_classes; c++) {
    let d = sums_in[base + c];
    total += d;
    if (d > best) { best = d; arg = c; }
  }
  score[i] = best / total;
  pred[i] = i32(arg);
}
