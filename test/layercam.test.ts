import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { layerCam, type CamNormalize, type LayerCam } from '../src/gradmix/index.js';
import * as ops from '../src/ops/index.js';
import { Tensor, setPoisonNewTensors } from '../src/tensor.js';
import { attribution, type MixingConfig, type MixingTarget } from '../src/train/mixing.js';
import { scope } from '../src/scope.js';
import type { Rng } from '../src/random.js';
import { gpu } from '../runtime/gpu.js';
import { FORWARD_TOL, assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { bilinearResize } from './gradmix-ref.js';

const test = suite('layercam');
test.before(setupGpu);

/** [C, h, w] of one layer; the batch is shared. */
type LayerDims = [number, number, number];

interface Layer {
  dims: LayerDims;
  a: Float64Array;
  g: Float64Array;
}

/** Float64 reference of docs/TRAINING.md section 3: the summed map [B, outH, outW]. */
function refLayerCam(B: number, layers: Layer[], outH: number, outW: number, normalize: CamNormalize): Float64Array {
  const map = new Float64Array(B * outH * outW);
  for (const {
    dims: [C, h, w],
    a,
    g,
  } of layers) {
    const hw = h * w;
    const cam = new Float64Array(B * hw);
    for (let b = 0; b < B; b++) {
      for (let q = 0; q < hw; q++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += Math.max(g[(b * C + c) * hw + q], 0) * a[(b * C + c) * hw + q];
        cam[b * hw + q] = Math.max(s, 0);
      }
    }
    const range = (from: number, to: number) => {
      const part = cam.subarray(from, to);
      return [Math.min(...part), Math.max(...part)];
    };
    for (let b = 0; b < B; b++) {
      const [lo, hi] = normalize === 'batch' ? range(0, B * hw) : range(b * hw, (b + 1) * hw);
      const norm = cam.slice(b * hw, (b + 1) * hw).map((v) => (v - lo) / (hi - lo + 1e-8));
      const up = bilinearResize(norm, h, w, outH, outW);
      for (let q = 0; q < outH * outW; q++) map[b * outH * outW + q] += up[q];
    }
  }
  return map;
}

function randomLayers(rng: Rng, B: number, dims: LayerDims[]): Layer[] {
  const f32 = (x: Float64Array) => x.map(Math.fround);
  return dims.map((d) => {
    const n = B * d[0] * d[1] * d[2];
    return { dims: d, a: f32(randomArray(rng, n, -0.5, 1)), g: f32(randomArray(rng, n)) };
  });
}

/** Runs layerCam on the GPU; returns the map and the centres. */
async function runCam(B: number, layers: Layer[], outH: number, outW: number, normalize: CamNormalize): Promise<{ map: Float64Array; centres: Int32Array }> {
  return scope(async () => {
    const as = layers.map((l) => upload(l.a, [B, ...l.dims]));
    const gs = layers.map((l) => upload(l.g, [B, ...l.dims]));
    const out = layerCam(as, gs, outH, outW, { normalize });
    assert.equal(out.map.shape, [B, outH, outW]);
    assert.equal(out.centres.shape, [B]);
    assert.is(out.centres.dtype, 'int32');
    return { map: await read(out.map), centres: (await out.centres.data()) as Int32Array };
  });
}

/** Each centre must be a maximum of the reference map (the exact index is checked by the tie tests). */
function assertCentres(centres: Int32Array, ref: Float64Array, B: number, plane: number, what: string): void {
  for (let b = 0; b < B; b++) {
    const row = ref.subarray(b * plane, (b + 1) * plane);
    const best = Math.max(...row);
    const c = centres[b];
    assert.ok(c >= 0 && c < plane, `${what}: centre ${c} of image ${b} is outside the map`);
    assert.ok(row[c] >= best - 1e-5 * Math.max(1, best), `${what}: centre ${c} of image ${b} has ${row[c]}, the maximum is ${best} at ${row.indexOf(best)}`);
  }
}

const CASES: { B: number; dims: LayerDims[]; out: [number, number] }[] = [
  // The default shape family: three layers at 1/2, 1/4 and 1/8 of the input.
  {
    B: 3,
    dims: [
      [6, 8, 8],
      [5, 4, 4],
      [7, 2, 2],
    ],
    out: [16, 16],
  },
  // h = w = 1, non-square layers, a non-square output, a layer larger than the output.
  {
    B: 2,
    dims: [
      [3, 1, 1],
      [4, 3, 5],
      [2, 9, 9],
    ],
    out: [7, 5],
  },
  // B = 1; five layers: two channel dispatches, layers past the first uniform vec4.
  {
    B: 1,
    dims: [
      [1, 4, 2],
      [3, 1, 1],
      [2, 2, 3],
      [5, 6, 6],
      [3, 3, 3],
    ],
    out: [6, 9],
  },
  // A single layer at the output size (no resampling).
  { B: 4, dims: [[5, 5, 7]], out: [5, 7] },
];

for (const normalize of ['image', 'batch'] as const) {
  test(`layerCam matches a float64 reference (normalize '${normalize}')`, async () => {
    for (const { B, dims, out } of CASES) {
      const { rng, seed } = seeded();
      const layers = randomLayers(rng, B, dims);
      const what = `layerCam ${JSON.stringify(dims)} -> ${out.join('x')} B=${B} ${normalize} (seed ${seed})`;
      const ref = refLayerCam(B, layers, out[0], out[1], normalize);
      const got = await runCam(B, layers, out[0], out[1], normalize);
      assertClose(got.map, ref, FORWARD_TOL, what);
      assertCentres(got.centres, ref, B, out[0] * out[1], what);
    }
  });
}

test("normalize 'batch' differs from 'image' (one min/max over the batch)", async () => {
  const { rng } = seeded();
  const layers = randomLayers(rng, 3, [[4, 4, 4]]);
  // Scale image 1 up so its range dominates the batch's.
  for (const t of [layers[0].a]) for (let i = 64; i < 128; i++) t[i] *= 5;
  const image = await runCam(3, layers, 4, 4, 'image');
  const batch = await runCam(3, layers, 4, 4, 'batch');
  assertClose(batch.map, refLayerCam(3, layers, 4, 4, 'batch'), FORWARD_TOL, 'batch');
  assert.ok(Math.max(...image.map.subarray(0, 16)) > 0.999, 'per image: every image reaches 1');
  assert.ok(Math.max(...batch.map.subarray(0, 16)) < 0.9, 'per batch: image 0 stays below the batch maximum');
});

test("attribution: normalize 'batch' spans both views' rows and keeps view 1's maps; 'image' uses view 1's rows", async () => {
  const { rng, seed } = seeded();
  const B = 3;
  const dims: LayerDims[] = [
    [4, 4, 4],
    [3, 2, 2],
  ];
  const layers = randomLayers(rng, 2 * B, dims);
  // View 2's rows scaled up: their range sets the batch's min and max.
  for (const { dims: d, a } of layers) for (let i = B * d[0] * d[1] * d[2]; i < a.length; i++) a[i] *= 5;
  await scope(async () => {
    const as = layers.map((l) => upload(l.a, [2 * B, ...l.dims], true));
    const gs = layers.map((l) => upload(l.g, [2 * B, ...l.dims]));
    // d/dA sum(A * G) = G: the attribution sees exactly these gradients.
    const target: MixingTarget = {
      attributionLoss: () => as.map((a, l) => ops.sumAll(ops.mul(a, gs[l]))).reduce((x, y) => ops.add(x, y)),
      mixedLoss: () => assert.unreachable('not called') as never,
    };
    const views = Tensor.empty([2 * B, 3, 8, 8]);
    const run = async (camNormalize: CamNormalize, cam: () => LayerCam) => {
      const config: MixingConfig = { method: 'gradmix', layers: [], camNormalize, gammaMin: 0.1, gammaMax: 0.5, fill: 'partner', mixAlpha: 1, attentionGrid: 7, attentionTopK: 6 };
      const got = attribution({ config, target, views, activations: as });
      const want = ops.noGrad(cam);
      const what = `${camNormalize} (seed ${seed})`;
      assert.equal(Array.from(await got.map.data()), Array.from((await want.map.data()).subarray(0, B * 64)), what);
      assert.equal(Array.from(await got.centres.data()), Array.from((await want.centres.data()).subarray(0, B)), what);
      return read(got.map);
    };
    const view1 = (t: Tensor) => ops.slice(t, 0, 0, B);
    const batch = await run('batch', () => layerCam(as, gs, 8, 8, { normalize: 'batch' }));
    await run('image', () => layerCam(as.map(view1), gs.map(view1), 8, 8));
    const view1Only = await read(layerCam(as.map(view1), gs.map(view1), 8, 8, { normalize: 'batch' }).map);
    assert.ok(Math.max(...batch.map((v, i) => Math.abs(v - view1Only[i]))) > 0.1, `view 2's rows changed nothing (seed ${seed})`);
  });
});

test('constant maps: the map is 0 everywhere and every centre is index 0', async () => {
  const B = 2;
  const dims: LayerDims[] = [
    [3, 4, 4],
    [2, 1, 1],
    [2, 2, 3],
  ];
  // Constant per channel and position-independent: every cam is constant over its image.
  const layers = dims.map((d) => {
    const [C, h, w] = d;
    const a = new Float64Array(B * C * h * w).map((_, i) => 0.25 + (Math.floor(i / (h * w)) % C));
    return { dims: d, a, g: new Float64Array(a.length).fill(0.5) };
  });
  const got = await runCam(B, layers, 8, 6, 'image');
  assert.ok(
    got.map.every((v) => v === 0),
    'a constant layer normalises to exactly 0',
  );
  assert.equal([...got.centres], [0, 0]);
});

test('two equal maxima: the centre is the first in row-major order', async () => {
  const { rng, seed } = seeded();
  const [C, h, w] = [3, 4, 5];
  const layers = randomLayers(rng, 1, [[C, h, w]]);
  const { a, g } = layers[0];
  // Peaks at (1, 3) and (2, 0): row-major puts (1, 3) first, column-major (2, 0).
  for (const q of [1 * w + 3, 2 * w + 0]) {
    for (let c = 0; c < C; c++) {
      a[c * h * w + q] = 2 + c;
      g[c * h * w + q] = 1;
    }
  }
  const got = await runCam(1, layers, h, w, 'image');
  assert.is(got.centres[0], 1 * w + 3, `seed ${seed}`);
  assert.is(got.map[1 * w + 3], got.map[2 * w + 0]);
});

test('the argmax is per image (each image its own peak)', async () => {
  const B = 3;
  const [h, w] = [3, 4];
  const peaks = [11, 0, 6];
  const layers: Layer[] = [{ dims: [1, h, w], a: new Float64Array(B * h * w).fill(0.1), g: new Float64Array(B * h * w).fill(1) }];
  peaks.forEach((q, b) => (layers[0].a[b * h * w + q] = 1));
  const got = await runCam(B, layers, h, w, 'image');
  assert.equal([...got.centres], peaks);
});

test('three layers take 4 dispatches (5 with normalize batch), five layers 5', async () => {
  const { rng } = seeded();
  for (const [dims, normalize, want] of [
    [CASES[0].dims, 'image', 4],
    [CASES[0].dims, 'batch', 5],
    [CASES[2].dims, 'image', 5],
  ] as const) {
    await scope(async () => {
      const layers = randomLayers(rng, 1, [...dims]);
      const as = layers.map((l) => upload(l.a, [1, ...l.dims]));
      const gs = layers.map((l) => upload(l.g, [1, ...l.dims]));
      // Poisoning new tensors would add fill dispatches of its own.
      setPoisonNewTensors(false);
      const before = gpu().dispatchCount;
      layerCam(as, gs, 8, 8, { normalize });
      const count = gpu().dispatchCount - before;
      setPoisonNewTensors(true);
      assert.is(count, want, `${dims.length} layers, ${normalize}`);
    });
  }
});

test('layerCam names bad inputs', async () => {
  await scope(async () => {
    const a = upload(new Float64Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
    const g3 = upload(new Float64Array(2 * 3 * 2 * 2), [2, 3, 2, 2]);
    const b1 = upload(new Float64Array(1 * 3 * 4 * 4), [1, 3, 4, 4]);
    assert.throws(() => layerCam([a], [], 8, 8), /1 activations but 0 gradients/);
    assert.throws(() => layerCam([a], [g3], 8, 8), /gradient 0 has shape \[2, 3, 2, 2\] but its activation has \[2, 3, 4, 4\]/);
    assert.throws(() => layerCam([a, b1], [a, b1], 8, 8), /activation 1 has batch 1 but activation 0 has 2/);
    assert.throws(() => layerCam([a], [a], 0, 8), /outH must be a positive integer/);
    assert.throws(() => layerCam(new Array(9).fill(a), new Array(9).fill(a), 8, 8), /9 layers, at most 8/);
  });
});

test.run();
