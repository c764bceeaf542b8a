// Device-ceiling kernels for the benchmark (bench/ceilings.ts registers this file as 'ceilings'):
// the best case each adapter can do, not engine kernels.
// gemm_RxC: out[M, N] = at^T b with at stored [K, M] (A transposed) and b [K, N], so that both
//   operands load as vec4 along the contiguous dimension; each invocation keeps an R x C block
//   of outputs in registers (no workgroup memory, no bounds checks: M, N multiples of 8).
//   Bindings: p, at, b, out (vec4 views). Dispatch: (ceil(N / (C * WGX)), ceil(M / (R * WGY))).
// copy: dst[i] = src[i] over n vec4s. Bindings: p, src, dst. Dispatch: grid(n, WG) (2-D folded).
// copy_x4: the same, each invocation copying 4 consecutive vec4s. Dispatch: grid(n / 4, WG).
// Every dispatch passes all of p's fields (M, N, K for gemm, n for copy; the rest 0).

override WGX: u32 = 8u;
override WGY: u32 = 8u;
override WG: u32 = 256u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  // copy: number of vec4s.
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> at: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;

@compute @workgroup_size(WGX, WGY)
fn gemm_4x4(@builtin(global_invocation_id) gid: vec3u) {
  let n4 = gid.x;
  let m4 = gid.y;
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  if (m4 >= M4 || n4 >= N4) { return; }
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let av = at[k * M4 + m4];
    let bv = b[k * N4 + n4];
    c0 += av.x * bv;
    c1 += av.y * bv;
    c2 += av.z * bv;
    c3 += av.w * bv;
  }
  let o = m4 * 4u * N4 + n4;
  out[o] = c0;
  out[o + N4] = c1;
  out[o + 2u * N4] = c2;
  out[o + 3u * N4] = c3;
}

@compute @workgroup_size(WGX, WGY)
fn gemm_8x4(@builtin(global_invocation_id) gid: vec3u) {
  let n4 = gid.x;
  let m8 = gid.y;
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  if (m8 * 2u >= M4 || n4 >= N4) { return; }
  var c: array<vec4f, 8>;
  for (var k = 0u; k < p.K; k++) {
    let a0 = at[k * M4 + m8 * 2u];
    let a1 = at[k * M4 + m8 * 2u + 1u];
    let bv = b[k * N4 + n4];
    c[0] += a0.x * bv;
    c[1] += a0.y * bv;
    c[2] += a0.z * bv;
    c[3] += a0.w * bv;
    c[4] += a1.x * bv;
    c[5] += a1.y * bv;
    c[6] += a1.z * bv;
    c[7] += a1.w * bv;
  }
  let o = m8 * 8u * N4 + n4;
  for (var i = 0u; i < 8u; i++) { out[o + i * N4] = c[i]; }
}

@compute @workgroup_size(WGX, WGY)
fn gemm_4x8(@builtin(global_invocation_id) gid: vec3u) {
  let n8 = gid.x;
  let m4 = gid.y;
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  if (m4 >= M4 || n8 * 2u >= N4) { return; }
  var c: array<vec4f, 8>;
  for (var k = 0u; k < p.K; k++) {
    let av = at[k * M4 + m4];
    let b0 = b[k * N4 + n8 * 2u];
    let b1 = b[k * N4 + n8 * 2u + 1u];
    c[0] += av.x * b0;
    c[1] += av.x * b1;
    c[2] += av.y * b0;
    c[3] += av.y * b1;
    c[4] += av.z * b0;
    c[5] += av.z * b1;
    c[6] += av.w * b0;
    c[7] += av.w * b1;
  }
  let o = m4 * 4u * N4 + n8 * 2u;
  for (var i = 0u; i < 4u; i++) {
    out[o + i * N4] = c[2u * i];
    out[o + i * N4 + 1u] = c[2u * i + 1u];
  }
}

@group(0) @binding(4) var<storage, read> src: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> dst: array<vec4f>;

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < p.n) { dst[i] = src[i]; }
}

@compute @workgroup_size(WG)
fn copy_x4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (gid.x + gid.y * nwg.x * WG) * 4u;
  if (i + 3u < p.n) {
    dst[i] = src[i];
    dst[i + 1u] = src[i + 1u];
    dst[i + 2u] = src[i + 2u];
    dst[i + 3u] = src[i + 3u];
  }
}
