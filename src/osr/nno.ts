// NNO, the nearest class mean under one covariance shared by all classes (paper Table 1): minus the
// Mahalanobis distance of the feature to the closest class mean is its score (higher: more known),
// the closest mean its class. The covariance is the pooled within-class covariance of the train
// features, 1/N sum_i (x_i - mu_{y_i})(x_i - mu_{y_i})^T.
//   The covariance is regularised by a ridge eps * (trace / D) * I (eps = 1e-6 by default; relative,
//   so it does not depend on the feature scale; raised tenfold until the Cholesky factorisation
//   succeeds, for exactly singular covariances), factorised Sigma = L L^T, W = L^{-1}, and
//   d_c(x)^2 = ||W (x - m0) - W (mu_c - m0)||^2 (m0 the train mean).
//   All of NNO runs in float64 on the host. A Mahalanobis distance is only as good as the
//   covariance's small eigenvalues, which the ridge lets reach 1e-6 of the mean one: float32
//   rounding of the covariance (or of the whitening) on the GPU would be amplified up to 1e6-fold
//   there. The cost is N D^2 / 2 multiply-adds for the fit and D^2 / 2 per test sample: about a
//   second per 10^4 samples at D = 512.
import type { Tensor } from '../tensor.js';
import { matrixShape } from './knn.js';
import type { TestScores } from './scores.js';

/** The fitted class means and shared covariance of NNO, ready to score test features. */
export interface NnoModel {
  dim: number;
  numClasses: number;
  /** Train mean m0 [D], taken out of every feature before whitening. */
  center: Float64Array;
  /** W = L^{-1} [D, D] row-major (lower triangular), where Sigma + ridge I = L L^T. */
  whitening: Float64Array;
  /** W (mu_c - m0) per class, [K, D] row-major. */
  whitenedMeans: Float64Array;
  /** The ridge actually added to the covariance's diagonal (absolute). */
  ridge: number;
}

export interface NnoOptions {
  /** Relative ridge eps: eps * trace(Sigma) / D is added to the diagonal (default 1e-6). */
  ridge?: number;
}

/** Class means [K, D] and the pooled within-class covariance [D, D] of rows x [N, D], in float64. */
function classMoments(x: ArrayLike<number>, n: number, d: number, labels: ArrayLike<number>, numClasses: number) {
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new Error(`fitNno: train label ${i} is ${c}; labels must be integers in 0..${numClasses - 1}`);
    counts[c]++;
  }
  const empty = counts.findIndex((v) => v === 0);
  if (empty >= 0) throw new Error(`fitNno: class ${empty} has no train samples (numClasses = ${numClasses})`);
  const means = new Float64Array(numClasses * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) means[labels[i] * d + j] += x[i * d + j];
  for (let c = 0; c < numClasses; c++) for (let j = 0; j < d; j++) means[c * d + j] /= counts[c];
  // Class-centred columns, contiguous, so each covariance entry is one streaming dot product.
  const cols = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) cols[j * n + i] = x[i * d + j] - means[labels[i] * d + j];
  const sigma = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    const ca = cols.subarray(a * n, (a + 1) * n);
    for (let b = a; b < d; b++) {
      const cb = cols.subarray(b * n, (b + 1) * n);
      let s = 0;
      for (let i = 0; i < n; i++) s += ca[i] * cb[i];
      sigma[a * d + b] = sigma[b * d + a] = s / n;
    }
  }
  return { means, counts, sigma };
}

/** Lower-triangular L with A = L L^T (A symmetric [n, n]), or null when A is not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let diag = a[j * n + j];
    for (let k = 0; k < j; k++) diag -= l[j * n + k] ** 2;
    if (!(diag > 0)) return null;
    const ljj = Math.sqrt(diag);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** L^{-1} of a lower-triangular L [n, n] by forward substitution, column by column. */
function invertLower(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let col = 0; col < n; col++) {
    for (let i = col; i < n; i++) {
      let s = i === col ? 1 : 0;
      for (let k = col; k < i; k++) s -= l[i * n + k] * inv[k * n + col];
      inv[i * n + col] = s / l[i * n + i];
    }
  }
  return inv;
}

/** y = W v for lower-triangular W [d, d]. */
function lowerTimes(w: Float64Array, v: ArrayLike<number>, d: number, y: Float64Array): void {
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let k = 0; k <= i; k++) s += w[i * d + k] * v[k];
    y[i] = s;
  }
}

/** Class means and the inverse Cholesky factor of the regularised shared covariance of the train features. */
export async function fitNno(trainFeatures: Tensor, trainLabels: ArrayLike<number>, numClasses: number, options: NnoOptions = {}): Promise<NnoModel> {
  const [n, d] = matrixShape('fitNno', 'train features', trainFeatures);
  if (trainLabels.length !== n) throw new Error(`fitNno: ${trainLabels.length} train labels for ${n} train features`);
  const eps = options.ridge ?? 1e-6;
  if (!(eps > 0)) throw new Error(`fitNno: ridge must be positive, got ${eps}`);
  const { means, counts, sigma } = classMoments(await trainFeatures.data(), n, d, trainLabels, numClasses);
  let trace = 0;
  for (let i = 0; i < d; i++) trace += sigma[i * d + i];
  const scale = trace > 0 ? trace / d : 1;
  let l: Float64Array | null = null;
  let ridge = 0;
  for (let e = eps; !l && e <= 1; e *= 10) {
    ridge = e * scale;
    const reg = sigma.slice();
    for (let i = 0; i < d; i++) reg[i * d + i] += ridge;
    l = cholesky(reg, d);
  }
  if (!l) throw new Error('fitNno: the covariance of the train features is not positive definite even with a ridge of trace/D; are the features finite?');
  const whitening = invertLower(l, d);
  const center = new Float64Array(d);
  for (let c = 0; c < numClasses; c++) for (let j = 0; j < d; j++) center[j] += (counts[c] / n) * means[c * d + j];
  const whitenedMeans = new Float64Array(numClasses * d);
  const v = new Float64Array(d);
  for (let c = 0; c < numClasses; c++) {
    for (let j = 0; j < d; j++) v[j] = means[c * d + j] - center[j];
    lowerTimes(whitening, v, d, whitenedMeans.subarray(c * d, (c + 1) * d));
  }
  return { dim: d, numClasses, center, whitening, whitenedMeans, ridge };
}

/** NNO scores (minus the Mahalanobis distance to the closest class mean) and the closest class (first on ties). */
export async function scoreNno(nno: NnoModel, testFeatures: Tensor): Promise<TestScores> {
  const [n, d] = matrixShape('scoreNno', 'test features', testFeatures);
  if (d !== nno.dim) throw new Error(`scoreNno: test features have ${d} dimensions, the fitted model ${nno.dim}`);
  const x = await testFeatures.data();
  const scores = new Float32Array(n);
  const predicted = new Int32Array(n);
  const v = new Float64Array(d);
  const y = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) v[j] = x[i * d + j] - nno.center[j];
    lowerTimes(nno.whitening, v, d, y);
    let best = Infinity;
    for (let c = 0; c < nno.numClasses; c++) {
      let dist2 = 0;
      for (let j = 0; j < d; j++) dist2 += (y[j] - nno.whitenedMeans[c * d + j]) ** 2;
      if (dist2 < best || c === 0) {
        best = dist2;
        predicted[i] = c;
      }
    }
    scores[i] = -Math.sqrt(best);
  }
  return { scores, predicted };
}
