import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { contrastiveLoss, simclrLoss, supconLoss, type Views } from '../src/losses/index.js';
import { tensor } from '../src/creation.js';
import { Tensor } from '../src/tensor.js';
import type { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { checkOp, type InputSpec } from './check-op.js';
import { read, setupGpu, upload } from './helpers.js';

const test = suite('contrastive');
test.before(setupGpu);

/** Float64 reference: per-anchor theta * SupCon_r + lambda * SimCLR_r over samples z [2N, D]. */
function refPerAnchor(z: Float64Array, n: number, d: number, labels: readonly number[] | null, tau: number, theta: number, lambda: number): Float64Array {
  const m = 2 * n;
  const sim = new Float64Array(m * m);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < m; c++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += z[r * d + k] * z[c * d + k];
      sim[r * m + c] = acc / tau;
    }
  }
  const s = (r: number, c: number) => sim[r * m + c];
  const out = new Float64Array(m);
  for (let r = 0; r < m; r++) {
    let top = -Infinity;
    for (let c = 0; c < m; c++) if (c !== r) top = Math.max(top, s(r, c));
    let total = 0;
    for (let c = 0; c < m; c++) if (c !== r) total += Math.exp(s(r, c) - top);
    const lse = top + Math.log(total);
    const label = (i: number) => (labels ? labels[i % n] : i % n);
    let pos = 0;
    let count = 0;
    for (let c = 0; c < m; c++) {
      if (c !== r && label(c) === label(r)) {
        pos += lse - s(r, c);
        count++;
      }
    }
    out[r] = theta * (pos / count) + lambda * (lse - s(r, (r + n) % m));
  }
  return out;
}

const mean = (v: Float64Array) => Float64Array.of(v.reduce((a, b) => a + b, 0) / v.length);
const concat = (a: Float64Array, b: Float64Array) => Float64Array.of(...a, ...b);

/** Random rows of length d, L2-normalised (scaled by `norm`, which only the any-z test changes). */
const unitRows =
  (d: number, norm = 1) =>
  (rng: Rng, count: number) => {
    const v = new Float64Array(count);
    for (let i = 0; i < count; i++) v[i] = rng.normal();
    for (let r = 0; r < count / d; r++) {
      let len = 0;
      for (let k = 0; k < d; k++) len += v[r * d + k] ** 2;
      const scale = norm / Math.sqrt(len);
      for (let k = 0; k < d; k++) v[r * d + k] *= scale;
    }
    return v;
  };

type Loss = 'simclr' | 'supcon' | 'combined';

interface Case {
  loss: Loss;
  n: number;
  d: number;
  labels?: number[];
  tau?: number;
  theta?: number;
  lambda?: number;
  reduction?: 'mean' | 'none';
  /** Pass one stacked [2N, D] tensor instead of two [N, D] views. */
  stacked?: boolean;
  /** Check view 2's gradient (pair form only; default true). */
  gradZ2?: boolean;
  norm?: number;
  /** Skip the gradient (its finite differences cost O(N^3 D^2) on the CPU). */
  forwardOnly?: boolean;
}

function runLoss(c: Case, views: Views): Tensor {
  const opts = { tau: c.tau, reduction: c.reduction };
  if (c.loss === 'simclr') return simclrLoss(views, opts);
  const labels = tensor(c.labels!, [c.n], { dtype: 'int32' });
  if (c.loss === 'supcon') return supconLoss(views, labels, opts);
  return contrastiveLoss(views, labels, { ...opts, theta: c.theta, lambda: c.lambda });
}

async function check(c: Case): Promise<void> {
  const tau = c.tau ?? 0.05;
  const [theta, lambda] = c.loss === 'simclr' ? [0, 1] : c.loss === 'supcon' ? [1, 0] : [c.theta ?? 1, c.lambda ?? 1];
  const ref = (z: Float64Array) => {
    const perAnchor = refPerAnchor(z, c.n, c.d, c.loss === 'simclr' ? null : c.labels!, tau, theta, lambda);
    return c.reduction === 'none' ? perAnchor : mean(perAnchor);
  };
  const name = JSON.stringify({ ...c, labels: undefined });
  const rows = (count: number): InputSpec => ({ shape: [count, c.d], make: unitRows(c.d, c.norm) });
  if (c.stacked) {
    await checkOp({ name, inputs: [rows(2 * c.n)], run: (z) => runLoss(c, z), ref, forwardOnly: c.forwardOnly });
  } else {
    await checkOp({
      name,
      inputs: [rows(c.n), { ...rows(c.n), grad: c.gradZ2 ?? true }],
      run: (z1, z2) => runLoss(c, [z1, z2]),
      ref: (z1, z2) => ref(concat(z1, z2)),
      forwardOnly: c.forwardOnly,
    });
  }
}

// 2N = 2, 14 and 66 anchors; D = 3, 16 and 128. 2N = 66 with D = 128 is checked forward only.
const SIZES: [number, number][] = [
  [1, 3],
  [7, 3],
  [7, 128],
  [33, 3],
  [33, 16],
];

test('SimCLR forward and gradient, mean and per-anchor, pair and stacked views', async () => {
  for (const [n, d] of SIZES) {
    await check({ loss: 'simclr', n, d });
    await check({ loss: 'simclr', n, d, reduction: 'none', stacked: true });
  }
});

// Labels 1 and 3 appear once in the batch of 7: their anchors' only positive is the other view.
const LABELS_7 = [0, 2, 0, 1, 2, 0, 3];
const labels33 = Array.from({ length: 33 }, (_, i) => (i < 3 ? 10 + i : (i * 7) % 5));

test('SupCon with shared classes, classes that appear once, and N = 1', async () => {
  await check({ loss: 'supcon', n: 1, d: 3, labels: [4] });
  await check({ loss: 'supcon', n: 7, d: 3, labels: LABELS_7 });
  await check({ loss: 'supcon', n: 7, d: 128, labels: LABELS_7, reduction: 'none' });
  await check({ loss: 'supcon', n: 33, d: 16, labels: labels33, stacked: true });
  await check({ loss: 'supcon', n: 33, d: 3, labels: labels33, reduction: 'none', tau: 0.2 });
});

test('2N = 66 anchors with D = 128 (forward)', async () => {
  await check({ loss: 'simclr', n: 33, d: 128, reduction: 'none', forwardOnly: true });
  await check({ loss: 'supcon', n: 33, d: 128, labels: labels33, reduction: 'none', forwardOnly: true });
  await check({ loss: 'combined', n: 33, d: 128, labels: labels33, stacked: true, forwardOnly: true });
});

test('SupCon with every label distinct equals SimCLR; with one label all samples are positives', async () => {
  await check({ loss: 'supcon', n: 7, d: 3, labels: [0, 1, 2, 3, 4, 5, 6], reduction: 'none' });
  await check({ loss: 'supcon', n: 7, d: 3, labels: [5, 5, 5, 5, 5, 5, 5], reduction: 'none' });
});

test('combined theta * SupCon + lambda * SimCLR', async () => {
  await check({ loss: 'combined', n: 7, d: 128, labels: LABELS_7 });
  await check({ loss: 'combined', n: 33, d: 16, labels: labels33, theta: 0.7, lambda: 1.2, reduction: 'none' });
  await check({ loss: 'combined', n: 1, d: 3, labels: [0], theta: 2, lambda: 0.5, stacked: true });
});

test('gradient to view 1 only (view 2 needs none), as for the mixed-view SimCLR term', async () => {
  await check({ loss: 'simclr', n: 7, d: 128, reduction: 'none', gradZ2: false });
  await check({ loss: 'combined', n: 7, d: 3, labels: LABELS_7, gradZ2: false });
});

test('features that are not unit vectors', async () => {
  await check({ loss: 'combined', n: 7, d: 3, labels: LABELS_7, norm: 3, tau: 0.5, reduction: 'none' });
  await check({ loss: 'simclr', n: 7, d: 128, norm: 0.3 });
});

test('per-anchor losses are ordered view-1 anchors then view-2 anchors', async () => {
  // Image 0's views coincide, image 1's are orthogonal: anchor rows 0 and 2 (image 0) have the
  // smaller loss.
  await scope(async () => {
    const z1 = upload([1, 0, 0, 0, 1, 0], [2, 3]);
    const z2 = upload([1, 0, 0, 0, 0, 1], [2, 3]);
    const loss = await read(simclrLoss([z1, z2], { reduction: 'none', tau: 1 }));
    const want = refPerAnchor(Float64Array.of(1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1), 2, 3, null, 1, 0, 1);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(loss[i] - want[i]) < 1e-5, `anchor ${i}: ${loss[i]} != ${want[i]}`);
    assert.ok(loss[0] < loss[1] && loss[2] < loss[3]);
  });
});

test('bad shapes, labels and options are clear errors', () => {
  scope(() => {
    const z = upload(new Float32Array(12), [4, 3]);
    const odd = upload(new Float32Array(9), [3, 3]);
    const other = upload(new Float32Array(8), [2, 4]);
    const labels = tensor([0, 1, 2, 3], [4], { dtype: 'int32' });
    const floatLabels = upload([0, 1], [2]);
    assert.throws(() => simclrLoss(odd), /simclrLoss: stacked features must have shape \[2N, D\].*\[3, 3\]/);
    assert.throws(() => simclrLoss([z, other]), /simclrLoss: view 2 features have shape \[2, 4\], view 1 features \[4, 3\]/);
    assert.throws(() => supconLoss(z, labels), /supconLoss: labels have shape \[4\], expected \[2\]/);
    assert.throws(() => supconLoss(z, floatLabels), /supconLoss: labels must be int32/);
    assert.throws(() => simclrLoss(z, { tau: 0 }), /simclrLoss: tau must be a finite number > 0, got 0/);
    assert.throws(() => contrastiveLoss([z, z], labels, { lambda: -1 }), /contrastiveLoss: lambda must be a finite number >= 0/);
    assert.throws(() => simclrLoss(z, { reduction: 'sum' as 'mean' }), /simclrLoss: reduction must be 'mean' or 'none'/);
  });
});

test.run();
