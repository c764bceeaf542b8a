// Image mixing for GradMix and its baselines (docs/TRAINING.md section 4), on view 1 x [B, C, H, W];
// partner j = plan[..] of image b is another image of the same batch (a derangement).
//   paste: box of plan[3b+1] x plan[3b+2] (height x width, clamped to [1, H] x [1, W]) centred on
//          centres[b] (flat index cy * W + cx; top-left (cy - h/2, cx - w/2), integer halves rounded
//          down) and shifted, not clipped, to lie inside the image; plan[3b] is the partner j.
//          out[b, c, y, x] = fill inside the box, x[b, c, y, x] outside, where fill is
//            FILL_PARTNER: x[j, c] resized bilinearly (align_corners=False) to the box, at (y, x)
//                          relative to the box's top-left;
//            FILL_NOISE:   noise(seed, b, y, x) in [0, 1), the same in every channel;
//            FILL_ZERO:    0.
//          boxes[4b..4b+3] = top, left, height, width.
//   blend (Mixup): out[b] = x[b] * lam[b] + x[j] * (1 - lam[b]), j = plan[b].
//   cut (CutMix): plan[5b..5b+4] = j, top, left, height, width (clipped on the host, may be empty);
//          out[b, c, y, x] = x[j, c, y, x] inside the box, x[b, c, y, x] outside; boxes as paste.
// noise(seed, b, y, x) = (h(seed ^ h(b*H*W + y*W + x)) >> 8) / 2^24, h = lowbias32 (a 32-bit
// integer hash), so it is reproducible from the seed alone and test/gradmix-ref.ts mirrors it.
// Bindings: p, x, centres, plan, lam, out, boxes. Dispatch: one invocation per element of out,
// WG threads per workgroup, folded into 2-D grids past 65535 workgroups.

override WG: u32 = 64u;
const FILL_PARTNER = 0u;
const FILL_NOISE = 1u;
const FILL_ZERO = 2u;

struct MixParams {
  b: u32,
  c: u32,
  h: u32,
  w: u32,
  fill: u32,
  seed: u32,
}

@group(0) @binding(0) var<uniform> p: MixParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> centres: array<i32>;
@group(0) @binding(3) var<storage, read> plan: array<i32>;
@group(0) @binding(4) var<storage, read> lam: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> boxes: array<i32>;

//! include "lib/indexing.wgsl"
//! include "lib/hash.wgsl"
//! include "lib/resample.wgsl"

// (b, c, y, x) of element i of a [B, C, H, W] tensor.
fn coords(i: u32) -> vec4<i32> {
  let plane = p.h * p.w;
  return vec4<i32>(i32(i / (p.c * plane)), i32((i / plane) % p.c), i32((i % plane) / p.w), i32(i % p.w));
}

fn noise(b: u32, y: u32, xx: u32) -> f32 {
  let h = lowbias32(p.seed ^ lowbias32((b * p.h + y) * p.w + xx));
  return unit_from_bits(h);
}

// Channel c of image j, resized to box_h x box_w, at (u, v) of the box.
fn resized(j: u32, c: u32, u: u32, v: u32, box_h: u32, box_w: u32) -> f32 {
  let base = (j * p.c + c) * p.h * p.w;
  let sy = source_axis(u, p.h, box_h);
  let sx = source_axis(v, p.w, box_w);
  let r0 = base + u32(sy.x) * p.w;
  let r1 = base + u32(sy.y) * p.w;
  let top = (1.0 - sx.z) * x[r0 + u32(sx.x)] + sx.z * x[r0 + u32(sx.y)];
  let bottom = (1.0 - sx.z) * x[r1 + u32(sx.x)] + sx.z * x[r1 + u32(sx.y)];
  return (1.0 - sy.z) * top + sy.z * bottom;
}

fn inside(y: i32, xx: i32, box: vec4<i32>) -> bool {
  return y >= box.x && y < box.x + box.z && xx >= box.y && xx < box.y + box.w;
}

@compute @workgroup_size(WG)
fn paste(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  if (i >= p.b * p.c * p.h * p.w) { return; }
  let at = coords(i);
  let b = u32(at.x);
  let H = i32(p.h);
  let W = i32(p.w);
  let box_h = clamp(plan[3u * b + 1u], 1, H);
  let box_w = clamp(plan[3u * b + 2u], 1, W);
  let centre = clamp(centres[b], 0, H * W - 1);
  let top = clamp(centre / W - box_h / 2, 0, H - box_h);
  let left = clamp(centre % W - box_w / 2, 0, W - box_w);
  let box = vec4<i32>(top, left, box_h, box_w);
  if (i % (p.c * p.h * p.w) == 0u) {
    boxes[4u * b] = top;
    boxes[4u * b + 1u] = left;
    boxes[4u * b + 2u] = box_h;
    boxes[4u * b + 3u] = box_w;
  }
  if (!inside(at.z, at.w, box)) {
    out[i] = x[i];
    return;
  }
  switch p.fill {
    case FILL_NOISE: { out[i] = noise(b, u32(at.z), u32(at.w)); }
    case FILL_ZERO: { out[i] = 0.0; }
    default: {
      let j = u32(plan[3u * b]);
      out[i] = resized(j, u32(at.y), u32(at.z - top), u32(at.w - left), u32(box_h), u32(box_w));
    }
  }
}

@compute @workgroup_size(WG)
fn blend(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let image = p.c * p.h * p.w;
  if (i >= p.b * image) { return; }
  let b = i / image;
  let j = u32(plan[b]);
  let t = lam[b];
  out[i] = x[i] * t + x[j * image + i % image] * (1.0 - t);
}

@compute @workgroup_size(WG)
fn cut(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg);
  let image = p.c * p.h * p.w;
  if (i >= p.b * image) { return; }
  let at = coords(i);
  let b = u32(at.x);
  let box = vec4<i32>(plan[5u * b + 1u], plan[5u * b + 2u], plan[5u * b + 3u], plan[5u * b + 4u]);
  if (i % image == 0u) {
    boxes[4u * b] = box.x;
    boxes[4u * b + 1u] = box.y;
    boxes[4u * b + 2u] = box.z;
    boxes[4u * b + 3u] = box.w;
  }
  let j = u32(plan[5u * b]);
  out[i] = select(x[i], x[j * image + i % image], inside(at.z, at.w, box));
}
