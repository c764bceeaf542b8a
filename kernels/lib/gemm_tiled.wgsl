// The workgroup-memory tiled GEMM body shared by matmul.tiled, matmul.tiled_splitk and
// conv2d.*_tiled:
//   C[m, n] = sum_k A[m, k] * B[k, n]
// for one 64x64 tile of C, by a 16x16 workgroup; K is stepped 16 at a time through workgroup
// memory. The including kernel says what A, B and C are by defining (the manner of TF.js's
// makeMatMulPackedSource):
//   fn mm_load_a(m: u32, k: u32) -> f32       A[m, k], called only for m < m_end, k < k_end
//   fn mm_load_b(k: u32, n: u32, q: u32) -> f32  B[k, n], called only for k < k_end, n < n_end;
//                                             q = n % 4, constant once the loop unrolls
//   fn mm_store(m: u32, n: u32, v: f32)       C[m, n] = v, called only inside the bounds
// and calls mm_accumulate (once per summed product, e.g. per broadcast batch) then mm_store_tile,
// from uniform control flow (they hold barriers).
// Two bodies, by the pipeline override BLOCKED (the host's variants 'tiled' and 'blocked'):
//   strided (false): invocation (lid.x, lid.y) keeps the 4x4 outputs (m0 + lid.y + 16 i,
//     n0 + lid.x + 16 j); each step of k reads 8 scalars of workgroup memory for 16 FMAs.
//   blocked (true): a contiguous 4x4 block, rows m0 + 4 lid.y + i, columns n0 + 4 lid.x + j;
//     each step of k reads one vec4 of A and one of B for the same 16 FMAs: a quarter of the
//     shared-memory instructions, which bound the strided body on GPUs (bench/NOTES.md).
// Workgroup memory holds vec4s along m and n for both, so the override picks only the reads.
// Tile loads: each of the 256 invocations fills one whole vec4 of each 16x64 tile (4 consecutive
// m, or n, at one k): WGSL lets a write to one component of a vector access the whole vector
// (Tint's FXC output does a read-modify-write of it), so invocations writing different
// components of one vec4 would race. With a_m_major (A's m axis contiguous in memory)
// consecutive invocations walk m, else k; with b_k_major (B's k axis contiguous) they walk k,
// else n, so that global reads coalesce. Without b_k_major, invocation lid always loads B
// columns n0 + 4 lid.x + q for q < 4, as mm_load_b's q, so mm_load_b may decompose those 4
// columns once per invocation (conv2d does).

override BLOCKED: bool = false;

const MM_TILE: u32 = 64u;
const MM_KSTEP: u32 = 16u;
// vec4s per row of k: 16 plus one of padding, so that invocations storing down a column of the
// tile (the loads along K) spread over the banks.
const MM_ROW: u32 = MM_TILE / 4u + 1u;

var<workgroup> mm_tile_a: array<vec4f, MM_KSTEP * MM_ROW>; // [k][m / 4], component m % 4
var<workgroup> mm_tile_b: array<vec4f, MM_KSTEP * MM_ROW>; // [k][n / 4], component n % 4

// Output row (i) or column (j) index q of the invocation at lid (lid.y or lid.x) within a tile.
fn mm_lane(l: u32, q: u32) -> u32 {
  return select(l + 16u * q, 4u * l + q, BLOCKED);
}

// acc[i][j] += sum over k in [k_begin, k_end) of A[row i, k] * B[k, column j] (rows and columns
// of the invocation: mm_lane).
fn mm_accumulate(acc: ptr<function, array<vec4f, 4>>, lid: vec3u, m0: u32, n0: u32, m_end: u32, n_end: u32, k_begin: u32, k_end: u32, a_m_major: bool, b_k_major: bool) {
  // This invocation's vec4 of each tile: row k, vec4 v (elements 4 v .. 4 v + 3); consecutive
  // invocations (lid.x) walk the axis contiguous in memory.
  var ka = lid.x;
  var va4 = lid.y;
  if (a_m_major) { ka = lid.y; va4 = lid.x; }
  var kb = lid.y;
  var vb4 = lid.x;
  if (b_k_major) { kb = lid.x; vb4 = lid.y; }
  for (var k0 = k_begin; k0 < k_end; k0 += MM_KSTEP) {
    var va = vec4f(0.0);
    var vb = vec4f(0.0);
    for (var q = 0u; q < 4u; q++) {
      let ma = 4u * va4 + q;
      if (m0 + ma < m_end && k0 + ka < k_end) { va[q] = mm_load_a(m0 + ma, k0 + ka); }
      let nb = 4u * vb4 + q;
      if (n0 + nb < n_end && k0 + kb < k_end) { vb[q] = mm_load_b(k0 + kb, n0 + nb, q); }
    }
    mm_tile_a[ka * MM_ROW + va4] = va;
    mm_tile_b[kb * MM_ROW + vb4] = vb;
    workgroupBarrier();
    for (var kk = 0u; kk < MM_KSTEP; kk++) {
      let row = kk * MM_ROW;
      var av: vec4f;
      var bv: vec4f;
      if (BLOCKED) {
        av = mm_tile_a[row + lid.y];
        bv = mm_tile_b[row + lid.x];
      } else {
        // Elements lid + 16 q: vec4 lid / 4 + 4 q, component lid % 4.
        let ra = row + lid.y / 4u;
        let rb = row + lid.x / 4u;
        let ca = lid.y % 4u;
        let cb = lid.x % 4u;
        av = vec4f(mm_tile_a[ra][ca], mm_tile_a[ra + 4u][ca], mm_tile_a[ra + 8u][ca], mm_tile_a[ra + 12u][ca]);
        bv = vec4f(mm_tile_b[rb][cb], mm_tile_b[rb + 4u][cb], mm_tile_b[rb + 8u][cb], mm_tile_b[rb + 12u][cb]);
      }
      (*acc)[0] += av.x * bv;
      (*acc)[1] += av.y * bv;
      (*acc)[2] += av.z * bv;
      (*acc)[3] += av.w * bv;
    }
    workgroupBarrier();
  }
}

// Stores the invocation's outputs that lie inside [0, m_end) x [0, n_end).
fn mm_store_tile(acc: array<vec4f, 4>, lid: vec3u, m0: u32, n0: u32, m_end: u32, n_end: u32) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + mm_lane(lid.y, i);
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + mm_lane(lid.x, j);
      if (m < m_end && n < n_end) { mm_store(m, n, acc[i][j]); }
    }
  }
}
