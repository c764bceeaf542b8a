// Open-set evaluation against PyTorch (scripts/fixtures/evaluation.py): on a tiny mnist-mini split-0
// set (60 train, 24 known + 16 unknown test images), a SupContrast checkpoint converted from
// PyTorch loads as `gradmix eval` loads it and gives PyTorch's eval-mode features, kNN scores,
// predicted classes and AUROC (exact, ties half; to 1e-4). A checkpoint trained here, scored by
// the same PyTorch code, agrees too (when /usr/bin/python3 has torch).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModelFile } from '../src/cli/model-file.js';
import { saveCheckpoint } from '../src/checkpoint/index.js';
import { loadProtocol, subsetDataset, type OpenSetData } from '../src/data/index.js';
import { augmentPreset } from '../src/augment/index.js';
import { evaluateOpenSet, extractFeatures } from '../src/osr/index.js';
import { Adam } from '../src/optim/index.js';
import { TrainStep, defaultOptions } from '../src/train/index.js';
import { Rng } from '../src/random.js';
import { FORWARD_TOL, assertClose, read, setupGpu } from './helpers.js';
import { fixturePath, hostTorchTest, runFixtureScript } from './golden.js';

type Part = 'train' | 'testKnown' | 'testUnknown';

interface TorchEvaluation {
  auroc: number;
  closedAcc: number;
  scores: number[];
  predicted: number[];
  minGap: number;
  nearTiePairs: number;
  pairs: number;
}

interface Golden extends TorchEvaluation {
  protocol: string;
  split: number;
  k: number;
  indices: Record<Part, number[]>;
  pixelSums: Record<Part, number>;
  features: Record<Part, number[][]>;
}

const golden = JSON.parse(readFileSync(fixturePath('resnet-eval.json'), 'utf8')) as Golden;
const STATE = fixturePath('resnet-eval-state.safetensors');
const AUROC_TOL = 1e-4;

const test = suite('eval-golden');
test.before(setupGpu);

/** The fixture's subset of the protocol split, checked image for image through pixel sums. */
async function goldenData(): Promise<OpenSetData> {
  const full = await loadProtocol(golden.protocol, golden.split);
  const data = { ...full };
  for (const part of ['train', 'testKnown', 'testUnknown'] as const) {
    data[part] = subsetDataset(full[part], golden.indices[part]);
    const sum = data[part].images.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(sum - golden.pixelSums[part]) < 1e-6 * golden.pixelSums[part], `${part}: pixel sum ${sum}, PyTorch's ${golden.pixelSums[part]} (different mnist-mini data?)`);
  }
  return data;
}

/** |ours - PyTorch's| within 1e-4, widened by the pairs whose scores PyTorch found nearly tied. */
function assertSameAuroc(ours: number, torch: TorchEvaluation, what: string): void {
  const tol = AUROC_TOL + torch.nearTiePairs / torch.pairs;
  assert.ok(Math.abs(ours - torch.auroc) <= tol, `${what}: AUROC ${ours}, PyTorch's ${torch.auroc} (tolerance ${tol})`);
}

test('eval of a checkpoint converted from PyTorch: same features, kNN scores, predictions and AUROC as PyTorch', async () => {
  const data = await goldenData();
  const transform = augmentPreset('mnist');
  const { model, width, inChannels } = await loadModelFile(STATE);
  assert.equal([width, inChannels], [4, 1]);
  for (const part of ['train', 'testKnown', 'testUnknown'] as const) {
    const f = await extractFeatures(model, data[part], transform);
    assertClose(await read(f), golden.features[part].flat(), FORWARD_TOL, `${part} features`);
    f.dispose();
  }
  const e = await evaluateOpenSet(model, data, transform, { k: golden.k });
  assertClose(e.scores, golden.scores, FORWARD_TOL, 'kNN scores');
  assert.equal(Array.from(e.predicted), golden.predicted, 'predicted classes');
  // The fixture's AUROC is far from 0.5, so reversed scores or swapped labels would show.
  assert.ok(golden.auroc > 0.85, `fixture AUROC ${golden.auroc}`);
  assert.ok(Math.abs(e.metrics.auroc - golden.auroc) <= AUROC_TOL, `AUROC ${e.metrics.auroc}, PyTorch's ${golden.auroc}`);
  assert.ok(Math.abs(e.metrics.closedAcc - golden.closedAcc) <= 1e-12, `closed-set accuracy ${e.metrics.closedAcc}, PyTorch's ${golden.closedAcc}`);
  model.dispose();
});

hostTorchTest(test, 'eval of a checkpoint trained here: same AUROC as PyTorch on the same state dict', async () => {
  const data = await goldenData();
  const { model } = await loadModelFile(STATE);
  // A few SupCon + SimCLR steps here, on the training images of the set.
  const step = new TrainStep(model, { ...defaultOptions('mnist-mini'), method: 'none', tau: 0.5 }, 'mnist', data.train);
  const adam = new Adam(model.parameters(), { lr: 1e-3 });
  const rng = new Rng(3);
  for (let i = 0; i < 3; i++) await step.run(data.train.images, data.train.labels, adam, rng);
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-eval-'));
  try {
    const file = join(dir, 'trained.safetensors');
    await saveCheckpoint(file, { model: model.stateDict() });
    model.dispose();
    const torch = JSON.parse(runFixtureScript('evaluation.py', ['score', file])) as TorchEvaluation;
    const loaded = await loadModelFile(file);
    const e = await evaluateOpenSet(loaded.model, data, augmentPreset('mnist'), { k: golden.k });
    assertClose(e.scores, torch.scores, FORWARD_TOL, 'kNN scores');
    assertSameAuroc(e.metrics.auroc, torch, 'trained here');
    // The steps changed the model: this is not the fixture's evaluation again.
    assert.ok(Math.abs(torch.scores[0] - golden.scores[0]) > 1e-6, 'training here changed nothing');
    loaded.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
