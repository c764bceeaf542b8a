// Attentive CutMix (Walawalkar et al., 2020; docs/TRAINING.md section 4): the top-k cells of a
// g x g grid of the partner's attention are pasted from the partner into image b at the same
// positions. Images x [B, C, H, W]; feat [B, F, FH, FW] is a frozen network's last feature map of
// each image (row j = image j); plan[b] = j is image b's partner.
// Cell (gy, gx) of an n-pixel axis spans [floor(gy * n / g), floor((gy + 1) * n / g)), so sizes
// that g does not divide work (a cell may be empty when g > n); pixel y lies in cell
// floor(((y + 1) * g - 1) / n), the last cell starting at or before it.
//   grid_scores: scores[b, gy, gx] = mean over the feature rows [floor(gy * FH / g),
//                ceil((gy + 1) * FH / g)) and columns likewise (adaptive average pooling, as
//                PyTorch's adaptive_avg_pool2d; the identity when g = FH = FW) of sum_f feat[b, f].
//   choose:      cells[b, c] = 1 when rank(c) < k in partner j's scores, else 0, where rank(c) =
//                #{d : s[d] > s[c] or (s[d] == s[c] and d < c)}: the k highest scores, ties going
//                to the lowest cell index (row-major), so exactly k cells are chosen.
//   weigh:       weights[b] = (sum of the chosen cells' pixel areas) / (H * W): the pasted fraction.
//   paste:       out[b, ch, y, x] = x[j, ch, y, x] when the cell of (y, x) is chosen, else x[b, ch, y, x].
// Bindings: p, feat, scores, plan, cells, weights, x, out. Dispatch (WG threads per workgroup,
// folded into 2-D grids past 65535 workgroups): grid_scores and choose one invocation per
// (b, cell); weigh one per image; paste one per element of out.

override WG: u32 = 64u;

struct AttentiveParams {
  b: u32,
  c: u32,
  h: u32,
  w: u32,
  f: u32,
  fh: u32,
  fw: u32,
  g: u32,
  k: u32,
}

@group(0) @binding(0) var<uniform> p: AttentiveParams;
@group(0) @binding(1) var<storage, read> feat: array<f32>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<storage, read> plan: array<i32>;
@group(0) @binding(4) var<storage, read_write> cells: array<i32>;
@group(0) @binding(5) var<storage, read_write> weights: array<f32>;
@group(0) @binding(6) var<storage, read> x: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"

// [start, end) of grid cell i along an axis of n pixels.
fn cell_span(i: u32, n: u32) -> vec2u {
  return vec2u(i * n / p.g, (i + 1u) * n / p.g);
}

// The cell holding pixel y of an n-pixel axis.
fn cell_of(y: u32, n: u32) -> u32 {
  return ((y + 1u) * p.g - 1u) / n;
}

@compute @workgroup_size(WG)
fn grid_scores(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let gg = p.g * p.g;
  if (i >= p.b * gg) { return; }
  let b = i / gg;
  let gy = (i % gg) / p.g;
  let gx = i % p.g;
  // Adaptive pooling: rows floor(gy * FH / g) .. ceil((gy + 1) * FH / g).
  let y0 = gy * p.fh / p.g;
  let y1 = ((gy + 1u) * p.fh + p.g - 1u) / p.g;
  let x0 = gx * p.fw / p.g;
  let x1 = ((gx + 1u) * p.fw + p.g - 1u) / p.g;
  var total = 0.0;
  for (var f = 0u; f < p.f; f++) {
    let plane = (b * p.f + f) * p.fh * p.fw;
    for (var y = y0; y < y1; y++) {
      for (var xx = x0; xx < x1; xx++) {
        total += feat[plane + y * p.fw + xx];
      }
    }
  }
  scores[i] = total / f32((y1 - y0) * (x1 - x0));
}

@compute @workgroup_size(WG)
fn choose(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let gg = p.g * p.g;
  if (i >= p.b * gg) { return; }
  let c = i % gg;
  let row = u32(plan[i / gg]) * gg;
  let s = scores[row + c];
  var rank = 0u;
  for (var d = 0u; d < gg; d++) {
    let t = scores[row + d];
    rank += select(0u, 1u, t > s || (t == s && d < c));
  }
  cells[i] = select(0, 1, rank < p.k);
}

@compute @workgroup_size(WG)
fn weigh(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = linear_id(gid, nwg);
  if (b >= p.b) { return; }
  let gg = p.g * p.g;
  var area = 0u;
  for (var c = 0u; c < gg; c++) {
    if (cells[b * gg + c] != 0) {
      let ys = cell_span(c / p.g, p.h);
      let xs = cell_span(c % p.g, p.w);
      area += (ys.y - ys.x) * (xs.y - xs.x);
    }
  }
  weights[b] = f32(area) / f32(p.h * p.w);
}

@compute @workgroup_size(WG)
fn paste(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let image = p.c * p.h * p.w;
  if (i >= p.b * image) { return; }
  let b = i / image;
  let y = (i % (p.h * p.w)) / p.w;
  let xx = i % p.w;
  let cell = cell_of(y, p.h) * p.g + cell_of(xx, p.w);
  let j = u32(plan[b]);
  out[i] = select(x[i], x[j * image + i % image], cells[b * p.g * p.g + cell] != 0);
}
