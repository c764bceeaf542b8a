// Counter-based random numbers: lowbias32 (Chris Wellons' 32-bit integer hash, bias ~0.17) turns
// any index into well-mixed bits, so each invocation draws its own values with no state, and the
// tests' references compute the same values bit for bit.
fn lowbias32(v: u32) -> u32 {
  var z = v;
  z ^= z >> 16u;
  z *= 0x7feb352du;
  z ^= z >> 15u;
  z *= 0x846ca68bu;
  z ^= z >> 16u;
  return z;
}

// A uniform value in [0, 1) from the top 24 bits of a hash (exact in f32).
fn unit_from_bits(h: u32) -> f32 {
  return f32(h >> 8u) * (1.0 / 16777216.0);
}
