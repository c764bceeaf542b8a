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
  type AttentionNet,
} from '../src/gradmix/attentive-cutmix.js';
import { loadAttention } from '../src/gradmix/index.js';
import { Rng } from '../src/random.js';
import type { Tensor } from '../src/tensor.js';
import * as ops from '../src/ops/index.js';
import { FORWARD_TOL, assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { bilinearResize } from './gradmix-ref.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TorchvisionResNet } from '../src/nn/torchvision-resnet.js';
import { float32Tensor, toHost, writeSafetensors, type HostTensor } from '../src/checkpoint/index.js';
import { train } from '../src/train/train.js';
import { main } from '../src/cli/main.js';
import { rejects, removeTempDirs, tempDir } from './data-fixtures.js';
import { writeShapesFolder } from './shapes-folder.js';
import { TrainingSession } from '../src/browser/session.js';
import { attributionPanels } from '../src/train/panels.js';
import { panelColumns, renderPanels } from '../src/train/panel-image.js';
import { resolveOptions } from '../src/train/options.js';
import { augmentPreset } from '../src/augment/index.js';
import { SupConResNet } from '../src/nn/index.js';
import { loadProtocol } from '../src/data/index.js';

const test = suite('attentive-cutmix');
test.before(setupGpu);
test.after(removeTempDirs);

type Dims = [number, number, number, number];

/** [start, end) of cell i of an n-pixel axis split into g cells (the documented rule). */
const span = (i: number, n: number, g: number) => [Math.floor((i * n) / g), Math.floor(((i + 1) * n) / g)];

/** Float64 reference of attentionGrid: channel sum, adaptive average pooling to g x g. */
function refGrid(feat: Float64Array, [B, F, FH, FW]: Dims, g: number): Float64Array {
  const out = new Float64Array(B * g * g);
  for (let b = 0; b < B; b++) {
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++) {
        const [y0, y1] = [Math.floor((gy * FH) / g), Math.ceil(((gy + 1) * FH) / g)];
        const [x0, x1] = [Math.floor((gx * FW) / g), Math.ceil(((gx + 1) * FW) / g)];
        let s = 0;
        for (let f = 0; f < F; f++) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += feat[((b * F + f) * FH + y) * FW + x];
        out[(b * g + gy) * g + gx] = s / ((y1 - y0) * (x1 - x0));
      }
    }
  }
  return out;
}

/** The k best cells of one grid row: highest score first, ties to the lowest index. */
function refTopK(scores: ArrayLike<number>, k: number): Set<number> {
  const idx = Array.from(scores, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return new Set(idx.slice(0, k));
}

/** Float64 reference of attentivePaste: mixed images, 0/1 cells and weights. */
function refPaste(x: Float64Array, [B, C, H, W]: Dims, scores: Float64Array, g: number, partner: Int32Array, k: number) {
  const mixed = x.slice();
  const cells = new Float64Array(B * g * g);
  const weights = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const j = partner[b];
    const chosen = refTopK(scores.subarray(j * g * g, (j + 1) * g * g), k);
    for (const c of chosen) {
      cells[b * g * g + c] = 1;
      const [y0, y1] = span(Math.floor(c / g), H, g);
      const [x0, x1] = span(c % g, W, g);
      weights[b] += ((y1 - y0) * (x1 - x0)) / (H * W);
      for (let ch = 0; ch < C; ch++) {
        for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) mixed[((b * C + ch) * H + y) * W + xx] = x[((j * C + ch) * H + y) * W + xx];
      }
    }
  }
  return { mixed, cells, weights };
}

function randomImages(rng: Rng, dims: Dims): Float64Array {
  return randomArray(rng, dims[0] * dims[1] * dims[2] * dims[3], 0, 1).map(Math.fround);
}

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

/** A stand-in attention network: its 'feature map' is its input, so the grid is the image's own pooled pixel sum. */
function identityNet(): AttentionNet & { evalCalls: number } {
  return {
    evalCalls: 0,
    featureMap: (x: Tensor) => ops.clone(x),
    eval() {
      this.evalCalls++;
      return this;
    },
  };
}

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

/** A random torchvision ResNet18 of width 2 saved as .safetensors, the attention model of the runs below. */
async function attentionFile(dir: string): Promise<string> {
  const net = new TorchvisionResNet(new Rng(7), { width: 2, numClasses: 5 });
  const file = join(dir, 'attention.safetensors');
  await writeSafetensors(file, await Promise.all([...net.stateDict()].map(async ([name, t]) => [name, await toHost(name, t)] as [string, HostTensor])));
  net.dispose();
  return file;
}

/** Runs `gradmix <argv>` in this process; returns its exit status and what it printed to stderr. */
async function gradmix(...argv: string[]): Promise<{ code: number; err: string }> {
  const error = console.error;
  let err = '';
  console.error = (...a: unknown[]) => void (err += `${a.join(' ')}\n`);
  try {
    return { code: await main(argv), err };
  } finally {
    console.error = error;
  }
}

test('a torchvision ResNet as the attention network: 7 x 7 grid at 224, eval mode, a 1-channel batch', async () => {
  const net = new TorchvisionResNet(new Rng(1), { width: 2 });
  net.train();
  const x = upload(randomImages(new Rng(2), [3, 1, 12, 10]), [3, 1, 12, 10]);
  const m = attentiveMixWith(x, net, Int32Array.from([1, 2, 0]));
  assert.is(net.training, false, 'BatchNorm in eval mode (running statistics)');
  assert.equal(m.scores.shape, [3, 7, 7]);
  const direct = ops.noGrad(() => attentionGrid(net.featureMap(attentionInput(x, 224)), 7));
  assertClose(await read(m.scores), await read(direct), FORWARD_TOL, 'grid of the last feature map');
  assert.equal(
    [...(await read(m.cells))].reduce((a, b) => a + b, 0),
    3 * 6,
  );
  net.dispose();
});

test('picture panels: the partner with its attention grid, the cells taken outlined, the mixed image; columns named for the method', async () => {
  const { rng, seed } = seeded();
  const [b, c, h, w, g, k] = [3, 1, 10, 7, 3, 2];
  const images = Float32Array.from(randomImages(rng, [b, c, h, w]));
  const o = resolveOptions({ method: 'attentive-cutmix', attentionModel: 'net.safetensors', attentionGrid: g, attentionTopK: k });
  const augment = augmentPreset('mnist', [h, w]);
  const model = new SupConResNet(new Rng(1), { width: 2, inChannels: 1 });
  await rejects(() => attributionPanels(model, o, augment, images, [b, c, h, w]), /attentive-cutmix panels need its attention network/);
  const attention = { ...(await loadAttention(identityNet())), imageMean: augment.mean, imageStd: augment.std };
  const p = await attributionPanels(model, o, augment, images, [b, c, h, w], { attention, plainView1: true });
  // The same draws again, as tensors: the panels are the training's mixing of these views.
  const again = attentiveCutmix(upload(p.view1, [b, c, h, w]), identityNet(), new Rng(o.seed ^ 0x2545f491), { grid: g, topK: k, imageMean: augment.mean, imageStd: augment.std });
  const scores = await read(again.scores);
  const ref = refPaste(Float64Array.from(p.view1), [b, c, h, w], scores, g, again.partner, k);
  assert.equal([...p.mixed], [...ref.mixed].map(Math.fround), `mixed (seed ${seed})`);
  for (let i = 0; i < b; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const cell = [0, 1, 2].find((r) => span(r, h, g)[0] <= y && y < span(r, h, g)[1])! * g + [0, 1, 2].find((q) => span(q, w, g)[0] <= x && x < span(q, w, g)[1])!;
        assert.is(p.region![(i * h + y) * w + x], ref.cells[i * g * g + cell], `region at image ${i} (${y}, ${x})`);
        const j = again.partner[i];
        assert.ok(Math.abs(p.cam[(i * h + y) * w + x] - scores[j * g * g + cell]) < 1e-6, "cam is the partner's grid");
        for (let ch = 0; ch < c; ch++) assert.is(p.partner![((i * c + ch) * h + y) * w + x], p.view1[((j * c + ch) * h + y) * w + x], "the partner's view");
      }
    }
  }
  assert.equal(panelColumns({ method: 'attentive-cutmix' }), ['view 1', 'partner attention', 'cells taken', 'mixed']);
  const img = renderPanels(p, augment.mean, augment.std, 2, b, { method: 'attentive-cutmix', epoch: 1 });
  assert.is(img.width, 4 * w * 2 + 5 * 2);
  model.dispose();
});

const quick = { width: 2, epochs: 1, batchSize: 12, maxTrain: 24, progress: false, method: 'attentive-cutmix' as const };

test('train --method attentive-cutmix end to end on mnist-mini: finite mixed term, the attention model in config.json, pictures', async () => {
  const dir = tempDir();
  const attentionModel = await attentionFile(dir);
  const out = join(dir, 'run');
  const r = await train({ ...quick, attentionModel, out, evaluate: false, pictures: true });
  assert.ok(existsSync(join(out, 'pictures', 'epoch-001.png')), 'the picture grid of the epoch');
  const steps = readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; mixed?: number })
    .filter((l) => l.kind === 'step');
  assert.is(steps.length, 2);
  assert.ok(
    steps.every((l) => Number.isFinite(l.mixed) && l.mixed! > 0),
    `a finite mixed term each step: ${JSON.stringify(steps)}`,
  );
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.is(config.attentionModel, attentionModel);
  assert.is(config.attentionGrid, 7);
  assert.is(config.attentionTopK, 6);
  assert.ok(existsSync(r.checkpoint));
  // Interrupted after its first step, the run resumes from its own config.json (the attention model's path included).
  const out2 = join(dir, 'resumed');
  const stop = new AbortController();
  await train({ ...quick, attentionModel, out: out2, evaluate: false }, { signal: stop.signal, onStep: () => stop.abort() });
  const resumed = await gradmix('train', '--out', out2, '--resume');
  assert.is(resumed.code, 0, resumed.err);
  const resumedSteps = readFileSync(join(out2, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; step?: number })
    .filter((l) => l.kind === 'step');
  assert.equal(
    resumedSteps.map((l) => l.step),
    [1, 2],
  );
});

test('gradmix train --method attentive-cutmix on an image folder, evaluated; a grid and k of its own', async () => {
  const dir = tempDir();
  const attentionModel = await attentionFile(dir);
  const data = writeShapesFolder(join(dir, 'shapes'), { perClass: 8, colour: true });
  const out = join(dir, 'run');
  const r = await gradmix(
    'train',
    '--data',
    data,
    '--known',
    'bars,columns,disc',
    '--size',
    '20',
    '--width',
    '2',
    '--epochs',
    '1',
    '--batch',
    '8',
    '--method',
    'attentive-cutmix',
    '--attention-model',
    attentionModel,
    '--attention-grid',
    '3',
    '--attention-top-k',
    '2',
    '--quiet',
    '--out',
    out,
  );
  assert.is(r.code, 0, r.err);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { method: string; auroc: number };
  assert.is(results.method, 'attentive-cutmix');
  assert.ok(results.auroc >= 0 && results.auroc <= 1);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal([config.attentionGrid, config.attentionTopK], [3, 2]);
});

test("a page's TrainingSession takes the attention network as an object (no file access)", async () => {
  const data = await loadProtocol('mnist-mini', 0);
  const given = { method: 'attentive-cutmix' as const, attentionModel: 'resnet18.safetensors', width: 2, batchSize: 8, maxTrain: 16, epochs: 1 };
  assert.throws(() => new TrainingSession(data, given), /attentive-cutmix needs its attention network, loaded from resnet18\.safetensors/);
  const net = new TorchvisionResNet(new Rng(4), { width: 2 });
  const session = new TrainingSession(data, given, await loadAttention(net));
  const loss = await session.next();
  assert.ok(Number.isFinite(loss), `loss ${loss}`);
  session.model.dispose();
  net.dispose();
});

test('gradmix protocol and sweep plan accept the method with its flags', async () => {
  const dir = tempDir();
  const attentionModel = await attentionFile(dir);
  const out = join(dir, 'protocol');
  const r = await gradmix(
    'protocol',
    '--method',
    'attentive-cutmix',
    '--attention-model',
    attentionModel,
    '--splits',
    '0',
    '--width',
    '2',
    '--epochs',
    '1',
    '--batch',
    '12',
    '--max-train',
    '24',
    '--quiet',
    '--out',
    out,
  );
  assert.is(r.code, 0, r.err);
  assert.ok(existsSync(join(out, 'split0', 'results.json')) && existsSync(join(out, 'summary.json')));
  const sweep = join(dir, 'sweep');
  const p = await gradmix('sweep', 'plan', '--methods', 'cutmix,attentive-cutmix', '--attention-model', attentionModel, '--attention-top-k', '4', '--splits', '0', '--out', sweep);
  assert.is(p.code, 0, p.err);
  const runs = readFileSync(join(sweep, 'plan.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { method: string; options: Record<string, unknown> });
  assert.equal(
    runs.map((x) => [x.method, x.options.attentionModel, x.options.attentionTopK]),
    [
      ['cutmix', attentionModel, 4],
      ['attentive-cutmix', attentionModel, 4],
    ],
  );
  const bad = await gradmix('sweep', 'plan', '--methods', 'attentive-cutmix', '--splits', '0', '--out', join(dir, 'bad'));
  assert.match(bad.err, /run 0 \(mnist-mini split 0, attentive-cutmix, seed 0\): --method attentive-cutmix needs --attention-model/);
});

test('clear errors: the attention model missing, not a file, not a torchvision ResNet; a k the grid cannot hold', async () => {
  const dir = tempDir();
  await rejects(() => train({ ...quick, out: join(dir, 'a') }), /attentive-cutmix needs attentionModel/);
  let r = await gradmix('train', '--method', 'attentive-cutmix', '--out', join(dir, 'b'));
  assert.match(r.err, /--method attentive-cutmix needs --attention-model: a torchvision ResNet saved as \.safetensors/);
  r = await gradmix('train', '--method', 'attentive-cutmix', '--attention-model', join(dir, 'nothing.safetensors'), '--out', join(dir, 'c'));
  assert.match(r.err, /--attention-model .*nothing\.safetensors/);
  await rejects(() => train({ ...quick, attentionModel: join(dir, 'nothing.safetensors'), out: join(dir, 'd') }), /--attention-model/, /nothing\.safetensors/);
  const notResnet = join(dir, 'other.safetensors');
  await writeSafetensors(notResnet, [['encoder.conv1.weight', float32Tensor([2, 1, 3, 3], new Float32Array(18))]]);
  await rejects(() => train({ ...quick, attentionModel: notResnet, out: join(dir, 'e') }), /--attention-model/, /other\.safetensors/, /not a torchvision ImageNet ResNet/);
  r = await gradmix('train', '--method', 'attentive-cutmix', '--attention-model', notResnet, '--attention-grid', '2', '--attention-top-k', '5', '--out', join(dir, 'f'));
  assert.match(r.err, /--attention-top-k must be an integer in 1\.\.4, got 5/);
});

test.run();
