// Bilinear resizing with half-pixel centres, as PyTorch's interpolate(align_corners=False).
// Source index and weight of output index d along an axis resized from n_in to n_out
// (align_corners=False): src = max((d + 0.5) * n_in / n_out - 0.5, 0), i0 = floor(src),
// i1 = min(i0 + 1, n_in - 1), weight of i1 = src - i0.
fn source_axis(d: u32, n_in: u32, n_out: u32) -> vec3f {
  let src = max((f32(d) + 0.5) * (f32(n_in) / f32(n_out)) - 0.5, 0.0);
  let i0 = min(u32(src), n_in - 1u);
  return vec3f(f32(i0), f32(min(i0 + 1u, n_in - 1u)), src - f32(i0));
}
