// Batched GEMM: out[z, m, n] = sum_{r < R} sum_{k < K} opA(z, r)[m, k] * opB(z, r)[k, n], where
// opA(z, r) is the [M, K] matrix at a[z * a_z + r * a_r] (stored [K, M] and read transposed when
// TA), likewise opB at b[z * b_z + r * b_r] ([N, K] when TB). A batch stride of 0 broadcasts an
// operand; R > 1 sums products over a batch (the gradient of a broadcast operand). When BIAS,
// bias[n] is added to every out[z, m, n] (the linear layer's epilogue). Output is contiguous
// [Z, M, N].
// Bindings: p, a, b, bias (bind any buffer, e.g. a, when BIAS is off), out.
// Dispatch: workgroups (ceil(N / tile columns), ceil(M / tile rows), Z). Three variants:
//   register_blocked: 8x8 threads, each an 8x4 block of outputs in registers (64 rows x 32
//             columns per workgroup), no workgroup memory or barriers; suits CPU rasterisers
//             (lavapipe, SwiftShader), where 8x4 measured ~1.4x faster than 4x4.
//   tiled:    16x16 threads, 64x64 outputs per workgroup, K stepped 16 at a time through
//             workgroup memory; each thread holds a 4x4 block strided by 16; suits GPUs. Its
//             body is lib/gemm_tiled.wgsl, shared with conv2d's tiled variants.
//             With the override BLOCKED, the body's register-blocked form (contiguous 4x4
//             blocks, vec4 reads of workgroup memory): the host's 'blocked' variant, for GPUs.
//   skinny:   64 threads along N, each a 4x4 block (4 rows x 256 columns per workgroup), for
//             few rows (M <= 64): the register kernel's 64-row workgroups would mostly compute
//             clamped duplicates of the last row (M = 8 on lavapipe: 5x less CPU time).
//   tiled_splitk: the tiled body over one of `slices` slices of the summed range (r, k),
//             flattened to r * K + k, `slice_len` long; workgroups (.., .., Z * slices),
//             z = wid.z / slices; the host's 'splitk' variant runs it BLOCKED.
//             Writes partial sums out[slice, z, m, n] (the bias in slice 0 only), which the host
//             then sums over slices (no float atomics). For few output tiles and a long K (a
//             weight gradient: M x N = 128 x 64, K = B*H*W): one workgroup per tile would leave
//             most of a GPU idle.

override TA: bool = false;
override TB: bool = false;
override BIAS: bool = false;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  R: u32,
  a_z: u32,
  a_r: u32,
  b_z: u32,
  b_r: u32,
  // tiled_splitk only (others get slices = 1).
  slices: u32,
  slice_len: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn load_a(base: u32, m: u32, k: u32) -> f32 {
  if (TA) { return a[base + k * p.M + m]; }
  return a[base + m * p.K + k];
}

fn load_b(base: u32, k: u32, n: u32) -> f32 {
  if (TB) { return b[base + n * p.K + k]; }
  return b[base + k * p.N + n];
}

// B[k, n] for the four columns ni (one register block's row of B).
fn load_b4(base: u32, k: u32, ni: vec4u) -> vec4f {
  return vec4f(load_b(base, k, ni.x), load_b(base, k, ni.y), load_b(base, k, ni.z), load_b(base, k, ni.w));
}

fn epilogue(v: f32, n: u32) -> f32 {
  if (BIAS) { return v + bias[n]; }
  return v;
}

// ---- register-blocked ----

@compute @workgroup_size(8, 8)
fn register_blocked(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 8u;
  let z = gid.z;
  // Rows and columns past the edge are clamped onto the last one, so the inner loop needs no
  // bounds checks; their duplicate results are not stored.
  let last_m = p.M - 1u;
  let ni = min(vec4u(n0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.N - 1u));
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  var acc4 = vec4f(0.0);
  var acc5 = vec4f(0.0);
  var acc6 = vec4f(0.0);
  var acc7 = vec4f(0.0);
  for (var r = 0u; r < p.R; r++) {
    let ab = z * p.a_z + r * p.a_r;
    let bb = z * p.b_z + r * p.b_r;
    for (var k = 0u; k < p.K; k++) {
      let bv = load_b4(bb, k, ni);
      acc0 += load_a(ab, min(m0, last_m), k) * bv;
      acc1 += load_a(ab, min(m0 + 1u, last_m), k) * bv;
      acc2 += load_a(ab, min(m0 + 2u, last_m), k) * bv;
      acc3 += load_a(ab, min(m0 + 3u, last_m), k) * bv;
      acc4 += load_a(ab, min(m0 + 4u, last_m), k) * bv;
      acc5 += load_a(ab, min(m0 + 5u, last_m), k) * bv;
      acc6 += load_a(ab, min(m0 + 6u, last_m), k) * bv;
      acc7 += load_a(ab, min(m0 + 7u, last_m), k) * bv;
    }
  }
  let ob = z * p.M * p.N;
  store_row(ob, m0, n0, acc0);
  store_row(ob, m0 + 1u, n0, acc1);
  store_row(ob, m0 + 2u, n0, acc2);
  store_row(ob, m0 + 3u, n0, acc3);
  store_row(ob, m0 + 4u, n0, acc4);
  store_row(ob, m0 + 5u, n0, acc5);
  store_row(ob, m0 + 6u, n0, acc6);
  store_row(ob, m0 + 7u, n0, acc7);
}

// Stores out[z, m, n0 .. n0 + 3] = v, skipping what lies past the edges.
fn store_row(ob: u32, m: u32, n0: u32, v: vec4f) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < p.N) { out[ob + m * p.N + n0 + j] = epilogue(v[j], n0 + j); }
  }
}

// ---- skinny (few rows) ----

@compute @workgroup_size(64)
fn skinny(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let z = gid.z;
  if (n0 >= p.N) { return; }
  let last_m = p.M - 1u;
  let ni = min(vec4u(n0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.N - 1u));
  let mi = min(vec4u(m0) + vec4u(0u, 1u, 2u, 3u), vec4u(last_m));
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var r = 0u; r < p.R; r++) {
    let ab = z * p.a_z + r * p.a_r;
    let bb = z * p.b_z + r * p.b_r;
    for (var k = 0u; k < p.K; k++) {
      let bv = load_b4(bb, k, ni);
      acc0 += load_a(ab, mi.x, k) * bv;
      acc1 += load_a(ab, mi.y, k) * bv;
      acc2 += load_a(ab, mi.z, k) * bv;
      acc3 += load_a(ab, mi.w, k) * bv;
    }
  }
  let ob = z * p.M * p.N;
  store_row(ob, m0, n0, acc0);
  store_row(ob, m0 + 1u, n0, acc1);
  store_row(ob, m0 + 2u, n0, acc2);
  store_row(ob, m0 + 3u, n0, acc3);
}

// ---- workgroup-memory tiled (the shared GEMM body, lib/gemm_tiled.wgsl) ----

//! include "lib/gemm_tiled.wgsl"

// Where the product being summed (r of batch z) and the output of batch z start.
var<private> a_base: u32;
var<private> b_base: u32;
var<private> out_base: u32;
// The split-K slice being computed: only slice 0 adds the bias, so the sum of slices has it once.
var<private> slice: u32;

fn mm_load_a(m: u32, k: u32) -> f32 { return load_a(a_base, m, k); }
fn mm_load_b(k: u32, n: u32, q: u32) -> f32 { return load_b(b_base, k, n); }
fn mm_store(m: u32, n: u32, v: f32) {
  var r = v;
  if (slice == 0u) { r = epilogue(v, n); }
  out[out_base + m * p.N + n] = r;
}

@compute @workgroup_size(16, 16)
fn tiled(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let m0 = wid.y * MM_TILE;
  let n0 = wid.x * MM_TILE;
  let z = wid.z;
  var acc: array<vec4f, 4>;
  for (var r = 0u; r < p.R; r++) {
    a_base = z * p.a_z + r * p.a_r;
    b_base = z * p.b_z + r * p.b_r;
    mm_accumulate(&acc, lid, m0, n0, p.M, p.N, 0u, p.K, TA, TB);
  }
  out_base = z * p.M * p.N;
  mm_store_tile(acc, lid, m0, n0, p.M, p.N);
}

@compute @workgroup_size(16, 16)
fn tiled_splitk(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let m0 = wid.y * MM_TILE;
  let n0 = wid.x * MM_TILE;
  let z = wid.z / p.slices;
  let s = wid.z % p.slices;
  slice = s;
  // This slice's part [t0, t1) of the flattened range r * K + k, walked one product r at a time.
  let t0 = s * p.slice_len;
  let t1 = min(t0 + p.slice_len, p.R * p.K);
  var acc: array<vec4f, 4>;
  for (var r = t0 / p.K; r * p.K < t1; r++) {
    a_base = z * p.a_z + r * p.a_r;
    b_base = z * p.b_z + r * p.b_r;
    let k_begin = max(t0, r * p.K) - r * p.K;
    let k_end = min(t1, (r + 1u) * p.K) - r * p.K;
    mm_accumulate(&acc, lid, m0, n0, p.M, p.N, k_begin, k_end, TA, TB);
  }
  let batches = nwg.z / p.slices;
  out_base = (s * batches + z) * p.M * p.N;
  mm_store_tile(acc, lid, m0, n0, p.M, p.N);
}
