// Attentive CutMix's kernels (kernels/attentive_mix.wgsl, src/gradmix/attentive-cutmix.ts) against
// float64: the attention grid (channel sum, adaptive average pooling), the top-k cells with ties to
// the lowest index, the paste and its weights, the attention network's input, the whole mix with a
// stand-in network (chunked), and the clear errors. The runs with a real torchvision network, the
// CLI and the page: attentive-cutmix-runs.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  attentionGrid,
  attentionInput,
  attentiveMixWith,
  attentivePaste,
  attentiveCutmix,
  IMAGENET_MEAN,
  IMAGENET_STD,
  ATTENTIVE_GRID,
  ATTENTIVE_TOP_K,
  ATTENTION_CHUNK,
} from '../src/gradmix/attentive-cutmix.js';
import { Rng } from '../src/random.js';
import { FORWARD_TOL, assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { bilinearResize } from './gradmix-ref.js';
import { identityNet, randomImages, refGrid, refPaste, type Dims } from './attentive-ref.js';

const test = suite('attentive-cutmix');
test.before(setupGpu);

async function checkPaste(dims: Dims, g: number, k: number, scores: Float64Array, partner: Int32Array, what: string, seed: number) {
  const rng = new Rng(seed);
  const x = randomImages(rng, dims);
  const xT = upload(x, dims);
  const sT = upload(scores, [dims[0], g, g]);
  const got = attentivePaste(xT, sT, partner, k);
  const ref = refPaste(x, dims, scores, g, partner, k);
  assert.equal([...(await read(got.cells))], [...ref.cells], `${what}: chosen cells (seed ${seed})`);
  assert.equal([...(await read(got.mixed))], [...ref.mixed], `${what}: mixed images (seed ${seed})`);
  assertClose(await read(got.weights), ref.weights, 1e-6, `${what}: weights`, seed);
  for (const t of [xT, sT, got.mixed, got.cells, got.weights]) t.dispose();
  return ref;
}

test('grid scores: channel sum and adaptive average pooling match float64 (identity at g = h, overlapping cells, non-square)', async () => {
  const { rng, seed } = seeded();
  for (const [dims, g] of [
    [[2, 5, 7, 7], 7],
    [[3, 4, 7, 7], 3],
    [[2, 3, 6, 5], 4],
    [[1, 2, 2, 3], 5],
  ] as [Dims, number][]) {
    const feat = randomArray(
      rng,
      dims.reduce((a, b) => a * b),
      -1,
      1,
    );
    const t = upload(feat, dims);
    const s = attentionGrid(t, g);
    assert.equal(s.shape, [dims[0], g, g]);
    assertClose(await read(s), refGrid(feat, dims, g), FORWARD_TOL, `grid of ${dims} to ${g}`, seed);
    t.dispose();
    s.dispose();
  }
});

test('top-k paste against float64: random scores, k = 1, k = all cells, non-square and non-divisible images', async () => {
  const { rng, seed } = seeded();
  const cases: [Dims, number, number][] = [
    [[4, 3, 14, 14], 7, 6], // the paper's setting on a divisible size
    [[3, 1, 10, 13], 3, 1], // k = 1, H and W not divisible by g
    [[3, 2, 9, 5], 4, 16], // k = every cell: the partner's whole image
    [[2, 3, 5, 6], 7, 10], // g > H: some cells are empty
  ];
  for (const [dims, g, k] of cases) {
    const scores = randomArray(rng, dims[0] * g * g, -2, 2).map(Math.fround);
    const partner = Int32Array.from({ length: dims[0] }, (_, i) => (i + 1) % dims[0]);
    const ref = await checkPaste(dims, g, k, scores, partner, `${dims} g ${g} k ${k}`, seed);
    if (k === g * g)
      assert.equal(
        [...ref.weights].map((w) => Math.round(w * 1e9) / 1e9),
        Array(dims[0]).fill(1),
      );
  }
});

test('ties go to the lowest cell index', async () => {
  const g = 3;
  // Image 0's partner (1) scores: all equal -> cells 0, 1, 2; image 1's partner (0): a tie at the cut.
  const scores = new Float64Array([5, 1, 3, 3, 0, 3, 2, 2, 9, ...Array(9).fill(0.5)]);
  const partner = Int32Array.from([1, 0]);
  const ref = await checkPaste([2, 1, 6, 6], g, 3, scores, partner, 'ties', 0);
  assert.equal([...ref.cells.subarray(0, 9)], [1, 1, 1, 0, 0, 0, 0, 0, 0]);
  assert.equal([...ref.cells.subarray(9)], [1, 0, 1, 0, 0, 0, 0, 0, 1]); // 9, 5, then the first of the 3s (index 2 before 3 and 5)
});

test('weights are the pasted pixel fraction', async () => {
  const partner = Int32Array.from([1, 0]);
  // 14 x 14, 7 x 7 grid: 2 x 2 cells, k = 6 -> 24 / 196.
  const even = await checkPaste(
    [2, 1, 14, 14],
    7,
    6,
    Float64Array.from({ length: 98 }, (_, i) => -i),
    partner,
    'paper',
    0,
  );
  assert.ok(Math.abs(even.weights[0] - 6 / 49) < 1e-12);
  // 10 x 7, 3 x 3 grid: rows [0,3) [3,6) [6,10), columns [0,2) [2,4) [4,7); the best cell is the last (4 x 3 = 12 of 70 pixels).
  const odd = await checkPaste(
    [2, 1, 10, 7],
    3,
    1,
    Float64Array.from({ length: 18 }, (_, i) => i % 9),
    partner,
    'uneven',
    0,
  );
  assert.ok(Math.abs(odd.weights[0] - 12 / 70) < 1e-12);
});

test('attention input: grey repeated to RGB, resized bilinearly, renormalised to ImageNet statistics', async () => {
  const { rng, seed } = seeded();
  for (const C of [1, 3]) {
    const dims: Dims = [2, C, 5, 7];
    const x = randomArray(rng, 2 * C * 35, -2, 2).map(Math.fround);
    const mean = Array.from({ length: C }, (_, i) => 0.1 * (i + 1));
    const std = Array.from({ length: C }, (_, i) => 0.2 + 0.1 * i);
    const t = upload(x, dims);
    const got = attentionInput(t, 9, mean, std);
    assert.equal(got.shape, [2, 3, 9, 9]);
    const ref = new Float64Array(2 * 3 * 81);
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 3; c++) {
        const src = C === 3 ? c : 0;
        const plane = x.subarray((b * C + src) * 35, (b * C + src + 1) * 35).map((v) => v * std[src] + mean[src]);
        const r = bilinearResize(plane, 5, 7, 9, 9);
        ref.set(
          r.map((v) => (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c]),
          (b * 3 + c) * 81,
        );
      }
    }
    assertClose(await read(got), ref, FORWARD_TOL, `attention input from ${C} channel(s)`, seed);
    t.dispose();
    got.dispose();
  }
});

test("attentive CutMix end to end with a stand-in network: the partner's own attention chooses the cells", async () => {
  const { rng, seed } = seeded();
  const dims: Dims = [3, 1, 8, 6];
  const x = randomImages(rng, dims);
  const t = upload(x, dims);
  const net = identityNet();
  const partner = Int32Array.from([2, 0, 1]);
  const got = attentiveMixWith(t, net, partner, { grid: 2, topK: 1, inputSize: 4 });
  assert.is(net.evalCalls, 1, 'the network is put in eval mode');
  const input = await read(attentionInput(t, 4));
  const scores = refGrid(input, [3, 3, 4, 4], 2);
  assertClose(await read(got.scores), scores, FORWARD_TOL, 'scores', seed);
  const ref = refPaste(x, dims, Float64Array.from(await read(got.scores)), 2, partner, 1);
  assert.equal([...(await read(got.mixed))], [...ref.mixed]);
  assert.equal(
    [...(await read(got.weights))].map((w) => Math.round(w * 1e6)),
    [...ref.weights].map((w) => Math.round(w * 1e6)),
  );
  // A batch over ATTENTION_CHUNK images runs the network in chunks: the same grids as one pass.
  const many = upload(randomImages(rng, [ATTENTION_CHUNK + 5, 1, 4, 4]), [ATTENTION_CHUNK + 5, 1, 4, 4]);
  const chunked = attentiveMixWith(
    many,
    identityNet(),
    Int32Array.from({ length: ATTENTION_CHUNK + 5 }, (_, i) => (i + 1) % (ATTENTION_CHUNK + 5)),
    { grid: 2, topK: 2, inputSize: 4 },
  );
  assertClose(await read(chunked.scores), refGrid(await read(attentionInput(many, 4)), [ATTENTION_CHUNK + 5, 3, 4, 4], 2), FORWARD_TOL, 'chunked scores', seed);
  // The sampling wrapper draws a derangement and uses the paper's defaults.
  const big = upload(randomImages(rng, [4, 3, 14, 14]), [4, 3, 14, 14]);
  const m = attentiveCutmix(big, identityNet(), new Rng(seed));
  assert.ok(
    m.partner.every((j, i) => j !== i),
    'no image is its own partner',
  );
  assert.equal(m.cells.shape, [4, ATTENTIVE_GRID, ATTENTIVE_GRID]);
  assert.equal(
    [...(await read(m.cells))].reduce((a, b) => a + b, 0),
    4 * ATTENTIVE_TOP_K,
  );
});

test('bad arguments get clear errors', () => {
  const x = upload(new Float64Array(2 * 16), [2, 1, 4, 4]);
  const s = upload(new Float64Array(2 * 9), [2, 3, 3]);
  const partner = Int32Array.from([1, 0]);
  assert.throws(() => attentivePaste(x, s, partner, 0), /top-k must be an integer in 1\.\.9/);
  assert.throws(() => attentivePaste(x, s, partner, 10), /top-k must be an integer in 1\.\.9 \(the cells of a 3 x 3 grid\), got 10/);
  assert.throws(() => attentivePaste(x, s, Int32Array.from([1, 2]), 1), /partner 2 of image 1 is outside the batch of 2/);
  assert.throws(() => attentivePaste(x, upload(new Float64Array(9), [1, 3, 3]), partner, 1), /scores must be \[2, g, g\]/);
  assert.throws(() => attentionGrid(s, 2), /expected a non-empty feature map \[B, F, h, w\]/);
  assert.throws(() => attentionGrid(x, 0), /grid side must be a positive integer, got 0/);
  assert.throws(() => attentiveCutmix(upload(new Float64Array(16), [1, 1, 4, 4]), identityNet(), new Rng(0)), /mixing needs at least 2 images/);
});

test.run();
