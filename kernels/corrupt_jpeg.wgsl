// JPEG compression round trip (src/corrupt/jpeg.ts) of x [B, C, H, W] in [0, 1], as Pillow saves
// and reloads it through libjpeg: 8-bit sample scale, JFIF YCbCr with 4:2:0 chroma (C = 3) or
// one grey component (C = 1), 8x8 DCT, quantisation, and fancy (triangle) chroma upsampling.
// Planes per image, level-shifted (value - 128) and edge-replicated to whole blocks:
//   Y [py, px] (py = 8 ceil(H/8)), then for C = 3 Cb and Cr [pcy, pcx] (of cy = ceil(H/2) rows)
//   to_ycc:  Y = 255 (0.299 R + 0.587 G + 0.114 B) - 128 at the pixel clamped into the image;
//            Cb = 255 (-0.16874 R - 0.33126 G + 0.5 B), Cr = 255 (0.5 R - 0.41869 G - 0.08131 B),
//            each the mean of the 2x2 pixels (2i + {0,1}, 2j + {0,1}) clamped into the image
//   fdct:    coef[u, v] of a block = round_half_away(F[u, v] / Q[u, v]) with F[u, v] = sum_{s,t}
//            basis[u, s] basis[v, t] plane[s, t] (orthonormal DCT-II), stored at the block's (u, v)
//   idct:    plane[s, t] = sum_{u,v} basis[u, s] basis[v, t] coef[u, v] Q[u, v]
//   to_rgb:  R = Y + 1.402 Cr, G = Y - 0.34414 Cb - 0.71414 Cr, B = Y + 1.772 Cb (Y + 128 in 0..255),
//            chroma at (y, x) = (9 c[j, l] + 3 c[j, l'] + 3 c[j', l] + c[j', l']) / 16, j = y >> 1,
//            j' = j - 1 for even y, j + 1 for odd (clamped to [0, cy - 1]), likewise l, l' on x;
//            out = clamp(value / 255, 0, 1)
// quant = luma table (64), then chroma table (64); basis[u * 8 + s] = C(u) / 2 cos((2s + 1) u pi / 16).
// Bindings: p; x (the stage's input), basis, quant, out. Dispatch: one invocation per element of
// the stage's output (per image `per` plane values; to_rgb: B C H W), WG per workgroup, 2-D folded.

override WG: u32 = 64u;

struct Params {
  n: u32,
  c: u32,
  h: u32,
  w: u32,
  py: u32,
  px: u32,
  cy: u32,
  cx: u32,
  pcy: u32,
  pcx: u32,
  per: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> basis: array<f32>;
@group(0) @binding(3) var<storage, read> quant: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"

// Where plane value k (of an image's `per`) lies: component (0 Y, 1 Cb, 2 Cr), row, column, the
// component plane's first value and its row stride.
struct Site {
  comp: u32,
  row: u32,
  col: u32,
  start: u32,
  stride: u32,
}

fn site(k: u32) -> Site {
  let ny = p.py * p.px;
  if (k < ny) { return Site(0u, k / p.px, k % p.px, 0u, p.px); }
  let nc = p.pcy * p.pcx;
  let comp = 1u + (k - ny) / nc;
  let at = (k - ny) % nc;
  return Site(comp, at / p.pcx, at % p.pcx, ny + (comp - 1u) * nc, p.pcx);
}

fn rgb_at(b: u32, y: u32, xx: u32) -> vec3f {
  let hw = p.h * p.w;
  let at = b * p.c * hw + min(y, p.h - 1u) * p.w + min(xx, p.w - 1u);
  if (p.c == 1u) { return vec3f(x[at]); }
  return vec3f(x[at], x[at + hw], x[at + 2u * hw]);
}

@compute @workgroup_size(WG)
fn to_ycc(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let b = i / p.per;
  let s = site(i % p.per);
  if (s.comp == 0u) {
    out[i] = 255.0 * dot(rgb_at(b, s.row, s.col), vec3f(0.299, 0.587, 0.114)) - 128.0;
    return;
  }
  let coeffs = select(vec3f(0.5, -0.41869, -0.08131), vec3f(-0.16874, -0.33126, 0.5), s.comp == 1u);
  var acc = 0.0;
  for (var dy = 0u; dy < 2u; dy++) {
    for (var dx = 0u; dx < 2u; dx++) { acc += dot(rgb_at(b, 2u * s.row + dy, 2u * s.col + dx), coeffs); }
  }
  out[i] = 255.0 * 0.25 * acc;
}

fn quant_at(comp: u32, u: u32, v: u32) -> f32 {
  return quant[select(64u, 0u, comp == 0u) + u * 8u + v];
}

@compute @workgroup_size(WG)
fn fdct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let s = site(i % p.per);
  let u = s.row % 8u;
  let v = s.col % 8u;
  let origin = i - (i % p.per) + s.start + (s.row - u) * s.stride + (s.col - v);
  var f = 0.0;
  for (var r = 0u; r < 8u; r++) {
    var row = 0.0;
    for (var c = 0u; c < 8u; c++) { row += basis[v * 8u + c] * x[origin + r * s.stride + c]; }
    f += basis[u * 8u + r] * row;
  }
  let q = f / quant_at(s.comp, u, v);
  out[i] = sign(q) * floor(abs(q) + 0.5);
}

@compute @workgroup_size(WG)
fn idct(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let s = site(i % p.per);
  let r = s.row % 8u;
  let c = s.col % 8u;
  let origin = i - (i % p.per) + s.start + (s.row - r) * s.stride + (s.col - c);
  var acc = 0.0;
  for (var u = 0u; u < 8u; u++) {
    var row = 0.0;
    for (var v = 0u; v < 8u; v++) { row += basis[v * 8u + c] * x[origin + u * s.stride + v] * quant_at(s.comp, u, v); }
    acc += basis[u * 8u + r] * row;
  }
  out[i] = acc;
}

// Nearest and next-nearest chroma index of full-resolution index y (fancy upsampling).
fn chroma_pair(y: u32, n: u32) -> vec2u {
  let j = i32(y >> 1u);
  let other = select(min(j + 1, i32(n) - 1), max(j - 1, 0), (y & 1u) == 0u);
  return vec2u(u32(j), u32(other));
}

fn chroma(b: u32, comp: u32, y: u32, xx: u32) -> f32 {
  let start = b * p.per + p.py * p.px + (comp - 1u) * p.pcy * p.pcx;
  let r = chroma_pair(y, p.cy);
  let c = chroma_pair(xx, p.cx);
  let near = 3.0 * x[start + r.x * p.pcx + c.x] + x[start + r.x * p.pcx + c.y];
  let far = 3.0 * x[start + r.y * p.pcx + c.x] + x[start + r.y * p.pcx + c.y];
  return (3.0 * near + far) / 16.0;
}

@compute @workgroup_size(WG)
fn to_rgb(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.n) { return; }
  let hw = p.h * p.w;
  let b = i / (p.c * hw);
  let ch = (i / hw) % p.c;
  let y = (i % hw) / p.w;
  let xx = i % p.w;
  let luma = x[b * p.per + y * p.px + xx] + 128.0;
  var v = luma;
  if (p.c == 3u) {
    let cb = chroma(b, 1u, y, xx);
    let cr = chroma(b, 2u, y, xx);
    v = select(select(luma + 1.772 * cb, luma - 0.34414 * cb - 0.71414 * cr, ch == 1u), luma + 1.402 * cr, ch == 0u);
  }
  out[i] = clamp(v / 255.0, 0.0, 1.0);
}
