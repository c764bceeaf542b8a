// Intrinsic dimension of a point cloud by TwoNN (Facco et al. 2017), exactly as Ansuini et al.
// 2019 apply it to network representations (their `estimate`): per point, mu = r2 / r1, the ratio
// of the Euclidean distances to its second and first nearest neighbours; points with r1 = 0
// (duplicates) or r1 = r2 are dropped; with the N remaining mu sorted ascending and
// F_i = i / N, the dimension is the slope of the least-squares line through the origin of
// y = -log(1 - F) against x = log(mu), over the first floor(0.9 N) points of all but the last two
// (so the 10% largest mu, the noisiest, are left out).
// Nearest neighbours: the points are checked finite and centred in float64 on the host, the Gram
// matrix X X^T of the centred points is computed on the GPU in row chunks; each row's 8 best
// candidates by x_i.x_j - |x_j|^2 / 2 (the order of Euclidean distance) are then measured exactly
// in float64 on the host, so r1 and r2 carry no float32 cancellation.
import { noGrad } from '../autograd.js';
import { scope } from '../scope.js';
import { tensor } from '../creation.js';
import * as ops from '../ops/index.js';
import { Rng } from '../random.js';
import { Tensor, formatShape } from '../tensor.js';
import { twoNNFit } from './two-nn.js';

export interface IntrinsicDimOptions {
  /** Fraction of the sorted mu used in the fit (default 0.9, Ansuini et al.). */
  fraction?: number;
  /** At most this many points (a seeded random subset of larger sets; default 5000). */
  maxPoints?: number;
  /** Seed of that subset (default 0). */
  seed?: number;
}

export interface IntrinsicDim {
  /** The TwoNN estimate. */
  dim: number;
  /** Points whose mu entered the estimate (after the subset and dropping r1 = 0 or r1 = r2). */
  points: number;
}

/** Candidates per row measured exactly (guards against float32 reordering of near-equal distances). */
const CANDIDATES = 8;
/** Gram entries per chunk: bounds the readback and the multiply-adds per dispatch. */
const ENTRIES_PER_CHUNK = 2 ** 22;

/** mu = r2 / r1 per point of X [N, D] (host copy `host`), skipping r1 = 0 and r1 = r2. */
async function neighbourRatios(x: Tensor, host: Float64Array): Promise<number[]> {
  const [n, d] = x.shape;
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) for (let k = 0; k < d; k++) norms[j] += host[j * d + k] ** 2;
  const dist2 = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += (host[i * d + k] - host[j * d + k]) ** 2;
    return s;
  };
  const mu: number[] = [];
  const rowsPerChunk = Math.max(1, Math.floor(ENTRIES_PER_CHUNK / Math.max(n, d)));
  const cand = new Int32Array(CANDIDATES);
  const candKey = new Float64Array(CANDIDATES);
  for (let r0 = 0; r0 < n; r0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, n - r0);
    const gram = scope(() => noGrad(() => ops.matmul(ops.slice(x, 0, r0, r0 + rows), x, { transB: true })));
    const g = await gram.data();
    gram.dispose();
    for (let r = 0; r < rows; r++) {
      const i = r0 + r;
      // The CANDIDATES largest x_i.x_j - |x_j|^2/2 (smallest distances), kept sorted descending.
      let count = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const key = g[r * n + j] - norms[j] / 2;
        if (count === CANDIDATES && key <= candKey[count - 1]) continue;
        let p = count < CANDIDATES ? count++ : count - 1;
        while (p > 0 && candKey[p - 1] < key) {
          candKey[p] = candKey[p - 1];
          cand[p] = cand[p - 1];
          p--;
        }
        candKey[p] = key;
        cand[p] = j;
      }
      if (count < 2) continue;
      let r1 = Infinity;
      let r2 = Infinity;
      for (let c = 0; c < count; c++) {
        const dd = dist2(i, cand[c]);
        if (dd < r1) [r1, r2] = [dd, r1];
        else if (dd < r2) r2 = dd;
      }
      if (r1 === 0 || r1 === r2) continue;
      mu.push(Math.sqrt(r2 / r1));
    }
  }
  return mu;
}

/** m distinct indices of 0..n-1 (a partial Fisher-Yates shuffle), ascending. */
function randomSubset(n: number, m: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, m).sort();
}

/** The rows of x [M, D] (host copy `raw`) centred in float64; a row with NaN or Inf is an error naming it (`rows`: its index in the caller's features). */
function centre(raw: Float32Array, m: number, d: number, rows: Int32Array | null): Float64Array {
  // Checked first: one NaN would spread through the mean to every point, and no ratio would be left.
  const bad = raw.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    const row = Math.floor(bad / d);
    throw new Error(`intrinsicDimension: feature row ${rows ? rows[row] : row} holds ${raw[bad]}; TwoNN needs finite features`);
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < m * d; i++) mean[i % d] += raw[i] / m;
  return Float64Array.from(raw, (v, i) => v - mean[i % d]);
}

/** TwoNN intrinsic dimension of the rows of features [N, D] (N >= 3, finite). */
export async function intrinsicDimension(features: Tensor, options: IntrinsicDimOptions = {}): Promise<IntrinsicDim> {
  if (features.rank !== 2 || features.dtype !== 'float32') {
    throw new Error(`intrinsicDimension: features must be a float32 [N, D] tensor, got ${features.dtype} ${formatShape(features.shape)}`);
  }
  const maxPoints = options.maxPoints ?? 5000;
  if (!Number.isInteger(maxPoints) || maxPoints < 3) throw new Error(`intrinsicDimension: maxPoints must be an integer >= 3, got ${maxPoints}`);
  const n = features.shape[0];
  if (n < 3) throw new Error(`intrinsicDimension: needs at least 3 points, got ${n}`);
  const d = features.shape[1];
  const rows = n > maxPoints ? randomSubset(n, maxPoints, options.seed ?? 0) : null;
  const x = rows ? scope(() => noGrad(() => ops.indexSelect(features, 0, tensor(rows, [rows.length], { dtype: 'int32' })))) : features;
  let raw: Float32Array;
  try {
    raw = (await x.data()) as Float32Array; // float32, checked above
  } finally {
    if (x !== features) x.dispose();
  }
  const m = x.shape[0];
  // Centred: distances do not change, and the Gram entries of a cloud far from the origin would
  // lose the neighbours' differences to float32 rounding.
  const host = centre(raw, m, d, rows);
  const centred = tensor(Float32Array.from(host), [m, d]);
  let mu: number[];
  try {
    mu = await neighbourRatios(centred, host);
  } finally {
    centred.dispose();
  }
  if (mu.length < 3) {
    throw new Error(`intrinsicDimension: only ${mu.length} of ${m} points have distinct nearest and second-nearest neighbours (the others are duplicates or ties); TwoNN needs at least 3`);
  }
  return { dim: twoNNFit(mu, options.fraction ?? 0.9), points: mu.length };
}
