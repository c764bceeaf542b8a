// The training objectives of paper Table 1 (src/train/objectives.ts): the ce loss is the
// cross-entropy of the classifier's output on both views, ce+ssl adds SimCLR of the projections,
// supcon is theta * SupCon; without an ssl part the mixed-view term is the objective's own loss
// weighted per image; every objective trains with every method; a ce run's checkpoint carries
// classifier.* and loads back with it; options are checked.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { scope } from '../src/scope.js';
import { tensor } from '../src/creation.js';
import * as ops from '../src/ops/index.js';
import { supconLoss } from '../src/losses/index.js';
import { Adam } from '../src/optim/index.js';
import { mixedTerm } from '../src/train/mixing.js';
import { createObjective, OBJECTIVES, type Objective } from '../src/train/objectives.js';
import { mixingConfig, resolveOptions, type Method } from '../src/train/options.js';
import { TrainStep } from '../src/train/step.js';
import { train } from '../src/train/train.js';
import { loadModelFile } from '../src/cli/model-file.js';
import type { Tensor } from '../src/tensor.js';
import { read, seeded, setupGpu } from './helpers.js';

const test = suite('objectives');
test.before(setupGpu);

const B = 4;
const K = 3;
const tiny = (objective: Objective, method: Method = 'none') => resolveOptions({ protocol: 'mnist-mini', width: 2, batchSize: B, objective, method, epochs: 1, progress: false, evaluate: false });
const model = (seed: number, objective: Objective) => new SupConResNet(new Rng(seed), { width: 2, inChannels: 1, numClasses: objective.startsWith('ce') ? K : undefined });
const labelsOf = (n: number) => Int32Array.from({ length: n }, (_, i) => (i * 2 + 1) % K);

function randomImages(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n * 32 * 32 }, () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
}

/** float64 cross-entropy per row of logits [n, k]. */
function crossEntropyRows(logits: Float64Array, labels: ArrayLike<number>, k: number): number[] {
  return Array.from(labels, (y, i) => {
    const row = logits.subarray(i * k, (i + 1) * k);
    const m = Math.max(...row);
    return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[y];
  });
}

/** float64 SimCLR (NT-Xent) mean over the 2N anchors of stacked features z [2N, d]. */
function simclr(z: Float64Array, n: number, d: number, tau: number): number {
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += z[a * d + j] * z[b * d + j];
    return s;
  };
  let total = 0;
  for (let r = 0; r < 2 * n; r++) {
    let denom = 0;
    for (let k = 0; k < 2 * n; k++) if (k !== r) denom += Math.exp(dot(r, k) / tau);
    total += Math.log(denom) - dot(r, (r + n) % (2 * n)) / tau;
  }
  return total / (2 * n);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const close = (got: number, want: number, what: string, seed: number) => assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want), `${what}: ${got} vs reference ${want} (seed ${seed})`);

test('ce: the loss is crossEntropy of the classifier output on both views', async () => {
  const { rng, seed } = seeded();
  const m = model(seed, 'ce');
  const step = new TrainStep(m, tiny('ce'), 'mnist', { channels: 1, height: 32, width: 32 });
  const labels = labelsOf(B);
  const images = randomImages(rng, B);
  await scope(async () => {
    const loss = await step.loss(images, labels, new Rng(seed)).item();
    // The same views (same draws), through the encoder and the classifier.
    const views = step.views(tensor(images, [B, 1, 32, 32]), new Rng(seed));
    const logits = m.classify(m.features(views));
    const y2 = Int32Array.from({ length: 2 * B }, (_, i) => labels[i % B]);
    const gpuCe = await ops.crossEntropy(logits, tensor(y2, [2 * B], { dtype: 'int32' })).item();
    close(loss, gpuCe, 'ce loss vs ops.crossEntropy', seed);
    close(loss, mean(crossEntropyRows(await read(logits), y2, K)), 'ce loss vs float64 cross-entropy', seed);
  });
  m.dispose();
});

test('ce+ssl: cross-entropy plus SimCLR of the projections, weights 1 and 1', async () => {
  const { rng, seed } = seeded();
  const o = tiny('ce+ssl');
  const m = model(seed, 'ce+ssl');
  const step = new TrainStep(m, o, 'mnist', { channels: 1, height: 32, width: 32 });
  const labels = labelsOf(B);
  const images = randomImages(rng, B);
  await scope(async () => {
    const loss = await step.loss(images, labels, new Rng(seed)).item();
    const views = step.views(tensor(images, [B, 1, 32, 32]), new Rng(seed));
    const f = m.features(views);
    const logits = await read(m.classify(f));
    const z = m.project(f);
    const y2 = Int32Array.from({ length: 2 * B }, (_, i) => labels[i % B]);
    const want = mean(crossEntropyRows(logits, y2, K)) + simclr(await read(z), B, z.shape[1], o.tau);
    close(loss, want, 'ce+ssl loss', seed);
  });
  m.dispose();
});

/** Runs the objective's loss recording the LayerCAM layers' outputs, as TrainStep does. */
function withActivations(m: SupConResNet, o: ReturnType<typeof tiny>, views: Tensor, labels: Int32Array) {
  const names = o.layers.map((n) => m.layer(n).path);
  const acts = new Map<string, Tensor>();
  const remove = m.addForwardHook(names, (p, out) => acts.set(p, out));
  const out = createObjective(o.objective, m, o).loss(views, labels);
  remove();
  return { batch: out, activations: names.map((n) => acts.get(n)!) };
}

test('ce with GradMix: the mixed term is the gamma^2-weighted cross-entropy of the mixed images', async () => {
  const { rng, seed } = seeded();
  const o = tiny('ce', 'gradmix');
  const m = model(seed, 'ce');
  const step = new TrainStep(m, o, 'mnist', { channels: 1, height: 32, width: 32 });
  const labels = labelsOf(B);
  await scope(async () => {
    const views = step.views(tensor(randomImages(rng, B), [B, 1, 32, 32]), rng);
    const obj = withActivations(m, o, views, labels);
    assert.is(obj.batch.z, undefined, 'ce computes no projections');
    assert.is(step.objective.mixedWeight, 1);
    const { term, mix } = mixedTerm({ config: mixingConfig(o), target: obj.batch, views, activations: obj.activations, rng });
    const weights = mix.weights as Float32Array; // host weights: every method but attentive-cutmix
    const perImage = crossEntropyRows(await read(m.classify(m.features(mix.mixed))), labels, K);
    const want = perImage.reduce((s, l, i) => s + weights[i] * l, 0) / B;
    close(await term.item(), want, 'mixed ce term', seed);
    assert.ok(
      [...weights].every((w) => w >= 0.01 - 1e-7 && w <= 0.25 + 1e-7),
      'weights are gamma^2',
    );
  });
  m.dispose();
});

test('supcon: theta * SupCon; its mixed term is SupCon of the mixed view 1 against view 2, weighted', async () => {
  const { rng, seed } = seeded();
  const o = { ...tiny('supcon', 'mixup'), theta: 0.7 };
  const m = model(seed, 'supcon');
  const step = new TrainStep(m, o, 'mnist', { channels: 1, height: 32, width: 32 });
  const labels = labelsOf(B);
  await scope(async () => {
    const views = step.views(tensor(randomImages(rng, B), [B, 1, 32, 32]), rng);
    const obj = step.objective.loss(views, labels);
    const y = tensor(labels, [B], { dtype: 'int32' });
    close(await obj.loss.item(), 0.7 * (await supconLoss(obj.z!, y, { tau: o.tau }).item()), 'supcon loss', seed);
    assert.is(step.objective.mixedWeight, 0.7);
    const { term, mix } = mixedTerm({ config: step.mixing, target: obj, views, activations: [], rng });
    const perAnchor = await read(supconLoss([m.call(mix.mixed), ops.slice(obj.z!, 0, B, 2 * B)], y, { tau: o.tau, reduction: 'none' }));
    const want = [...perAnchor].reduce((s, l, r) => s + (mix.weights as Float32Array)[r % B] * l, 0) / (2 * B);
    close(await term.item(), want, 'mixed supcon term', seed);
  });
  m.dispose();
});

test('every objective trains with every method: finite loss; ce leaves the projection head untouched', async () => {
  const { rng, seed } = seeded();
  for (const objective of OBJECTIVES) {
    for (const method of ['none', 'gradmix', 'mixup', 'cutmix'] as const) {
      if (objective === 'supcon+ssl' && method !== 'none') continue; // covered by test/train.test.ts
      const m = model(seed, objective);
      const step = new TrainStep(m, tiny(objective, method), 'mnist', { channels: 1, height: 32, width: 32 });
      const opt = new Adam(m.parameters(), { lr: 1e-2 });
      const before = await read(m.head.layers[0].stateDict().get('weight')!);
      const classifierBefore = m.classifier ? await read(m.classifier.weight) : null;
      const loss = await step.run(randomImages(rng, B), labelsOf(B), opt, new Rng(seed));
      assert.ok(Number.isFinite(loss), `${objective} / ${method}: loss ${loss} (seed ${seed})`);
      const after = await read(m.head.layers[0].stateDict().get('weight')!);
      const headMoved = after.some((v, i) => v !== before[i]);
      assert.is(headMoved, objective !== 'ce', `${objective} / ${method}: projection head ${headMoved ? 'moved' : 'did not move'}`);
      if (classifierBefore) {
        const moved = (await read(m.classifier!.weight)).some((v, i) => v !== classifierBefore[i]);
        assert.ok(moved, `${objective} / ${method}: the classifier was trained`);
      }
      opt.dispose();
      m.dispose();
    }
  }
});

test('a ce run checkpoints classifier.* and loads back with its classifier; resuming as another objective is refused', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gradmix-objectives-'));
  const quick = { protocol: 'mnist-mini', width: 2, batchSize: 8, maxTrain: 16, epochs: 1, objective: 'ce' as const, method: 'none' as const, progress: false, evaluate: false, out };
  const r = await train(quick);
  assert.ok(r.model.classifier, 'the trained model has a classifier');
  assert.equal(r.model.classifier!.weight.shape, [r.data.knownClasses.length, r.model.encoder.featureDim]);
  const loaded = await loadModelFile(r.checkpoint);
  assert.ok(loaded.model.classifier, 'the loaded model has a classifier');
  assert.equal([...(await loaded.model.classifier!.bias!.data())], [...(await r.model.classifier!.bias!.data())], 'classifier.bias round-trips');
  try {
    await train({ ...quick, objective: 'ce+ssl', resume: true });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /different settings/);
  }
  r.model.dispose();
  loaded.model.dispose();
});

test('options: unknown objective, msp/entropy without a ce objective; models without a classifier', () => {
  assert.throws(() => resolveOptions({ objective: 'mse' as Objective }), /unknown objective 'mse'; use one of supcon\+ssl, supcon, ce, ce\+ssl/);
  assert.throws(() => resolveOptions({ score: 'msp' }), /score 'msp' needs the classifier of a ce objective/);
  assert.throws(() => resolveOptions({ objective: 'supcon', score: 'entropy' }), /score 'entropy' needs the classifier/);
  assert.is(resolveOptions({ objective: 'ce', score: 'msp' }).score, 'msp');
  assert.is(resolveOptions({}).objective, 'supcon+ssl');
  const plain = new SupConResNet(new Rng(0), { width: 2, inChannels: 1 });
  assert.is(plain.classifier, null);
  assert.ok(![...plain.stateDict().keys()].some((k) => k.startsWith('classifier')), 'no classifier.* without numClasses');
  assert.throws(() => createObjective('ce', plain, tiny('ce')), /objective 'ce' needs a model built with a classifier/);
  assert.throws(() => new TrainStep(plain, tiny('ce+ssl'), 'mnist', { channels: 1, height: 32, width: 32 }), /objective 'ce\+ssl' needs a model built with a classifier/);
  plain.dispose();
});

test.run();
