// The PyTorch peer's GradMix step (bench/peer-torch.py train_step, method gradmix) computes what
// ours computes: its LayerCAM and its batched paste, given the same activations, gradients, views,
// partners and gammas, against our kernels (layerCam, pastePatches). The peer's timing of a
// GradMix step is only a fair bar if the work is the same. Runs where /usr/bin/python3 has torch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { boxSide, derangement, layerCam, pastePatches } from '../src/gradmix/index.js';
import { tensor } from '../src/creation.js';
import { scope } from '../src/scope.js';
import { assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.log('peer-torch-gradmix: SKIPPED, /usr/bin/python3 has no torch');

const test = suite('peer-torch-gradmix');
test.before(setupGpu);

(hasTorch ? test : test.skip)("the peer's LayerCAM and paste equal ours on the same inputs", async () => {
  const { rng, seed } = seeded();
  const [n, size] = [5, 32];
  // The default layers' shapes at a 32 x 32 input (layer2.1, layer3.1, layer4.1), odd channel counts.
  const shapes = [
    [n, 6, 16, 16],
    [n, 5, 8, 8],
    [n, 7, 4, 4],
  ];
  const f32 = (count: number) => Array.from(randomArray(rng, count), Math.fround);
  const acts = shapes.map((s) => ({ shape: s, data: f32(s.reduce((a, b) => a * b)).map(Math.abs) }));
  const grads = shapes.map((s) => ({ shape: s, data: f32(s.reduce((a, b) => a * b)) }));
  const views = { shape: [n, 3, size, size], data: f32(n * 3 * size * size) };
  const partner = derangement(n, rng);
  const gamma = Array.from({ length: n }, () => Math.fround(rng.uniform(0.1, 0.9)));

  await scope(async () => {
    const cam = layerCam(
      acts.map((a) => upload(a.data, a.shape)),
      grads.map((g) => upload(g.data, g.shape)),
      size,
      size,
    );
    const centres = Array.from(await cam.centres.data());
    const boxH = Int32Array.from(gamma, (g) => boxSide(g, size));
    const { mixed } = pastePatches(upload(views.data, views.shape), tensor(Int32Array.from(centres), [n], { dtype: 'int32' }), { partner, boxH, boxW: boxH, fill: 'partner', seed: 0 });

    const dir = mkdtempSync(join(tmpdir(), 'gradmix-peer-'));
    try {
      const given = join(dir, 'given.json');
      const got = join(dir, 'got.json');
      writeFileSync(given, JSON.stringify({ acts, grads, views, partner: [...partner], centres, gamma, size }));
      const py = spawnSync(PYTHON, [new URL('./peer-torch-gradmix.py', import.meta.url).pathname, given, got], { encoding: 'utf8' });
      assert.is(py.status, 0, py.stderr);
      const theirs = JSON.parse(readFileSync(got, 'utf8')) as { cam: number[]; centres: number[]; mixed: number[]; weight: number[] };
      assertClose(theirs.cam, await read(cam.map), 1e-5, 'LayerCAM map', seed);
      assert.equal(theirs.centres, centres, `argmax centres (seed ${seed})`);
      assertClose(theirs.mixed, await read(mixed), 1e-5, 'mixed images', seed);
      assertClose(
        theirs.weight,
        gamma.map((g) => g * g),
        1e-6,
        'weights gamma^2',
        seed,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test.run();
