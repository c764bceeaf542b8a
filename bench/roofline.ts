// Where a row sits under the roofline of the measured ceilings: its arithmetic intensity (FLOPs
// per byte of minimal traffic) sets the best rate the device could reach on it,
// min(GEMM ceiling, intensity x copy ceiling); the attained fraction is the row's rate over that.
// Rows with only bytes (copies, pastes) are held to the bandwidth roof, rows with only FLOPs to
// the compute roof.

export interface Roof {
  gflops: number;
  gbps: number;
}

export interface RooflinePoint {
  /** FLOPs per byte; undefined for a row that declares no FLOPs. */
  intensity?: number;
  /** Which roof caps the row at its intensity. */
  limit: 'compute' | 'memory';
  /** The roof at this intensity: GFLOP/s (rows with FLOPs) or GB/s (bytes only). */
  attainable: number;
  /** The row's own rate in the same unit. */
  attained: number;
  /** attained / attainable. */
  fraction: number;
}

/** Null where the row has no time or no work declared. */
export function rooflinePoint(row: { flops?: number; bytes?: number; ms?: number }, roof: Roof): RooflinePoint | null {
  const { flops, bytes, ms } = row;
  if (ms === undefined || !(ms > 0) || !(roof.gflops > 0) || !(roof.gbps > 0)) return null;
  if (flops) {
    const attained = flops / ms / 1e6;
    if (!bytes) return { limit: 'compute', attainable: roof.gflops, attained, fraction: attained / roof.gflops };
    const intensity = flops / bytes;
    const memoryRoof = intensity * roof.gbps;
    const attainable = Math.min(roof.gflops, memoryRoof);
    return { intensity, limit: memoryRoof < roof.gflops ? 'memory' : 'compute', attainable, attained, fraction: attained / attainable };
  }
  if (bytes) {
    const attained = bytes / ms / 1e6;
    return { limit: 'memory', attainable: roof.gbps, attained, fraction: attained / roof.gbps };
  }
  return null;
}

/** The intensity at which the two roofs meet (the ridge point), FLOPs per byte. */
export function ridge(roof: Roof): number {
  return roof.gflops / roof.gbps;
}

/** Text column: intensity, the capping roof (C/M) and the attained fraction, e.g. "12.0 M 47%". */
export function formatRoofline(p: RooflinePoint | null): string {
  if (!p) return '-';
  const ai = p.intensity === undefined ? '-' : p.intensity >= 100 ? p.intensity.toFixed(0) : p.intensity.toFixed(1);
  return `${ai} ${p.limit === 'compute' ? 'C' : 'M'} ${(100 * p.fraction).toFixed(0)}%`;
}
