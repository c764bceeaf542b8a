// Open-set metrics: hand-computed cases, sklearn's documented values, and brute-force references
// (pairwise counts, per-threshold counting) on random scores with many ties.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSetMetrics, auroc, tnrAtTpr, detectionAccuracy, averagePrecisionIn, averagePrecisionOut, closedSetAccuracy, oscr, type OpenSetMetrics } from '../src/osr/metrics.js';
import { pairwiseWins, seeded } from './helpers.js';

const test = suite('metrics');

function near(got: number, want: number, what: string, tol = 1e-12): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, expected ${want}`);
}

function nearAll(got: OpenSetMetrics, want: OpenSetMetrics, tag: string): void {
  for (const key of Object.keys(want) as (keyof OpenSetMetrics)[]) near(got[key], want[key], `${tag} ${key}`);
}

test('hand-computed case with a known/unknown tie', () => {
  // known 0.9 (class 0, correct), 0.8 (class 1, wrong), 0.4 (class 2, correct); unknown 0.7, 0.4, 0.1.
  const scores = [0.9, 0.8, 0.4, 0.7, 0.4, 0.1];
  const isKnown = [1, 1, 1, 0, 0, 0];
  const labels = [0, 1, 2, -1, -1, -1];
  const predicted = [0, 2, 2, 0, 1, 2];
  nearAll(
    openSetMetrics(scores, isKnown, predicted, labels),
    {
      auroc: 7.5 / 9, // 3 + 3 + (1 + 0.5) winning pairs of 9
      tnr95: 1 / 3, // TPR 100% needs t = 0.4, which rejects only the 0.1 unknown
      dtacc: 5 / 6, // t = 0.8: TPR 2/3, TNR 1
      auin: 1 / 3 + 1 / 3 + (1 / 3) * (3 / 5),
      auout: 1 / 3 + (1 / 3) * (2 / 3) + (1 / 3) * (3 / 4),
      closedAcc: 2 / 3,
      oscr: (3 + 1.5) / 9, // correct knowns 0.9 and 0.4 against the three unknowns
    },
    'hand case',
  );
});

test('every score tied', () => {
  const m = openSetMetrics([0.5, 0.5, 0.5], [1, 1, 0], [0, 1, 0], [0, 0, -1]);
  nearAll(m, { auroc: 0.5, tnr95: 0, dtacc: 0.5, auin: 2 / 3, auout: 1 / 3, closedAcc: 0.5, oscr: 0.25 }, 'all tied');
});

test('perfect separation and perfect inversion', () => {
  const isKnown = [1, 1, 0, 0, 0];
  const good = openSetMetrics([5, 4, 3, 2, 1], isKnown, [1, 1, 0, 0, 0], [1, 1, -1, -1, -1]);
  nearAll(good, { auroc: 1, tnr95: 1, dtacc: 1, auin: 1, auout: 1, closedAcc: 1, oscr: 1 }, 'perfect');
  const bad = openSetMetrics([1, 2, 3, 4, 5], isKnown, [0, 0, 0, 0, 0], [1, 1, -1, -1, -1]);
  near(bad.auroc, 0, 'inverted auroc');
  near(bad.tnr95, 0, 'inverted tnr95');
  near(bad.dtacc, 0.5, 'inverted dtacc (reject all or accept all)');
  near(bad.closedAcc, 0, 'all wrong closedAcc');
  near(bad.oscr, 0, 'all wrong oscr');
});

test("sklearn's documented examples", () => {
  // sklearn docs: roc_auc_score / average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).
  const scores = [0.1, 0.4, 0.35, 0.8];
  const isKnown = [0, 0, 1, 1];
  near(auroc(scores, isKnown), 0.75, 'roc_auc_score');
  near(averagePrecisionIn(scores, isKnown), 0.8333333333333333, 'average_precision_score', 1e-15);
});

test('TPR targets count exactly: 95% of 20 knowns is 19, 55% of 100 is 55 (no float round-up)', () => {
  const known = Array.from({ length: 20 }, (_, i) => i + 1); // 1..20
  const scores = [...known, 0.5, 1.5, 2.5, 3.5];
  const isKnown = scores.map((_, i) => (i < 20 ? 1 : 0));
  // 19 of 20 knowns accepted at t = 2: unknowns 0.5 and 1.5 are rejected.
  near(tnrAtTpr(scores, isKnown), 0.5, 'tnr95');
  near(tnrAtTpr(scores, isKnown, 1), 0.25, 'tnr at 100% tpr');
  // 0.55 * 100 is 55.00000000000001 in float64; the 55th largest of 1..100 is 46.
  const hundred = [...Array.from({ length: 100 }, (_, i) => i + 1), 45.5, 46.5];
  near(
    tnrAtTpr(
      hundred,
      hundred.map((_, i) => (i < 100 ? 1 : 0)),
      0.55,
    ),
    0.5,
    'tnr at 55% tpr',
  );
});

// ---- brute-force references: every threshold t in {distinct scores} + {+inf}, accept score >= t.

function thresholds(scores: number[]): number[] {
  return [Infinity, ...new Set(scores)].sort((a, b) => b - a);
}

function count(scores: number[], pick: (i: number) => boolean, t: number): number {
  let n = 0;
  scores.forEach((s, i) => {
    if (pick(i) && s >= t) n++;
  });
  return n;
}

function averagePrecisionRef(scores: number[], positive: (i: number) => boolean): number {
  const nPos = scores.filter((_, i) => positive(i)).length;
  let ap = 0;
  let prevRecall = 0;
  for (const t of thresholds(scores)) {
    const tp = count(scores, positive, t);
    const all = count(scores, () => true, t);
    if (all === 0) continue;
    ap += (tp / nPos - prevRecall) * (tp / all);
    prevRecall = tp / nPos;
  }
  return ap;
}

function reference(scores: number[], isKnown: boolean[], predicted: number[], labels: number[]): OpenSetMetrics {
  const known = (i: number) => isKnown[i];
  const unknown = (i: number) => !isKnown[i];
  const correct = (i: number) => isKnown[i] && predicted[i] === labels[i];
  const nK = isKnown.filter(Boolean).length;
  const nU = scores.length - nK;
  let bestT = -Infinity;
  let dtacc = 0;
  for (const t of thresholds(scores)) {
    const tp = count(scores, known, t);
    const tnr = 1 - count(scores, unknown, t) / nU;
    if (tp * 100 >= 95 * nK) bestT = Math.max(bestT, t);
    dtacc = Math.max(dtacc, 0.5 * (tp / nK) + 0.5 * tnr);
  }
  const nCorrect = scores.filter((_, i) => correct(i)).length;
  return {
    auroc: pairwiseWins(scores, known, unknown) / (nK * nU),
    tnr95: 1 - count(scores, unknown, bestT) / nU,
    dtacc,
    auin: averagePrecisionRef(scores, known),
    auout: averagePrecisionRef(
      scores.map((s) => -s),
      unknown,
    ),
    closedAcc: nCorrect / nK,
    oscr: pairwiseWins(scores, correct, unknown) / (nK * nU),
  };
}

test('random scores with many ties match brute force, in any input order', () => {
  const { rng, seed } = seeded();
  for (let trial = 0; trial < 40; trial++) {
    const n = 2 + rng.int(120);
    const levels = 1 + rng.int(12); // few distinct values: many ties, across and within groups
    const scores = Array.from({ length: n }, () => rng.int(levels) / levels);
    const isKnown = Array.from({ length: n }, () => rng.uniform() < 0.6);
    isKnown[0] = true;
    isKnown[1] = false;
    const labels = isKnown.map((k) => (k ? rng.int(4) : -1));
    const predicted = labels.map((l) => (rng.uniform() < 0.7 ? l : rng.int(4)));
    const tag = `trial ${trial} (seed ${seed})`;
    const want = reference(scores, isKnown, predicted, labels);
    nearAll(openSetMetrics(scores, isKnown, predicted, labels), want, tag);

    const perm = Array.from({ length: n }, (_, i) => i).sort(() => rng.uniform() - 0.5);
    const at = <T>(a: T[]) => perm.map((i) => a[i]);
    nearAll(openSetMetrics(at(scores), at(isKnown), at(predicted), at(labels)), want, `${tag} permuted`);

    near(auroc(scores, isKnown), want.auroc, `${tag} auroc()`);
    near(tnrAtTpr(scores, isKnown), want.tnr95, `${tag} tnrAtTpr()`);
    near(detectionAccuracy(scores, isKnown), want.dtacc, `${tag} detectionAccuracy()`);
    near(averagePrecisionIn(scores, isKnown), want.auin, `${tag} averagePrecisionIn()`);
    near(averagePrecisionOut(scores, isKnown), want.auout, `${tag} averagePrecisionOut()`);
    near(closedSetAccuracy(isKnown, predicted, labels), want.closedAcc, `${tag} closedSetAccuracy()`);
    near(oscr(scores, isKnown, predicted, labels), want.oscr, `${tag} oscr()`);
  }
});

test('metrics are fractions in [0, 1] on continuous random scores', () => {
  const { rng, seed } = seeded();
  const n = 500;
  const isKnown = Array.from({ length: n }, (_, i) => i % 3 !== 0);
  const scores = isKnown.map((k) => rng.normal() + (k ? 1 : 0));
  const labels = isKnown.map((k) => (k ? rng.int(6) : -1));
  const predicted = labels.map((l) => (rng.uniform() < 0.9 ? l : 0));
  const m = openSetMetrics(scores, isKnown, predicted, labels);
  for (const [key, v] of Object.entries(m)) assert.ok(v >= 0 && v <= 1, `${key} = ${v} (seed ${seed})`);
  assert.ok(m.auroc > 0.6 && m.oscr <= m.auroc, `auroc ${m.auroc}, oscr ${m.oscr} (seed ${seed})`);
});

test('clear errors', () => {
  assert.throws(() => openSetMetrics([1, 2], [1, 1], [0, 0], [0, 0]), /no unknown test samples/);
  assert.throws(() => openSetMetrics([1, 2], [0, 0], [0, 0], [0, 0]), /no known test samples/);
  assert.throws(() => openSetMetrics([1, NaN], [1, 0], [0, 0], [0, 0]), /score 1 is NaN/);
  assert.throws(() => openSetMetrics([1, 2, 3], [1, 0], [0, 0], [0, 0]), /3 scores but 2 isKnown flags/);
  assert.throws(() => openSetMetrics([1, 2], [1, 0], [0], [0, 0]), /1 predicted classes and 2 labels/);
  assert.throws(() => tnrAtTpr([1, 2], [1, 0], 0), /tpr must be in \(0, 1\]/);
});

test.run();
