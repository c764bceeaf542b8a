// Attentive CutMix as users run it: a torchvision ResNet as the attention network, the picture
// panels, `gradmix train` on mnist-mini and on an image folder, a page's TrainingSession, `protocol`
// and `sweep plan`, and the clear errors for a missing or wrong attention model. The kernels
// against float64: attentive-cutmix.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attentionGrid, attentionInput, attentiveMixWith, attentiveCutmix } from '../src/gradmix/attentive-cutmix.js';
import { loadAttention } from '../src/gradmix/index.js';
import { Rng } from '../src/random.js';
import * as ops from '../src/ops/index.js';
import { FORWARD_TOL, assertClose, read, seeded, setupGpu, upload } from './helpers.js';
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
import { identityNet, randomImages, refPaste, span } from './attentive-ref.js';

const test = suite('attentive-cutmix-runs');
test.before(setupGpu);
test.after(removeTempDirs);

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
