import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pastePatches, gradMix, blendImages, mixup, cutRegions, cutmix, derangement, boxSide, sampleGamma, sampleBeta, cutmixBox, layerCam, type PasteFill, type Box } from '../src/gradmix/index.js';
import { attentionGrid, attentivePaste } from '../src/gradmix/attentive-cutmix.js';
import { augmentViews, wholeImageViews } from '../src/augment/index.js';
import { gpu } from '../runtime/gpu.js';
import { tensor } from '../src/creation.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { bilinearResize, noiseAt } from './gradmix-ref.js';

const test = suite('mix');
test.before(setupGpu);

type Dims = [number, number, number, number];

function randomImages(rng: Rng, dims: Dims): Float64Array {
  return randomArray(rng, dims[0] * dims[1] * dims[2] * dims[3], 0, 1).map(Math.fround);
}

/** The documented box rule: centred (top-left = centre - floor(side / 2)), shifted inside. */
function refBox(centre: number, boxH: number, boxW: number, H: number, W: number): Box {
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [clamp(Math.floor(centre / W) - Math.floor(boxH / 2), H - boxH), clamp((centre % W) - Math.floor(boxW / 2), W - boxW), boxH, boxW];
}

const inBox = (y: number, x: number, [top, left, h, w]: Box) => y >= top && y < top + h && x >= left && x < left + w;

/** Float64 reference of mix.paste. */
function refPaste(x: Float64Array, [B, C, H, W]: Dims, centres: number[], partner: Int32Array, boxH: Int32Array, boxW: Int32Array, fill: PasteFill, seed: number): Float64Array {
  const out = x.slice();
  for (let b = 0; b < B; b++) {
    const box = refBox(centres[b], boxH[b], boxW[b], H, W);
    const [top, left, h, w] = box;
    for (let c = 0; c < C; c++) {
      const src = x.subarray((partner[b] * C + c) * H * W, (partner[b] * C + c + 1) * H * W);
      const resized = bilinearResize(src, H, W, h, w);
      for (let y = top; y < top + h; y++) {
        for (let xx = left; xx < left + w; xx++) {
          const v = fill === 'partner' ? resized[(y - top) * w + (xx - left)] : fill === 'noise' ? noiseAt(seed, b, y, xx, H, W) : 0;
          out[((b * C + c) * H + y) * W + xx] = v;
        }
      }
    }
  }
  return out;
}

/** Image b's centre: its corners and edges first, then random pixels. */
function testCentres(rng: Rng, B: number, H: number, W: number): number[] {
  const special = [0, W - 1, (H - 1) * W, H * W - 1, Math.floor(H / 2) * W, W - 1 + Math.floor(H / 2) * W, Math.floor(H / 2) * W + Math.floor(W / 2)];
  return Array.from({ length: B }, (_, b) => (b < special.length ? special[b] : rng.int(H * W)));
}

test('bilinear reference reproduces PyTorch (F.interpolate, align_corners=False)', () => {
  // torch: interpolate([[1, 2], [3, 4]], size=3) and size=(2, 4), mode='bilinear'.
  assert.equal([...bilinearResize([1, 2, 3, 4], 2, 2, 3, 3)], [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  assert.equal([...bilinearResize([1, 2, 3, 4], 2, 2, 2, 4)], [1, 1.25, 1.75, 2, 3, 3.25, 3.75, 4]);
  // Downsampling 4 -> 2 samples between pixels 0,1 and 2,3 (no antialiasing).
  assert.equal([...bilinearResize([0, 1, 2, 3], 1, 4, 1, 2)], [0.5, 2.5]);
});

for (const fill of ['partner', 'noise', 'zero'] as const) {
  test(`pastePatches (fill '${fill}') matches a float64 reference, boxes included`, async () => {
    for (const dims of [
      [9, 3, 9, 9],
      [8, 1, 7, 6],
      [2, 2, 4, 6],
    ] as Dims[]) {
      const { rng, seed } = seeded();
      const [B, , H, W] = dims;
      const x = randomImages(rng, dims);
      const centres = testCentres(rng, B, H, W);
      const partner = derangement(B, rng);
      // Sides from 1 to the full image, the extremes first.
      const boxH = Int32Array.from({ length: B }, (_, b) => (b === 0 ? H : b === 1 ? 1 : 1 + rng.int(H)));
      const boxW = Int32Array.from({ length: B }, (_, b) => (b === 0 ? W : b === 1 ? 1 : 1 + rng.int(W)));
      const noiseSeed = rng.nextU32();
      const what = `paste ${fill} ${JSON.stringify(dims)} (seed ${seed})`;
      await scope(async () => {
        const out = pastePatches(upload(x, dims), tensor(centres, [B], { dtype: 'int32' }), { partner, boxH, boxW, fill, seed: noiseSeed });
        assertClose(await read(out.mixed), refPaste(x, dims, centres, partner, boxH, boxW, fill, noiseSeed), FORWARD_TOL, what);
        const boxes = [...(await out.boxes.data())];
        assert.equal(
          boxes,
          centres.flatMap((c, b) => refBox(c, boxH[b], boxW[b], H, W)),
          `${what}: boxes`,
        );
      });
    }
  });
}

test('boxes lie inside the image, have the asked size and contain the centre, at borders and corners too', async () => {
  const { rng, seed } = seeded();
  for (const [H, W] of [
    [8, 8],
    [5, 9],
    [1, 4],
  ]) {
    const B = 16;
    const dims: Dims = [B, 1, H, W];
    for (let round = 0; round < 4; round++) {
      const centres = testCentres(rng, B, H, W);
      const boxH = Int32Array.from({ length: B }, () => 1 + rng.int(H));
      const boxW = Int32Array.from({ length: B }, () => 1 + rng.int(W));
      const boxes = await scope(async () => {
        const out = pastePatches(upload(randomImages(rng, dims), dims), tensor(centres, [B], { dtype: 'int32' }), { partner: derangement(B, rng), boxH, boxW, fill: 'zero', seed: 0 });
        return out.boxes.data();
      });
      for (let b = 0; b < B; b++) {
        const [top, left, h, w] = boxes.subarray(4 * b, 4 * b + 4);
        const what = `${H}x${W} centre ${centres[b]} box [${top}, ${left}, ${h}, ${w}] (seed ${seed})`;
        assert.ok(h === boxH[b] && w === boxW[b], `${what}: size, expected ${boxH[b]} x ${boxW[b]}`);
        assert.ok(top >= 0 && left >= 0 && top + h <= H && left + w <= W, `${what}: outside the image`);
        const [cy, cx] = [Math.floor(centres[b] / W), centres[b] % W];
        assert.ok(inBox(cy, cx, [top, left, h, w]), `${what}: misses the centre`);
        // Where the centred box fits, it is not shifted: top-left = centre - floor(side / 2).
        const [t0, l0] = [cy - Math.floor(h / 2), cx - Math.floor(w / 2)];
        if (t0 >= 0 && t0 + h <= H) assert.is(top, t0, `${what}: not centred vertically`);
        if (l0 >= 0 && l0 + w <= W) assert.is(left, l0, `${what}: not centred horizontally`);
      }
    }
  }
});

test('gradMix: gamma in range, sides max(1, round(gamma * side)), weights gamma^2, reproducible', async () => {
  const { rng, seed } = seeded();
  const dims: Dims = [5, 2, 6, 10];
  const [B, , H, W] = dims;
  const x = randomImages(rng, dims);
  const centres = testCentres(rng, B, H, W);
  const runSeed = rng.nextU32();
  const run = (fill: PasteFill) =>
    scope(async () => {
      const out = gradMix(upload(x, dims), tensor(centres, [B], { dtype: 'int32' }), new Rng(runSeed), { gammaMin: 0.05, gammaMax: 0.6, fill });
      return { ...out, mixedValues: await read(out.mixed), boxValues: await out.boxes.data() };
    });
  const a = await run('noise');
  const b = await run('noise');
  assert.equal([...a.mixedValues], [...b.mixedValues], `the same seed gives the same batch (seed ${seed})`);
  for (let i = 0; i < B; i++) {
    const g = a.gamma[i];
    assert.ok(g >= 0.05 && g < 0.6, `gamma ${g}`);
    assert.is(a.partner[i] === i, false, 'partner is itself');
    assert.is(a.weights[i], Math.fround(g * g));
    assert.is(a.boxValues[4 * i + 2], Math.max(1, Math.round(g * H)));
    assert.is(a.boxValues[4 * i + 3], Math.max(1, Math.round(g * W)));
  }
  // Fills differ only inside the boxes.
  const c = await run('zero');
  for (let i = 0; i < x.length; i++) {
    const [bi, y, xx] = [Math.floor(i / (2 * H * W)), Math.floor(i / W) % H, i % W];
    const box = [...a.boxValues.subarray(4 * bi, 4 * bi + 4)] as Box;
    if (inBox(y, xx, box)) assert.is(c.mixedValues[i], 0);
    else assert.is(c.mixedValues[i], a.mixedValues[i]);
  }
});

test('box sides round half to even (as Python) and stay within [1, side]', () => {
  assert.is(boxSide(0.125, 4), 1); // 0.5 -> 0 -> at least 1
  assert.is(boxSide(0.375, 4), 2); // 1.5 -> 2
  assert.is(boxSide(0.625, 4), 2); // 2.5 -> 2
  assert.is(boxSide(0.875, 4), 4); // 3.5 -> 4
  assert.is(boxSide(0.1, 32), 3); // 3.2
  assert.is(boxSide(0.5, 32), 16);
  assert.is(boxSide(1, 7), 7);
  assert.is(boxSide(0, 7), 1);
});

test('derangements: never a fixed point, every derangement of 4 drawn', () => {
  const { rng, seed } = seeded();
  for (let t = 0; t < 3000; t++) {
    const n = 2 + rng.int(40);
    const p = derangement(n, rng);
    assert.equal(
      [...p].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
      `not a permutation (seed ${seed})`,
    );
    p.forEach((j, i) => assert.ok(j !== i, `image ${i} of ${n} is its own partner (seed ${seed})`));
  }
  const seen = new Map<string, number>();
  for (let t = 0; t < 2000; t++) {
    const k = derangement(4, rng).join();
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  assert.is(seen.size, 9, 'the 9 derangements of 4 elements');
  for (const [k, count] of seen) assert.ok(count > 150, `derangement ${k} drawn ${count} of 2000 times (uniform: ~222)`);
  assert.equal([...derangement(2, rng)], [1, 0]);
});

test('a batch of one image cannot be mixed: a clear error', async () => {
  await scope(async () => {
    const x = upload(new Float64Array(12), [1, 3, 2, 2]);
    const centres = tensor([0], [1], { dtype: 'int32' });
    const rng = new Rng(1);
    assert.throws(() => gradMix(x, centres, rng), /batch of 1 image\(s\) has no partner other than itself/);
    assert.throws(() => mixup(x, rng), /no partner other than itself/);
    assert.throws(() => cutmix(x, rng), /no partner other than itself/);
  });
});

test('pastePatches names bad plans', async () => {
  await scope(async () => {
    const x = upload(new Float64Array(2 * 4 * 4), [2, 1, 4, 4]);
    const centres = tensor([0, 5], [2], { dtype: 'int32' });
    const plan = { partner: Int32Array.of(1, 0), boxH: Int32Array.of(2, 2), boxW: Int32Array.of(2, 2), fill: 'partner' as const, seed: 0 };
    assert.throws(() => pastePatches(x, centres, { ...plan, boxH: Int32Array.of(2, 5) }), /box 5 x 2 of image 1 does not fit a 4 x 4 image/);
    assert.throws(() => pastePatches(x, centres, { ...plan, partner: Int32Array.of(1, 2) }), /partner 2 of image 1 is outside the batch of 2/);
    assert.throws(() => pastePatches(x, upload([0, 5], [2]), plan), /centres must be int32 \[2\]/);
    assert.throws(() => gradMix(x, centres, new Rng(0), { gammaMin: 0.6, gammaMax: 0.5 }), /0 <= gammaMin <= gammaMax <= 1/);
  });
});

test('sampleGamma and sampleBeta have the right mean and variance', () => {
  const { rng, seed } = seeded();
  const N = 20000;
  const moments = (draw: () => number) => {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < N; i++) {
      const v = draw();
      s += v;
      s2 += v * v;
    }
    return [s / N, s2 / N - (s / N) ** 2];
  };
  for (const k of [0.3, 1, 4.5]) {
    const [m, v] = moments(() => sampleGamma(k, rng));
    // Gamma(k, 1): mean k, variance k; tolerances ~5 standard errors.
    assert.ok(Math.abs(m - k) < 5 * Math.sqrt(k / N), `Gamma(${k}) mean ${m} (seed ${seed})`);
    assert.ok(Math.abs(v - k) < 0.1 * k + 0.02, `Gamma(${k}) variance ${v} (seed ${seed})`);
  }
  for (const [a, b] of [
    [0.2, 0.2],
    [1, 1],
    [2, 5],
  ]) {
    const [m, v] = moments(() => sampleBeta(a, b, rng));
    const mean = a / (a + b);
    const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    assert.ok(Math.abs(m - mean) < 5 * Math.sqrt(variance / N), `Beta(${a}, ${b}) mean ${m}, expected ${mean} (seed ${seed})`);
    assert.ok(Math.abs(v - variance) < 0.05 * variance, `Beta(${a}, ${b}) variance ${v}, expected ${variance} (seed ${seed})`);
  }
});

test('blendImages and mixup match a float64 reference; weights are 1 - lam', async () => {
  for (const dims of [
    [4, 3, 5, 7],
    [2, 1, 1, 1],
  ] as Dims[]) {
    const { rng, seed } = seeded();
    const [B] = dims;
    const x = randomImages(rng, dims);
    const per = x.length / B;
    const ref = (partner: Int32Array, lam: Float32Array) => x.map((v, i) => v * lam[Math.floor(i / per)] + x[partner[Math.floor(i / per)] * per + (i % per)] * (1 - lam[Math.floor(i / per)]));
    await scope(async () => {
      const partner = derangement(B, rng);
      const lam = Float32Array.from({ length: B }, () => rng.uniform());
      assertClose(await read(blendImages(upload(x, dims), partner, lam)), ref(partner, lam), FORWARD_TOL, `blend ${JSON.stringify(dims)} (seed ${seed})`);
      const m = mixup(upload(x, dims), rng, { alpha: 0.4 });
      assertClose(await read(m.mixed), ref(m.partner, m.lam), FORWARD_TOL, `mixup ${JSON.stringify(dims)} (seed ${seed})`);
      m.lam.forEach((l, i) => {
        assert.ok(l >= 0 && l <= 1, `lam ${l}`);
        assert.is(m.weights[i], Math.fround(1 - l));
        assert.ok(m.partner[i] !== i);
      });
    });
  }
});

/** Float64 reference of mix.cut. */
function refCut(x: Float64Array, [B, C, H, W]: Dims, partner: Int32Array, boxes: Box[]): Float64Array {
  const out = x.slice();
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          if (inBox(y, xx, boxes[b])) out[((b * C + c) * H + y) * W + xx] = x[((partner[b] * C + c) * H + y) * W + xx];
        }
      }
    }
  }
  return out;
}

test('cutRegions and cutmix match a float64 reference; lam corrected to the clipped box', async () => {
  for (const dims of [
    [5, 3, 8, 6],
    [3, 1, 5, 5],
  ] as Dims[]) {
    const { rng, seed } = seeded();
    const [B, , H, W] = dims;
    const x = randomImages(rng, dims);
    const what = `cutmix ${JSON.stringify(dims)} (seed ${seed})`;
    await scope(async () => {
      const partner = derangement(B, rng);
      const boxes: Box[] = [[0, 0, H, W], [0, 0, 0, 0], ...Array.from({ length: B - 2 }, () => cutmixBox(rng.uniform(), H, W, rng))];
      assertClose(await read(cutRegions(upload(x, dims), partner, boxes).mixed), refCut(x, dims, partner, boxes), FORWARD_TOL, `cut ${what}`);
      const m = cutmix(upload(x, dims), rng, { alpha: 1 });
      const got = [...(await m.boxes.data())];
      const mBoxes = Array.from({ length: B }, (_, b) => got.slice(4 * b, 4 * b + 4) as Box);
      assertClose(await read(m.mixed), refCut(x, dims, m.partner, mBoxes), FORWARD_TOL, what);
      mBoxes.forEach(([top, left, h, w], b) => {
        assert.ok(top >= 0 && left >= 0 && top + h <= H && left + w <= W, `${what}: box ${mBoxes[b]} outside the image`);
        assert.is(m.lam[b], Math.fround(1 - (h * w) / (H * W)));
        assert.is(m.weights[b], Math.fround((h * w) / (H * W)));
        assert.ok(m.partner[b] !== b);
      });
    });
  }
});

test("cutmixBox: the paper's side floor(side * sqrt(1 - lam)) at a uniform centre, clipped", () => {
  const { seed } = seeded();
  for (let t = 0; t < 500; t++) {
    const rng = new Rng(seed + t);
    const twin = new Rng(seed + t);
    const [H, W] = [1 + rng.int(12), 1 + rng.int(12)];
    twin.int(12);
    twin.int(12);
    const lam = rng.uniform();
    twin.uniform();
    const [top, left, h, w] = cutmixBox(lam, H, W, rng);
    const [cy, cx] = [twin.int(H), twin.int(W)];
    const [sh, sw] = [Math.floor(H * Math.sqrt(1 - lam)), Math.floor(W * Math.sqrt(1 - lam))];
    const t0 = cy - Math.floor(sh / 2);
    const l0 = cx - Math.floor(sw / 2);
    const what = `H ${H} W ${W} lam ${lam} centre ${cy},${cx} (seed ${seed + t})`;
    assert.is(top, Math.max(t0, 0), what);
    assert.is(left, Math.max(l0, 0), what);
    assert.is(top + h, Math.min(t0 + sh, H), what);
    assert.is(left + w, Math.min(l0 + sw, W), what);
  }
});

test('noise fill: values in [0, 1), the same in every channel, set by the seed', async () => {
  const dims: Dims = [2, 3, 6, 6];
  const run = (seed: number) =>
    scope(async () => {
      const out = pastePatches(upload(new Float64Array(2 * 3 * 36), dims), tensor([14, 14], [2], { dtype: 'int32' }), {
        partner: Int32Array.of(1, 0),
        boxH: Int32Array.of(6, 6),
        boxW: Int32Array.of(6, 6),
        fill: 'noise',
        seed,
      });
      return read(out.mixed);
    });
  const a = await run(7);
  const b = await run(8);
  assert.ok(a.every((v) => v >= 0 && v < 1));
  assert.equal([...a.subarray(0, 36)], [...a.subarray(36, 72)], 'channel 0 = channel 1');
  assert.not.equal([...a.subarray(0, 36)], [...a.subarray(108, 144)], 'images differ');
  assert.not.equal([...a], [...b], 'seeds differ');
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean - 0.5) < 0.1, `noise mean ${mean}`);
});

test('an op whose launch throws (a disposed input, no scope open) frees its parameter tensors and outputs', () => {
  const x = upload(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
  const centres = tensor([0, 5], [2], { dtype: 'int32' });
  const scores = upload(new Float32Array(2 * 2 * 2), [2, 2, 2]);
  x.dispose();
  const partner = Int32Array.from([1, 0]);
  const live = () => gpu().memory().buffersLive;
  const before = live();
  const ops: [string, () => unknown][] = [
    ['pastePatches', () => pastePatches(x, centres, { partner, boxH: Int32Array.from([2, 2]), boxW: Int32Array.from([2, 2]), fill: 'partner', seed: 1 })],
    ['blendImages', () => blendImages(x, partner, Float32Array.from([0.5, 0.5]))],
    [
      'cutRegions',
      () =>
        cutRegions(x, partner, [
          [0, 0, 2, 2],
          [1, 1, 2, 2],
        ]),
    ],
    ['layerCam', () => layerCam([x], [x], 4, 4)],
    ['attentionGrid', () => attentionGrid(x, 2)],
    ['attentivePaste', () => attentivePaste(x, scores, partner, 1)],
    ['augmentViews', () => augmentViews(x, wholeImageViews(2, 4, 4), { size: 4, mean: [0, 0, 0], std: [1, 1, 1] })],
  ];
  for (const [name, run] of ops) {
    assert.throws(run, /used after dispose/, name);
    assert.is(live(), before, `${name} left buffers behind`);
  }
  centres.dispose();
  scores.dispose();
});

test.run();
