// Open-set metrics (docs/OPEN-SET.md section 4), in float64 on the host. Known test samples are the
// positives and a higher score means "more likely known". Every threshold metric is defined on
// thresholds t at the distinct score values (plus +inf), a sample being accepted as known when
// score >= t, so tied scores always move together and no result depends on sort order.
//
// Definitions (all fractions in [0, 1]):
// - auroc: area under (FPR, TPR), trapezoids between distinct thresholds; equals
//   P(s_known > s_unknown) + 0.5 P(s_known = s_unknown) (ties counted half), as sklearn's
//   roc_auc_score.
// - tnr95: TNR = fraction of unknowns with score < t, at the highest threshold t whose TPR is
//   at least 95%.
// - dtacc: detection accuracy as in ODIN (Liang et al.) and the Neal et al. OSR code: the best
//   over thresholds of 0.5 TPR + 0.5 TNR, i.e. accuracy with equal known/unknown priors.
// - auin / auout: average precision with known / unknown samples as positives (auout ranks by
//   -score), sklearn's step-wise average_precision_score: sum_n (R_n - R_{n-1}) P_n over the
//   distinct thresholds. (Not the trapezoid of the ODIN code, which depends on the order of ties.)
// - closedAcc: fraction of known samples whose predicted class equals their label.
// - oscr: area under (FPR, CCR), CCR(t) = correctly classified knowns with score >= t over all
//   knowns (Dhamija et al.; Neal et al.), trapezoids, i.e.
//   P(s_correct-known > s_unknown, ties half) * (correct knowns / knowns).

export interface OpenSetMetrics {
  auroc: number;
  tnr95: number;
  dtacc: number;
  auin: number;
  auout: number;
  closedAcc: number;
  oscr: number;
}

/**
 * Counts of samples with score >= t for t = +inf (index 0) and then each distinct score in
 * descending order (index g = 1..groups): every array is cumulative and ends at the totals.
 */
interface Sweep {
  known: Float64Array;
  unknown: Float64Array;
  /** Known samples that are also correctly classified. */
  correct: Float64Array;
  nKnown: number;
  nUnknown: number;
}

function checkInputs(fn: string, scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>): void {
  if (scores.length !== isKnown.length) throw new Error(`${fn}: ${scores.length} scores but ${isKnown.length} isKnown flags`);
  let nKnown = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`${fn}: score ${i} is ${scores[i]}; scores must be finite`);
    if (isKnown[i]) nKnown++;
  }
  if (nKnown === 0) throw new Error(`${fn}: no known test samples (every isKnown flag is false)`);
  if (nKnown === scores.length) throw new Error(`${fn}: no unknown test samples (every isKnown flag is true)`);
}

function sweep(scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>, isCorrect?: ArrayLike<boolean | number>): Sweep {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const known = [0];
  const unknown = [0];
  const correct = [0];
  for (let i = 0; i < n;) {
    let k = known[known.length - 1];
    let u = unknown[unknown.length - 1];
    let c = correct[correct.length - 1];
    const s = scores[order[i]];
    for (; i < n && scores[order[i]] === s; i++) {
      const j = order[i];
      if (isKnown[j]) {
        k++;
        if (isCorrect?.[j]) c++;
      } else u++;
    }
    known.push(k);
    unknown.push(u);
    correct.push(c);
  }
  return {
    known: Float64Array.from(known),
    unknown: Float64Array.from(unknown),
    correct: Float64Array.from(correct),
    nKnown: known[known.length - 1],
    nUnknown: unknown[unknown.length - 1],
  };
}

/** Area under the curve through (xs[g], ys[g]), xs non-decreasing, by trapezoids. */
function trapezoid(xs: Float64Array, ys: Float64Array): number {
  let area = 0;
  for (let g = 1; g < xs.length; g++) area += (xs[g] - xs[g - 1]) * (ys[g] + ys[g - 1]) * 0.5;
  return area;
}

const scale = (a: Float64Array, by: number) => a.map((v) => v / by);

function aurocOf(s: Sweep): number {
  return trapezoid(scale(s.unknown, s.nUnknown), scale(s.known, s.nKnown));
}

function oscrOf(s: Sweep): number {
  return trapezoid(scale(s.unknown, s.nUnknown), scale(s.correct, s.nKnown));
}

/** How many of n known samples a threshold at TPR `tpr` must accept. */
function acceptedAtTpr(tpr: number, n: number): number {
  // The slack keeps e.g. 0.95 * 20 = 19 from rounding up to 20 through float error.
  return Math.max(1, Math.ceil(tpr * n - 1e-9));
}

function tnrAtTprOf(s: Sweep, tpr: number): number {
  const need = acceptedAtTpr(tpr, s.nKnown);
  let g = 0;
  while (s.known[g] < need) g++;
  return 1 - s.unknown[g] / s.nUnknown;
}

function dtaccOf(s: Sweep): number {
  let best = 0;
  for (let g = 0; g < s.known.length; g++) {
    best = Math.max(best, 0.5 * (s.known[g] / s.nKnown) + 0.5 * (1 - s.unknown[g] / s.nUnknown));
  }
  return best;
}

function auinOf(s: Sweep): number {
  let ap = 0;
  for (let g = 1; g < s.known.length; g++) {
    ap += ((s.known[g] - s.known[g - 1]) / s.nKnown) * (s.known[g] / (s.known[g] + s.unknown[g]));
  }
  return ap;
}

function auoutOf(s: Sweep): number {
  // Rejected as unknown at threshold s_g (score <= s_g): everything not counted at index g - 1.
  // Thresholds ascend as g goes from the last group down to 1.
  let ap = 0;
  let prevRecall = 0;
  for (let g = s.known.length - 1; g >= 1; g--) {
    const outUnknown = s.nUnknown - s.unknown[g - 1];
    const outKnown = s.nKnown - s.known[g - 1];
    const recall = outUnknown / s.nUnknown;
    ap += (recall - prevRecall) * (outUnknown / (outUnknown + outKnown));
    prevRecall = recall;
  }
  return ap;
}

/** AUROC with known samples as positives, ties counted half. */
export function auroc(scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>): number {
  checkInputs('auroc', scores, isKnown);
  return aurocOf(sweep(scores, isKnown));
}

/** Throws unless `tpr` is a rate in (0, 1], naming the function `fn`. */
export function checkTpr(fn: string, tpr: number): void {
  if (!(tpr > 0 && tpr <= 1)) throw new Error(`${fn}: tpr must be in (0, 1], got ${tpr}`);
}

/** TNR at the highest threshold whose TPR is at least `tpr` (default 0.95). */
export function tnrAtTpr(scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>, tpr = 0.95): number {
  checkInputs('tnrAtTpr', scores, isKnown);
  checkTpr('tnrAtTpr', tpr);
  return tnrAtTprOf(sweep(scores, isKnown), tpr);
}

/**
 * The highest threshold t at which "score >= t is known" accepts at least a fraction `tpr` of
 * the known samples' scores: the threshold at which tnrAtTpr measures.
 */
export function thresholdAtTpr(knownScores: ArrayLike<number>, tpr = 0.95): number {
  if (knownScores.length === 0) throw new Error('thresholdAtTpr: no known scores to calibrate on');
  checkTpr('thresholdAtTpr', tpr);
  const sorted = Float64Array.from(knownScores).sort().reverse();
  if (!sorted.every(Number.isFinite)) throw new Error('thresholdAtTpr: the known scores are not all finite');
  return sorted[acceptedAtTpr(tpr, sorted.length) - 1];
}

/** Best 0.5 TPR + 0.5 TNR over thresholds (ODIN's detection accuracy). */
export function detectionAccuracy(scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>): number {
  checkInputs('detectionAccuracy', scores, isKnown);
  return dtaccOf(sweep(scores, isKnown));
}

/** Average precision with known samples as positives (AUIN). */
export function averagePrecisionIn(scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>): number {
  checkInputs('averagePrecisionIn', scores, isKnown);
  return auinOf(sweep(scores, isKnown));
}

/** Average precision with unknown samples as positives, ranked by -score (AUOUT). */
export function averagePrecisionOut(scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>): number {
  checkInputs('averagePrecisionOut', scores, isKnown);
  return auoutOf(sweep(scores, isKnown));
}

/** Which known samples are classified correctly (unknown samples are never correct). */
function correctness(fn: string, isKnown: ArrayLike<boolean | number>, predicted: ArrayLike<number>, labels: ArrayLike<number>): Uint8Array {
  const n = isKnown.length;
  if (predicted.length !== n || labels.length !== n) {
    throw new Error(`${fn}: ${n} isKnown flags but ${predicted.length} predicted classes and ${labels.length} labels`);
  }
  return Uint8Array.from({ length: n }, (_, i) => (isKnown[i] && predicted[i] === labels[i] ? 1 : 0));
}

/** Fraction of known samples whose predicted class is their label. */
export function closedSetAccuracy(isKnown: ArrayLike<boolean | number>, predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  const correct = correctness('closedSetAccuracy', isKnown, predicted, labels);
  let nKnown = 0;
  let nCorrect = 0;
  for (let i = 0; i < correct.length; i++) {
    if (isKnown[i]) nKnown++;
    nCorrect += correct[i];
  }
  if (nKnown === 0) throw new Error('closedSetAccuracy: no known test samples (every isKnown flag is false)');
  return nCorrect / nKnown;
}

/** Open-set classification rate: area under correct-classification rate vs false-positive rate. */
export function oscr(scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>, predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkInputs('oscr', scores, isKnown);
  return oscrOf(sweep(scores, isKnown, correctness('oscr', isKnown, predicted, labels)));
}

/**
 * Every metric of docs/OPEN-SET.md section 4 at once. `predicted` and `labels` cover all test samples;
 * entries of unknown samples are ignored (their labels may be anything, e.g. -1).
 */
export function openSetMetrics(scores: ArrayLike<number>, isKnown: ArrayLike<boolean | number>, predicted: ArrayLike<number>, labels: ArrayLike<number>): OpenSetMetrics {
  checkInputs('openSetMetrics', scores, isKnown);
  const correct = correctness('openSetMetrics', isKnown, predicted, labels);
  const s = sweep(scores, isKnown, correct);
  return {
    auroc: aurocOf(s),
    tnr95: tnrAtTprOf(s, 0.95),
    dtacc: dtaccOf(s),
    auin: auinOf(s),
    auout: auoutOf(s),
    closedAcc: s.correct[s.correct.length - 1] / s.nKnown,
    oscr: oscrOf(s),
  };
}
