// The register-blocked workgroup GEMM body for GPUs, shared by matmul.blocked and
// conv2d.*_blocked: the same contract as lib/gemm_tiled.wgsl (the including kernel defines
// mm_load_a, mm_load_b and mm_store; one 64x64 tile of C = A B per 16x16 workgroup; K stepped 16
// at a time; calls from uniform control flow, they hold barriers), but each invocation keeps a
// contiguous 4x4 block, rows m0 + 4 lid.y + i and columns n0 + 4 lid.x + j, and workgroup memory
// holds vec4s along m and n. So each step of k reads one vec4 of A and one of B for 16
// multiply-adds, where the strided tiled body reads 8 scalars: a quarter of the shared-memory
// instructions, which bound the tiled body on GPUs (TF.js's makeMatMulPackedSource works so).
// Tile loads are the tiled body's (same invocation -> element map, so the including kernel's
// per-invocation column decomposition holds: without b_k_major, invocation t loads B column
// n0 + t % 64 only).

const MB_TILE: u32 = 64u;
const MB_KSTEP: u32 = 16u;
// vec4s per row of k in the shared tiles: 16 plus one of padding, so that invocations storing
// down a column (the loads along K) spread over the banks.
const MB_ROW: u32 = MB_TILE / 4u + 1u;

var<workgroup> mb_tile_a: array<vec4f, MB_KSTEP * MB_ROW>; // [k][m / 4], component m % 4
var<workgroup> mb_tile_b: array<vec4f, MB_KSTEP * MB_ROW>; // [k][n / 4], component n % 4

// acc[i][j] += sum over k in [k_begin, k_end) of A[m0 + 4 lid.y + i, k] * B[k, n0 + 4 lid.x + j].
fn mb_accumulate(acc: ptr<function, array<vec4f, 4>>, lid: vec3u, m0: u32, n0: u32, m_end: u32, n_end: u32, k_begin: u32, k_end: u32, a_m_major: bool, b_k_major: bool) {
  let tid = lid.y * 16u + lid.x;
  for (var k0 = k_begin; k0 < k_end; k0 += MB_KSTEP) {
    for (var s = 0u; s < 4u; s++) {
      let l = tid + 256u * s;
      var ka = l % MB_KSTEP;
      var ma = l / MB_KSTEP;
      if (a_m_major) { ka = l / MB_TILE; ma = l % MB_TILE; }
      var va = 0.0;
      if (m0 + ma < m_end && k0 + ka < k_end) { va = mm_load_a(m0 + ma, k0 + ka); }
      mb_tile_a[ka * MB_ROW + ma / 4u][ma % 4u] = va;
      var kb = l / MB_TILE;
      var nb = l % MB_TILE;
      if (b_k_major) { kb = l % MB_KSTEP; nb = l / MB_KSTEP; }
      var vb = 0.0;
      if (n0 + nb < n_end && k0 + kb < k_end) { vb = mm_load_b(k0 + kb, n0 + nb); }
      mb_tile_b[kb * MB_ROW + nb / 4u][nb % 4u] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < MB_KSTEP; kk++) {
      let av = mb_tile_a[kk * MB_ROW + lid.y];
      let bv = mb_tile_b[kk * MB_ROW + lid.x];
      (*acc)[0] += av.x * bv;
      (*acc)[1] += av.y * bv;
      (*acc)[2] += av.z * bv;
      (*acc)[3] += av.w * bv;
    }
    workgroupBarrier();
  }
}

// Stores the invocation's 4x4 block, what lies inside [0, m_end) x [0, n_end).
fn mb_store_tile(acc: array<vec4f, 4>, lid: vec3u, m0: u32, n0: u32, m_end: u32, n_end: u32) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + 4u * lid.y + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + 4u * lid.x + j;
      if (m < m_end && n < n_end) { mm_store(m, n, acc[i][j]); }
    }
  }
}
