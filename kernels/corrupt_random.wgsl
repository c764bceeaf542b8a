// Corruptions that draw random numbers (src/corrupt/, Hendrycks & Dietterich 2019), on images
// x [B, C, H, W] in [0, 1]. Draw j of value i of image b is the counter-based hash
//   u32(b, i, j) = h(h(keys[b] ^ h(i)) + j * 0x9e3779b9), h = lowbias32,
// uniform = (u32 >> 8) / 2^24 in [0, 1) (open: + 0.5 / 2^24), normal = sqrt(-2 ln u_open(j)) *
// cos(2 pi u(j + 1)) (cos by polynomial, exact to f32); test/corrupt-ref.ts mirrors the integer
// stream bit for bit.
//   gaussian_noise: out = clamp(x + a * normal(i, 0), 0, 1)                             (a = sigma)
//   shot_noise:     out = clamp(Poisson(x * a) / a, 0, 1), numpy's sampler: PTRS (Hormann 1993)
//                   for lam >= 10, multiplication below; log-pmf by Stirling with log1p for f32
//   impulse_noise:  out = u(i, 0) < a ? (u(i, 1) < 0.5 ? 1 : 0) : x   (skimage s&p, amount a)
//   snow_layer:     layer[b, y, x] = clamp(v < threshold ? 0 : v, 0, 1), v = loc + scale * N
//                   sampled by clipped_zoom (linear) from the normal field N[b, yy, xx] (i = yy*W+xx)
//   elastic_field:  field[b, f, y, x] = sum_k wts[k] (2 u(f*H*W + y*W + reflect(x + k - r), 0) - 1),
//                   the horizontal half of scipy's gaussian (mode 'reflect') of two uniform fields
//   frost:          out[b, c, y, x] = clamp(a * x + a2 * rgb_c, 0, 1), rgb = the tinted ice() of
//                   texture t at (top + y, left + x), crops[b] = (t, top, left) (grey: its luma);
//                   ice = procedural frost (needles of stretched ridged gradient noise, see ice())
// Bindings: np (noise, frost), sp (snow_layer), fp (elastic_field); x, keys, wts, crops, out.
// Dispatch: one invocation per output element (frost: per pixel, all channels), WG threads per
// workgroup, folded into 2-D grids past 65535 workgroups.

override WG: u32 = 64u;

struct NoiseParams {
  n: u32,        // invocations
  c: u32,
  h: u32,
  w: u32,
  a: f32,
  a2: f32,
  cell: f32,     // frost: texture feature size in pixels
}

struct SnowParams {
  n: u32,
  h: u32,
  w: u32,
  loc: f32,
  scale: f32,
  threshold: f32,
  top_y: u32,
  top_x: u32,
  ch_y: u32,
  ch_x: u32,
  trim_y: u32,
  trim_x: u32,
  step_y: f32,
  step_x: f32,
}

struct FieldParams {
  n: u32,
  h: u32,
  w: u32,
  radius: u32,
}

@group(0) @binding(0) var<uniform> np: NoiseParams;
@group(0) @binding(1) var<uniform> sp: SnowParams;
@group(0) @binding(2) var<uniform> fp: FieldParams;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> keys: array<u32>;
@group(0) @binding(5) var<storage, read> wts: array<f32>;
@group(0) @binding(6) var<storage, read> crops: array<i32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

//! include "lib/indexing.wgsl"
//! include "lib/hash.wgsl"
//! include "lib/zoom.wgsl"

// The stream of value i of an image whose key is `key`.
fn stream(key: u32, i: u32) -> u32 {
  return lowbias32(key ^ lowbias32(i));
}

fn draw(s: u32, j: u32) -> u32 {
  return lowbias32(s + j * 0x9e3779b9u);
}

fn uniform01(s: u32, j: u32) -> f32 {
  return unit_from_bits(draw(s, j));
}

fn uniform_open(s: u32, j: u32) -> f32 {
  return (f32(draw(s, j) >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// cos(2 pi t) for t in [0, 1), by octant reduction and Taylor polynomials on [0, pi/4] (error
// < 1e-9 before rounding), so it does not depend on the GPU's approximate cos.
fn cos_2pi(t: f32) -> f32 {
  let a = abs(t - round(t));                   // [0, 0.5], cos(2 pi a) = cos(2 pi t)
  let flip = a > 0.25;
  let b = select(a, 0.5 - a, flip);            // [0, 0.25]
  var v: f32;
  if (b <= 0.125) {
    let z = 6.283185307179586 * b;
    let z2 = z * z;
    v = 1.0 + z2 * (-0.5 + z2 * (1.0 / 24.0 + z2 * (-1.0 / 720.0 + z2 * (1.0 / 40320.0 + z2 * (-1.0 / 3628800.0)))));
  } else {
    let z = 6.283185307179586 * (0.25 - b);
    let z2 = z * z;
    v = z * (1.0 + z2 * (-1.0 / 6.0 + z2 * (1.0 / 120.0 + z2 * (-1.0 / 5040.0 + z2 * (1.0 / 362880.0 + z2 * (-1.0 / 39916800.0))))));
  }
  return select(v, -v, flip);
}

fn normal(s: u32, j: u32) -> f32 {
  return sqrt(-2.0 * log(uniform_open(s, j))) * cos_2pi(uniform01(s, j + 1u));
}

@compute @workgroup_size(WG)
fn gaussian_noise(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= np.n) { return; }
  let per = np.c * np.h * np.w;
  let s = stream(keys[i / per], i % per);
  out[i] = clamp(x[i] + np.a * normal(s, 0u), 0.0, 1.0);
}

// log(1 + t), accurate to f32 rounding: atanh series for |t| < 0.5, else log.
fn log1p_(t: f32) -> f32 {
  if (abs(t) >= 0.5) { return log(1.0 + t); }
  let s = t / (2.0 + t);
  let s2 = s * s;
  return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 / 13.0))))));
}

// log(k!) for k = 0..8.
const LOG_FACTORIAL = array<f32, 9>(0.0, 0.0, 0.6931471805599453, 1.791759469228055, 3.1780538303479458,
  4.787491742782046, 6.579251212010101, 8.525161361065415, 10.60460290274525);

// log P(k; lam) = -lam + k log lam - lgamma(k + 1), for k + 1 >= 10 by Stirling's series in a form
// without the cancellation of O(lam) terms: (m - lam) + k log1p((lam - m) / m) - log(m) / 2 -
// log(2 pi) / 2 - 1/(12m) + 1/(360m^3) - 1/(1260m^5), m = k + 1.
fn log_poisson_pmf(k: f32, lam: f32, loglam: f32) -> f32 {
  if (k < 9.0) { return -lam + k * loglam - LOG_FACTORIAL[u32(k)]; }
  let m = k + 1.0;
  let r = 1.0 / m;
  let r2 = r * r;
  let series = r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 / 1260.0));
  return (m - lam) + k * log1p_((lam - m) / m) - 0.5 * log(m) - 0.9189385332046727 - series;
}

const MAX_TRIES = 64u;

// numpy's legacy random_poisson: PTRS for lam >= 10, multiplication for 0 < lam < 10.
fn poisson(lam: f32, s: u32) -> f32 {
  if (lam <= 0.0) { return 0.0; }
  if (lam < 10.0) {
    let enlam = exp(-lam);
    var prod = 1.0;
    for (var j = 0u; j < 1024u; j++) {
      prod *= uniform01(s, j);
      if (prod <= enlam) { return f32(j); }
    }
    return floor(lam);
  }
  let slam = sqrt(lam);
  let loglam = log(lam);
  let b = 0.931 + 2.53 * slam;
  let a = -0.059 + 0.02483 * b;
  let invalpha = 1.1239 + 1.1328 / (b - 3.4);
  let vr = 0.9277 - 3.6224 / (b - 2.0);
  for (var t = 0u; t < MAX_TRIES; t++) {
    let u = uniform01(s, 2u * t) - 0.5;
    let v = uniform_open(s, 2u * t + 1u);
    let us = 0.5 - abs(u);
    if (us <= 0.0) { continue; }
    let k = floor((2.0 * a / us + b) * u + lam + 0.43);
    if (us >= 0.07 && v <= vr) { return k; }
    if (k < 0.0 || (us < 0.013 && v > us)) { continue; }
    if (log(v) + log(invalpha) - log(a / (us * us) + b) <= log_poisson_pmf(k, lam, loglam)) { return k; }
  }
  return floor(lam);
}

@compute @workgroup_size(WG)
fn shot_noise(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= np.n) { return; }
  let per = np.c * np.h * np.w;
  let s = stream(keys[i / per], i % per);
  out[i] = clamp(poisson(x[i] * np.a, s) / np.a, 0.0, 1.0);
}

@compute @workgroup_size(WG)
fn impulse_noise(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= np.n) { return; }
  let per = np.c * np.h * np.w;
  let s = stream(keys[i / per], i % per);
  var v = x[i];
  if (uniform01(s, 0u) < np.a) { v = select(0.0, 1.0, uniform01(s, 1u) < 0.5); }
  out[i] = v;
}

fn snow_field(b: u32, yy: u32, xx: u32) -> f32 {
  return normal(stream(keys[b], yy * sp.w + xx), 0u);
}

@compute @workgroup_size(WG)
fn snow_layer(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= sp.n) { return; }
  let b = i / (sp.h * sp.w);
  let y = (i / sp.w) % sp.h;
  let xx = i % sp.w;
  let zy = zoom_axis(f32(y), f32(sp.top_y), f32(sp.ch_y), f32(sp.trim_y), sp.step_y);
  let zx = zoom_axis(f32(xx), f32(sp.top_x), f32(sp.ch_x), f32(sp.trim_x), sp.step_x);
  let r0 = mix(snow_field(b, u32(zy.x), u32(zx.x)), snow_field(b, u32(zy.x), u32(zx.y)), zx.z);
  let r1 = mix(snow_field(b, u32(zy.y), u32(zx.x)), snow_field(b, u32(zy.y), u32(zx.y)), zx.z);
  let v = sp.loc + sp.scale * mix(r0, r1, zy.z);
  out[i] = clamp(select(v, 0.0, v < sp.threshold), 0.0, 1.0);
}

// Half-sample symmetric index (scipy 'reflect'): dcba|abcd|dcba.
fn reflect_index(i: i32, n: i32) -> u32 {
  let p = 2 * n;
  let m = ((i % p) + p) % p;
  return u32(select(p - 1 - m, m, m < n));
}

@compute @workgroup_size(WG)
fn elastic_field(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= fp.n) { return; }
  let plane = fp.h * fp.w;
  let b = i / (2u * plane);
  let f = (i / plane) % 2u;
  let y = (i / fp.w) % fp.h;
  let xx = i32(i % fp.w);
  let r = i32(fp.radius);
  var acc = 0.0;
  for (var k = -r; k <= r; k++) {
    let s = stream(keys[b], f * plane + y * fp.w + reflect_index(xx + k, i32(fp.w)));
    acc += wts[u32(k + r)] * (2.0 * uniform01(s, 0u) - 1.0);
  }
  out[i] = acc;
}

// Gradient noise (Perlin's, quintic fade) with 8 fixed gradient directions picked by the hash.
fn grad_dot(t: u32, ix: i32, iy: i32, fx: f32, fy: f32) -> f32 {
  let h = lowbias32(lowbias32(lowbias32(t + 0x632be5abu) ^ bitcast<u32>(ix)) ^ bitcast<u32>(iy)) & 7u;
  let d = 0.7071067811865476;
  switch h {
    case 0u: { return fx; }
    case 1u: { return -fx; }
    case 2u: { return fy; }
    case 3u: { return -fy; }
    case 4u: { return d * (fx + fy); }
    case 5u: { return d * (fy - fx); }
    case 6u: { return d * (fx - fy); }
    default: { return -d * (fx + fy); }
  }
}

fn gnoise(t: u32, px: f32, py: f32) -> f32 {
  let fx0 = floor(px);
  let fy0 = floor(py);
  let ix = i32(fx0);
  let iy = i32(fy0);
  let fx = px - fx0;
  let fy = py - fy0;
  let ux = fx * fx * fx * (fx * (fx * 6.0 - 15.0) + 10.0);
  let uy = fy * fy * fy * (fy * (fy * 6.0 - 15.0) + 10.0);
  let a = mix(grad_dot(t, ix, iy, fx, fy), grad_dot(t, ix + 1, iy, fx - 1.0, fy), ux);
  let c = mix(grad_dot(t, ix, iy + 1, fx, fy - 1.0), grad_dot(t, ix + 1, iy + 1, fx - 1.0, fy - 1.0), ux);
  return mix(a, c, uy);
}

// Needle directions (cos, sin of 0.3 + 0.7 k).
const DIRS = array<vec2f, 8>(vec2f(0.955336489, 0.295520207), vec2f(0.540302306, 0.841470985), vec2f(-0.128844494, 0.99166481),
  vec2f(-0.737393716, 0.675463181), vec2f(-0.99913515, 0.041580662), vec2f(-0.790967712, -0.611857891),
  vec2f(-0.210795799, -0.977530118), vec2f(0.468516671, -0.883454656));

// Frost intensity in [0, 1] of texture tex at texture pixel (py, px), q = p / cell: a milky haze
// (3 octaves of gradient noise) under ice needles, the brightest of 3 layers, each ridges
// (1 - |n|)^8 of 4 octaves of noise stretched ~9:1 along direction DIRS[(3 tex + l) % 8] (so the
// ridges are long thin streaks) in coordinates gently warped by low-frequency noise.
fn ice(tex: u32, py: f32, px: f32) -> f32 {
  let t = tex * 20u;
  let q = vec2f(px, py) / np.cell;
  var haze = 0.0;
  var amp = 0.5;
  var f = 1.0;
  for (var o = 0u; o < 3u; o++) {
    haze += amp * gnoise(t + o, q.x * f, q.y * f);
    amp *= 0.5;
    f *= 2.0;
  }
  let w = q + 0.3 * vec2f(gnoise(t + 3u, 0.7 * q.x, 0.7 * q.y), gnoise(t + 4u, 0.7 * q.x, 0.7 * q.y));
  var needles = 0.0;
  for (var l = 0u; l < 3u; l++) {
    let d = DIRS[(3u * tex + l) % 8u];
    let u = d.x * w.x + d.y * w.y;
    let v = d.x * w.y - d.y * w.x;
    var acc = 0.0;
    amp = 0.6;
    f = 1.0;
    for (var o = 0u; o < 4u; o++) {
      let r = 1.0 - abs(gnoise(t + 5u + 4u * l + o, u * f * 0.35, v * f * 3.0));
      let r2 = r * r;
      let r4 = r2 * r2;
      acc += amp * r4 * r4;
      amp *= 0.55;
      f *= 2.1;
    }
    needles = max(needles, acc);
  }
  return clamp(0.02 + 0.3 * haze + 0.85 * needles, 0.0, 1.0);
}

// Ice colour: white with a blue cast, as in the scripts' frost photos; grey images take its luma.
const ICE_TINT = vec3f(0.82, 0.91, 1.0);
const ICE_BASE = vec3f(0.02, 0.05, 0.1);

@compute @workgroup_size(WG)
fn frost(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= np.n) { return; }
  let plane = np.h * np.w;
  let b = i / plane;
  let y = (i / np.w) % np.h;
  let xx = i % np.w;
  let v = ice(u32(crops[3u * b]), f32(crops[3u * b + 1u]) + f32(y), f32(crops[3u * b + 2u]) + f32(xx));
  let rgb = min(v * ICE_TINT + ICE_BASE, vec3f(1.0));
  let base = b * np.c * plane + y * np.w + xx;
  if (np.c == 1u) {
    out[base] = clamp(np.a * x[base] + np.a2 * dot(rgb, vec3f(0.299, 0.587, 0.114)), 0.0, 1.0);
    return;
  }
  for (var c = 0u; c < 3u; c++) {
    out[base + c * plane] = clamp(np.a * x[base + c * plane] + np.a2 * rgb[c], 0.0, 1.0);
  }
}
