// conv2d (NCHW, groups 1, dilation 1) as implicit GEMM: im2col happens on the fly in the loads.
//   forward:      out[b,co,oh,ow] = bias[co] + sum_{ci,kh,kw} w[co,ci,kh,kw] * x[b,ci,oh*SH-pad_h+kh, ow*SW-pad_w+kw]
//   input grad:   dx[b,ci,ih,iw]  = sum_{co,kh,kw} w[co,ci,kh,kw] * dy[b,co,oh,ow]  where ih = oh*SH-pad_h+kh, iw likewise
//   weight grad:  dw[z,co,ci,kh,kw] = sum over output rows (b,oh) of chunk z, all ow, of dy[b,co,oh,ow] * x[b,ci,ih,iw]
//                 (partial sums per chunk of `chunk` rows; the caller sums over z when there is more than one)
// Out-of-range input positions read as zero (padding).
// Bindings: p, x, wt (weights [Cout,Cin,KH,KW]), bias (read only when HAS_BIAS), dy, out.
// Two variants per kernel (runtime/gpu.ts kernelVariant):
//   *_register: no workgroup memory or barriers; each invocation holds a block of outputs in
//     registers (TM channels x TR rows x TC columns; weight grad: TM x CB channels' taps).
//     Invocations of a workgroup share the channel block (workgroup_id.z) and, in the weight
//     grad, the positions, so one operand's loads have uniform (cheap, scalar) addresses.
//     forward_register / input_grad_register: [x, y] = grid(pixel blocks, WG), z = channel blocks
//       (input_grad: z = channel block * SH*SW + phase). weight_grad_register: [x, y] =
//       grid(Cin / CB, WG), z = Cout block * chunks + chunk.
//   *_tiled: 64x64 output tiles through workgroup memory, 16x16 invocations of 4x4 outputs;
//     [x, y] = grid(M tiles * N tiles, 1), z = chunk (weight grad only). They share one GEMM
//     body (lib/gemm_tiled.wgsl, also matmul's), so each binds all of x, wt, bias, dy (the
//     caller binds a stand-in for unused ones). The override BLOCKED picks the body's register
//     blocking (the host's 'blocked' variant: contiguous 4x4 blocks, vec4 reads of workgroup
//     memory) over the strided one ('tiled'); see the lib.

override WG: u32 = 64u;
override KH: u32 = 3u;
override KW: u32 = 3u;
override SH: u32 = 1u;
override SW: u32 = 1u;
override HAS_BIAS: bool = false;
// Register tile: TM channels x TR rows x TC columns (TM <= TM_MAX, TR * TC <= PIX_MAX).
override TM: u32 = 4u;
override TR: u32 = 1u;
override TC: u32 = 16u;
// Register weight gradient: input channels per invocation (CB * KH * KW <= TAPS_MAX).
override CB: u32 = 1u;

struct Params {
  batch: u32,
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  oh: u32,
  ow: u32,
  pad_h: u32,
  pad_w: u32,
  // Weight gradient: output rows (b, oh) per chunk of the reduction.
  chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const TM_MAX = 8u;
const PIX_MAX = 16u;
// Taps (CB channels x KH x KW) the register weight gradient holds per output channel; larger
// kernels take the tiled variant.
const TAPS_MAX = 16u;

//! include "lib/indexing.wgsl"

// A load of x (or dy) that is zero outside the image. A masked tap's index (negative at a top
// or left border) reads element 0 instead: WebGPU's robust access would clamp it anyway, but
// not where robustness is turned off (Dawn's disable_robustness toggle), and it costs nothing.
fn x_or_zero(i: i32, ok: bool) -> f32 {
  return select(0.0, x[u32(select(0, i, ok))], ok);
}

fn dy_or_zero(i: i32, ok: bool) -> f32 {
  return select(0.0, dy[u32(select(0, i, ok))], ok);
}

// ---------------------------------------------------------------------------------------------
// Register variants.

// Invocation t: output rows oh0 .. oh0+TR-1 x columns ow0 .. ow0+TC-1 of image b, for output
// channels co0 .. co0+TM-1.
@compute @workgroup_size(WG)
fn forward_register(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = linear_id(gid, nwg);
  let blocks_w = (p.ow + TC - 1u) / TC;
  let blocks_h = (p.oh + TR - 1u) / TR;
  if (t >= p.batch * blocks_h * blocks_w) { return; }
  let ow0 = (t % blocks_w) * TC;
  let oh0 = ((t / blocks_w) % blocks_h) * TR;
  let b = t / (blocks_w * blocks_h);
  let co0 = wid.z * TM;
  let ih0 = i32(oh0 * SH) - i32(p.pad_h);
  let iw0 = i32(ow0 * SW) - i32(p.pad_w);
  let wi = i32(p.w);
  let per_channel = p.cin * KH * KW;
  // Channels past cout read the last channel's weights (valid memory) and are not stored.
  var wrow: array<u32, TM_MAX>;
  for (var m = 0u; m < TM; m++) { wrow[m] = min(co0 + m, p.cout - 1u) * per_channel; }
  var acc: array<array<f32, PIX_MAX>, TM_MAX>;
  for (var ci = 0u; ci < p.cin; ci++) {
    let plane = i32((b * p.cin + ci) * p.h * p.w);
    for (var kh = 0u; kh < KH; kh++) {
      for (var kw = 0u; kw < KW; kw++) {
        // Inputs shared between taps are the same loads; the compiler merges them.
        var xv: array<f32, PIX_MAX>;
        for (var r = 0u; r < TR; r++) {
          let ih = ih0 + i32(r * SH + kh);
          let row_ok = ih >= 0 && ih < i32(p.h);
          let xrow = plane + ih * wi + iw0;
          for (var c = 0u; c < TC; c++) {
            let dc = i32(c * SW + kw);
            xv[r * TC + c] = x_or_zero(xrow + dc, row_ok && iw0 + dc >= 0 && iw0 + dc < wi);
          }
        }
        let k = (ci * KH + kh) * KW + kw;
        for (var m = 0u; m < TM; m++) {
          let wv = wt[wrow[m] + k];
          for (var j = 0u; j < TR * TC; j++) { acc[m][j] += wv * xv[j]; }
        }
      }
    }
  }
  for (var m = 0u; m < TM; m++) {
    let co = co0 + m;
    if (co >= p.cout) { break; }
    var bv = 0.0;
    if (HAS_BIAS) { bv = bias[co]; }
    for (var r = 0u; r < TR; r++) {
      if (oh0 + r >= p.oh) { break; }
      let o = ((b * p.cout + co) * p.oh + oh0 + r) * p.ow + ow0;
      for (var c = 0u; c < TC; c++) {
        if (ow0 + c < p.ow) { out[o + c] = acc[m][r * TC + c] + bv; }
      }
    }
  }
}

// The input gradient splits into SH*SW phases (rh, rw): positions ih = rh + SH*i, iw = rw + SW*j
// receive taps kh = kh0 + SH*th (kh0 = (rh + pad_h) % SH) from oh = i + (rh + pad_h) / SH - th,
// and likewise along w. Within a phase that is a dense stride-1 correlation, and the phase is
// uniform per workgroup (z), so strided convolutions waste no work on taps that do not apply.
// Invocation t: phase rows i0 .. i0+TR-1 x phase columns j0 .. j0+TC-1 of image b, for input
// channels ci0 .. ci0+TM-1.
@compute @workgroup_size(WG)
fn input_grad_register(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = linear_id(gid, nwg);
  let phase = wid.z % (SH * SW);
  let rh = phase / SW;
  let rw = phase % SW;
  let rows = (p.h + SH - 1u) / SH;
  let cols = (p.w + SW - 1u) / SW;
  let blocks_w = (cols + TC - 1u) / TC;
  let blocks_h = (rows + TR - 1u) / TR;
  if (t >= p.batch * blocks_h * blocks_w) { return; }
  let j0 = (t % blocks_w) * TC;
  let i0 = ((t / blocks_w) % blocks_h) * TR;
  let b = t / (blocks_w * blocks_h);
  let ci0 = (wid.z / (SH * SW)) * TM;
  let kh0 = (rh + p.pad_h) % SH;
  let kw0 = (rw + p.pad_w) % SW;
  let oh0 = i32(i0 + (rh + p.pad_h) / SH);
  let ow0 = i32(j0 + (rw + p.pad_w) / SW);
  let owi = i32(p.ow);
  var wcol: array<u32, TM_MAX>;
  for (var m = 0u; m < TM; m++) { wcol[m] = min(ci0 + m, p.cin - 1u) * KH * KW; }
  var acc: array<array<f32, PIX_MAX>, TM_MAX>;
  for (var co = 0u; co < p.cout; co++) {
    let plane = i32((b * p.cout + co) * p.oh * p.ow);
    let wco = co * p.cin * KH * KW;
    for (var th = 0u; th < (KH + SH - 1u) / SH; th++) {
      let kh = kh0 + SH * th;
      if (kh >= KH) { break; }
      for (var tw = 0u; tw < (KW + SW - 1u) / SW; tw++) {
        let kw = kw0 + SW * tw;
        if (kw >= KW) { break; }
        var gv: array<f32, PIX_MAX>;
        for (var r = 0u; r < TR; r++) {
          let oh = oh0 + i32(r) - i32(th);
          let row_ok = oh >= 0 && oh < i32(p.oh);
          let dyrow = plane + oh * owi + ow0;
          for (var c = 0u; c < TC; c++) {
            let dc = i32(c) - i32(tw);
            gv[r * TC + c] = dy_or_zero(dyrow + dc, row_ok && ow0 + dc >= 0 && ow0 + dc < owi);
          }
        }
        let k = wco + kh * KW + kw;
        for (var m = 0u; m < TM; m++) {
          let wv = wt[wcol[m] + k];
          for (var j = 0u; j < TR * TC; j++) { acc[m][j] += wv * gv[j]; }
        }
      }
    }
  }
  for (var m = 0u; m < TM; m++) {
    let ci = ci0 + m;
    if (ci >= p.cin) { break; }
    for (var r = 0u; r < TR; r++) {
      let ih = rh + SH * (i0 + r);
      if (ih >= p.h) { break; }
      let o = ((b * p.cin + ci) * p.h + ih) * p.w;
      for (var c = 0u; c < TC; c++) {
        let iw = rw + SW * (j0 + c);
        if (iw < p.w) { out[o + iw] = acc[m][r * TC + c]; }
      }
    }
  }
}

// Invocation u: input channels ci0 = u*CB .. ci0+CB-1, all KH x KW taps, for output channels
// co0 .. co0+TM-1, summed over the output rows (b, oh) of one chunk. Positions are uniform across
// the workgroup (so are dy loads and the padding tests); the inputs that neighbouring columns
// share across taps are loaded once per block of TC columns.
@compute @workgroup_size(WG)
fn weight_grad_register(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let u = linear_id(gid, nwg);
  let ci0 = u * CB;
  if (ci0 >= p.cin) { return; }
  let chunks = (p.batch * p.oh + p.chunk - 1u) / p.chunk;
  let z = wid.z % chunks;
  let co0 = (wid.z / chunks) * TM;
  let row1 = min((z + 1u) * p.chunk, p.batch * p.oh);
  let wi = i32(p.w);
  var dyoff: array<u32, TM_MAX>;
  for (var m = 0u; m < TM; m++) { dyoff[m] = min(co0 + m, p.cout - 1u) * p.oh * p.ow; }
  // Channels past cin read the last channel (valid memory) and are not stored.
  var xoff: array<u32, TAPS_MAX>;
  for (var c = 0u; c < CB; c++) { xoff[c] = min(ci0 + c, p.cin - 1u) * p.h * p.w; }
  var acc: array<array<f32, TAPS_MAX>, TM_MAX>;
  for (var r = z * p.chunk; r < row1; r++) {
    let b = r / p.oh;
    let oh = r % p.oh;
    let ximg = b * p.cin * p.h * p.w;
    let dyrow = b * p.cout * p.oh * p.ow + oh * p.ow;
    for (var ow0 = 0u; ow0 < p.ow; ow0 += TC) {
      for (var j = 0u; j < TC; j++) {
        let col_ok = ow0 + j < p.ow;
        var g: array<f32, TM_MAX>;
        for (var m = 0u; m < TM; m++) { g[m] = dy_or_zero(i32(dyrow + dyoff[m] + ow0 + j), col_ok); }
        for (var kh = 0u; kh < KH; kh++) {
          let ih = i32(oh * SH + kh) - i32(p.pad_h);
          let row_ok = ih >= 0 && ih < i32(p.h);
          for (var kw = 0u; kw < KW; kw++) {
            let iw = i32((ow0 + j) * SW + kw) - i32(p.pad_w);
            let ok = row_ok && iw >= 0 && iw < wi;
            for (var c = 0u; c < CB; c++) {
              let xv = x_or_zero(i32(ximg + xoff[c]) + ih * wi + iw, ok);
              let tap = (c * KH + kh) * KW + kw;
              for (var m = 0u; m < TM; m++) { acc[m][tap] += g[m] * xv; }
            }
          }
        }
      }
    }
  }
  let taps = p.cin * KH * KW;
  for (var m = 0u; m < TM; m++) {
    let co = co0 + m;
    if (co >= p.cout) { break; }
    let o = (z * p.cout + co) * taps + ci0 * KH * KW;
    for (var t = 0u; t < min(CB, p.cin - ci0) * KH * KW; t++) { out[o + t] = acc[m][t]; }
  }
}

// ---------------------------------------------------------------------------------------------
// Tiled variants: C[m, n] = sum_k A[m, k] * B[k, n], tiles of A and B staged in workgroup memory.
//   forward:     m = co, n = (b, oh, ow), k = (ci, kh, kw); A = weights, B = im2col(x)
//   input grad:  m = ci, n = (b, ih, iw), k = (co, kh, kw); A = weights (transposed), B = dy at
//                the (oh, ow) that tap (kh, kw) connects to (ih, iw), zero where there is none
//   weight grad: m = co, n = (ci, kh, kw), k = (b, oh, ow) of chunk z; A = dy, B = im2col(x)^T

//! include "lib/gemm_tiled.wgsl"

const MODE_FORWARD = 0u;
const MODE_INPUT_GRAD = 1u;
const MODE_WEIGHT_GRAD = 2u;

// The entry point's mode, the chunk (weight grad) and this invocation's B columns decomposed
// once: (b, oh, ow) for forward, (b, ih, iw) for input grad, (ci, kh, kw) for weight grad. The
// GEMM body loads B columns n0 + 4 lid.x + q only, q < 4 (it walks n, not k, across
// invocations): cols[q].
var<private> mode: u32;
var<private> chunk_z: u32;
var<private> cols: array<vec3u, 4>;

// (kh, kw) of a flattened filter tap.
fn tap(k: u32) -> vec2u {
  let r = k % (KH * KW);
  return vec2u(r / KW, r % KW);
}

fn mm_load_a(m: u32, k: u32) -> f32 {
  if (mode == MODE_FORWARD) { return wt[m * p.cin * KH * KW + k]; }
  if (mode == MODE_INPUT_GRAD) {
    let co = k / (KH * KW);
    return wt[(co * p.cin + m) * KH * KW + k % (KH * KW)];
  }
  let pix = p.oh * p.ow;
  return dy[((k / pix) * p.cout + m) * pix + k % pix];
}

fn mm_load_b(k: u32, n: u32, q: u32) -> f32 {
  let col = cols[q];
  if (mode == MODE_FORWARD) {
    let ci = k / (KH * KW);
    let f = tap(k);
    let ih = i32(col.y * SH + f.x) - i32(p.pad_h);
    let iw = i32(col.z * SW + f.y) - i32(p.pad_w);
    let ok = ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
    return x_or_zero(i32((col.x * p.cin + ci) * p.h * p.w) + ih * i32(p.w) + iw, ok);
  }
  if (mode == MODE_INPUT_GRAD) {
    let co = k / (KH * KW);
    let f = tap(k);
    let th = i32(col.y + p.pad_h) - i32(f.x);
    let tw = i32(col.z + p.pad_w) - i32(f.y);
    let oh = th / i32(SH);
    let ow = tw / i32(SW);
    let ok = th >= 0 && tw >= 0 && th % i32(SH) == 0 && tw % i32(SW) == 0 && oh < i32(p.oh) && ow < i32(p.ow);
    return dy_or_zero(i32((col.x * p.cout + co) * p.oh * p.ow) + oh * i32(p.ow) + ow, ok);
  }
  // Weight grad.
  let pix = p.oh * p.ow;
  let b = k / pix;
  let oh = (k % pix) / p.ow;
  let ow = k % p.ow;
  let ih = i32(oh * SH + col.y) - i32(p.pad_h);
  let iw = i32(ow * SW + col.z) - i32(p.pad_w);
  let ok = ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w);
  return x_or_zero(i32((b * p.cin + col.x) * p.h * p.w) + ih * i32(p.w) + iw, ok);
}

fn mm_store(m: u32, n: u32, v: f32) {
  if (mode == MODE_FORWARD) {
    let pix = p.oh * p.ow;
    var bv = 0.0;
    if (HAS_BIAS) { bv = bias[m]; }
    out[((n / pix) * p.cout + m) * pix + n % pix] = v + bv;
  } else if (mode == MODE_INPUT_GRAD) {
    let pix = p.h * p.w;
    out[((n / pix) * p.cin + m) * pix + n % pix] = v;
  } else {
    out[(chunk_z * p.cout + m) * p.cin * KH * KW + n] = v;
  }
}

// Control flow reads the argument, not the private `mode`: barriers need uniform control flow,
// and WGSL counts reads of module-scope variables as non-uniform.
fn tiled_gemm(entry_mode: u32, lid: vec3u, wid: vec3u, nwg: vec3u) {
  mode = entry_mode;
  chunk_z = wid.z;
  var m_end: u32;
  var n_end: u32;
  var k_begin = 0u;
  var k_end: u32;
  if (entry_mode == MODE_FORWARD) {
    m_end = p.cout;
    n_end = p.batch * p.oh * p.ow;
    k_end = p.cin * KH * KW;
  } else if (entry_mode == MODE_INPUT_GRAD) {
    m_end = p.cin;
    n_end = p.batch * p.h * p.w;
    k_end = p.cout * KH * KW;
  } else {
    m_end = p.cout;
    n_end = p.cin * KH * KW;
    k_begin = wid.z * p.chunk * p.ow;
    k_end = min((wid.z + 1u) * p.chunk, p.batch * p.oh) * p.ow;
  }
  let n_tiles = (n_end + MM_TILE - 1u) / MM_TILE;
  let tile = wid.x + wid.y * nwg.x;
  let m0 = (tile / n_tiles) * MM_TILE;
  let n0 = (tile % n_tiles) * MM_TILE;
  if (m0 >= m_end) { return; }
  for (var q = 0u; q < 4u; q++) {
    let n = n0 + 4u * lid.x + q;
    if (entry_mode == MODE_FORWARD) {
      cols[q] = vec3u(n / (p.oh * p.ow), (n / p.ow) % p.oh, n % p.ow);
    } else if (entry_mode == MODE_INPUT_GRAD) {
      cols[q] = vec3u(n / (p.h * p.w), (n / p.w) % p.h, n % p.w);
    } else {
      cols[q] = vec3u(n / (KH * KW), tap(n));
    }
  }
  var acc: array<vec4f, 4>;
  mm_accumulate(&acc, lid, m0, n0, m_end, n_end, k_begin, k_end, false, false);
  mm_store_tile(acc, lid, m0, n0, m_end, n_end);
}

@compute @workgroup_size(16, 16)
fn forward_tiled(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  tiled_gemm(MODE_FORWARD, lid, wid, nwg);
}

@compute @workgroup_size(16, 16)
fn input_grad_tiled(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  tiled_gemm(MODE_INPUT_GRAD, lid, wid, nwg);
}

@compute @workgroup_size(16, 16)
fn weight_grad_tiled(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  tiled_gemm(MODE_WEIGHT_GRAD, lid, wid, nwg);
}
