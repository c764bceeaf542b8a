// The evaluation's SVG plots: x-axis ticks fitted to the scores' range in 1-2-5 steps (kNN scores
// in a narrow band, unbounded entropy-like scores, a constant score), axis titles that name the
// score, and writeEvaluation's scores.svg and roc.svg naming the score the evaluation used.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { histogramSvg, niceTicks, rocSvg, scoreAxisLabel } from '../src/osr/plots.js';
import { writeEvaluation } from '../src/osr/report.js';
import type { Evaluation } from '../src/osr/evaluate.js';
import { Rng } from '../src/random.js';

const test = suite('plots');

/** The text of the labels under the x axis (tick labels), left to right. */
const xTickLabels = (svg: string) => [...svg.matchAll(/<text x="([\d.]+)" y="292" text-anchor="middle">([^<]*)<\/text>/g)].map((m) => m[2]);
/** x of every bar's left and right edges. */
const barEdges = (svg: string) => [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].flatMap((m) => [Number(m[1]), Number(m[1]) + Number(m[2])]);
const uniform = (n: number, lo: number, hi: number, seed: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
};
const halves = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i < n / 2 ? 1 : 0));

test('niceTicks: 1-2-5 steps covering the range', () => {
  assert.equal(niceTicks(0.2, 0.35), { values: [0.2, 0.25, 0.3, 0.35], step: 0.05, decimals: 2 });
  assert.equal(niceTicks(-3, 40), { values: [-10, 0, 10, 20, 30, 40], step: 10, decimals: 0 });
  assert.equal(niceTicks(0, 1).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.equal(niceTicks(0.213, 0.347).values, [0.2, 0.25, 0.3, 0.35], 'rounded out to the step');
  assert.equal(niceTicks(0.21, 0.29).values, [0.2, 0.22, 0.24, 0.26, 0.28, 0.3]);
  assert.equal(niceTicks(-2.5e-4, 1.2e-3), { values: [-5e-4, 0, 5e-4, 10e-4, 15e-4], step: 5e-4, decimals: 4 });
  assert.equal(niceTicks(120, 43000).step, 10000);
  for (const v of [0, 0.5, -7, 1e6]) {
    const t = niceTicks(v, v);
    assert.ok(t.values.length >= 2 && t.values[0] <= v && t.values[t.values.length - 1] >= v && t.step > 0, `constant ${v}: ${JSON.stringify(t)}`);
  }
  assert.equal(niceTicks(Infinity, -Infinity).values, [0, 0.2, 0.4, 0.6, 0.8, 1], 'no finite value: [0, 1]');
});

test('histogramSvg: ticks follow kNN scores in [0.2, 0.35], bars inside the axes', () => {
  const scores = uniform(200, 0.2, 0.35, 1);
  const svg = histogramSvg(scores, halves(200), 30, 'kNN', scoreAxisLabel('knn', 3));
  assert.equal(xTickLabels(svg), ['0.20', '0.25', '0.30', '0.35']);
  assert.match(svg, 'kNN score (k = 3): max_c d_c / sum_c d_c; higher = more known');
  const edges = barEdges(svg).slice(1); // the first rect is the white background
  assert.ok(
    edges.every((x) => x >= 52 - 0.05 && x <= 52 + 352 + 0.05),
    'bars within the plot',
  );
  assert.not.match(svg, /NaN|Infinity/);
});

test('histogramSvg: unbounded scores in [-3, 40] (entropy, NNO) get ticks of 10', () => {
  const scores = [-3, 40, ...uniform(100, -3, 40, 2)];
  const svg = histogramSvg(scores, halves(102), 30, 'entropy', scoreAxisLabel('entropy'));
  assert.equal(xTickLabels(svg), ['-10', '0', '10', '20', '30', '40']);
  assert.match(svg, 'negative softmax entropy; higher = more known');
  assert.not.match(svg, /NaN|Infinity/);
});

test('histogramSvg: a constant score and non-finite scores draw without dividing by zero', () => {
  const svg = histogramSvg(new Array(10).fill(0.5), halves(10));
  const ticks = xTickLabels(svg).map(Number);
  assert.ok(ticks.length >= 2 && ticks[0] < 0.5 && ticks[ticks.length - 1] > 0.5, `ticks around 0.5: ${ticks}`);
  assert.not.match(svg, /NaN|Infinity/);
  const withInf = histogramSvg([0.1, 0.2, Infinity, NaN], [1, 0, 1, 0]);
  assert.not.match(withInf, /NaN|Infinity/);
  assert.match(withInf, '2 non-finite scores not shown');
  assert.equal(xTickLabels(withInf), ['0.10', '0.12', '0.14', '0.16', '0.18', '0.20']);
});

test('rocSvg: both axes named, rates ticked 0 to 1', () => {
  const svg = rocSvg([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], 0.75);
  assert.equal(xTickLabels(svg), ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
  assert.match(svg, 'false positive rate (unknown images accepted as known)');
  assert.match(svg, 'true positive rate (known images accepted)');
});

test("writeEvaluation's plots name the evaluation's score", async () => {
  const out = mkdtempSync(join(tmpdir(), 'gradmix-plots-'));
  try {
    const n = 40;
    const evaluation = (score: Evaluation['score'], scores: number[]): Evaluation => ({
      metrics: { auroc: 0.8, tnr95: 0.5, dtacc: 0.7, auin: 0.8, auout: 0.8, closedAcc: 0.9, oscr: 0.7 },
      scores: Float32Array.from(scores),
      predicted: new Int32Array(n),
      labels: new Int32Array(n),
      isKnown: halves(n),
      counts: { train: 10, testKnown: n / 2, testUnknown: n / 2 },
      score,
      intrinsicDim: 3,
    });
    await writeEvaluation(out, evaluation('knn', uniform(n, 0.2, 0.35, 3)), { k: 5 });
    const knn = readFileSync(join(out, 'scores.svg'), 'utf8');
    assert.match(knn, 'kNN score (k = 5)');
    assert.equal(xTickLabels(knn), ['0.20', '0.25', '0.30', '0.35']);
    assert.match(readFileSync(join(out, 'roc.svg'), 'utf8'), 'ROC of the kNN (k = 5) score');
    await writeEvaluation(out, evaluation('nno', uniform(n, -40, -3, 4)), { k: 5 });
    const nno = readFileSync(join(out, 'scores.svg'), 'utf8');
    assert.match(nno, 'NNO: minus Mahalanobis distance to the nearest class mean');
    assert.not.match(nno, 'k = 5', 'NNO has no k');
    assert.equal(xTickLabels(nno), ['-40', '-30', '-20', '-10', '0']);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
