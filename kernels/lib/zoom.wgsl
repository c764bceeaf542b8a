// One axis of clipped_zoom (the zoom-blur and snow corruptions; scipy.ndimage.zoom with order 1
// on a centred crop of ch pixels starting at `top`, whose first `trim` zoomed pixels are cut):
// output index i reads crop position c = (i + trim) * step, i.e. source indices top + i0 and
// top + min(i0 + 1, ch - 1) with i0 = min(floor(c), ch - 1), the second weighted c - i0.
// Integer arguments arrive as f32 (exact below 2^24).
fn zoom_axis(i: f32, top: f32, ch: f32, trim: f32, step: f32) -> vec3f {
  let c = (i + trim) * step;
  let i0 = min(floor(c), ch - 1.0);
  return vec3f(top + i0, top + min(i0 + 1.0, ch - 1.0), c - i0);
}
