// NaN by its bits: compilers may fold v != v to false (fast-math), so that test is not used.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}
