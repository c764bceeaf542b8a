// The engine in a real browser: Debian's Chromium (driven by playwright-core, no browser download)
// opens the demo pages served on localhost and runs them on its WebGPU software adapter
// (SwiftShader). Checks: the bundle has no Node built-ins; a tiny model trains in the page (the
// loss falls, the loss and attribution canvases are drawn, the ROC appears at the end); the page's
// first-step loss equals the Node CLI's for the same seed and settings; the embedding example maps
// a dropped image with a checkpoint written by Node, and with a checkpoint as `gradmix train` writes
// it (holding the open-set recogniser) also shows the verdict, class and score that Node predicts
// for the same image. Screenshots go to runs/browser-test/.
// Chromium: $CHROMIUM, else /usr/bin/chromium (scripts/setup.sh installs it on Debian as root);
// GRADMIX_SKIP_BROWSER=1 skips these tests where no Chromium can be had.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, NO_CHROMIUM, launchChromium } from './chromium.js';
import { setupGpu } from './helpers.js';
import { train } from '../src/train/train.js';
import type { TrainOptions } from '../src/train/options.js';
import { SupConResNet } from '../src/nn/index.js';
import { saveCheckpoint, toHost, writeSafetensors, type HostTensor } from '../src/checkpoint/index.js';
import { TorchvisionResNet } from '../src/nn/torchvision-resnet.js';
import { Rng } from '../src/random.js';
import { storeRecogniser } from '../src/train/recogniser.js';
import { loadOpenSetModel } from '../src/osr/open-set-file.js';
import { subsampleOpenSet } from '../src/browser/evaluate.js';

interface DemoServer {
  url: string;
  close: () => Promise<void>;
}
interface BuildScript {
  buildBrowser(o: { types?: boolean; demo?: boolean }): Promise<{ inputs: Record<string, unknown> }>;
}
interface ServeScript {
  startDemoServer(o: { port: number; model: string; attention?: string; build: boolean; quiet: boolean }): Promise<DemoServer>;
}
const script = <T>(name: string) => import(new URL(`../scripts/${name}`, import.meta.url).href) as Promise<T>;

const root = new URL('..', import.meta.url).pathname;
const shots = join(root, 'runs', 'browser-test');
// Tiny on purpose: SwiftShader runs the kernels on the CPU.
const TINY = { width: 2, batchSize: 8, seed: 5, method: 'gradmix' as const };

const work = mkdtempSync(join(tmpdir(), 'gradmix-browser-'));
const modelFile = join(work, 'model.safetensors');
/** A random torchvision ResNet of width 2: the page's Attentive CutMix network (served as /attention.safetensors). */
const attentionFile = join(work, 'attention.safetensors');
let server: DemoServer | null = null;
let context: BrowserContext | null = null;
const pageErrors: string[] = [];

async function openPage(path: string): Promise<Page> {
  const page = await context!.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${path}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('404')) pageErrors.push(`${path}: console: ${m.text()}`);
  });
  await page.goto(server!.url + path);
  return page;
}

/** Pixels that differ from the canvas's first pixel, and the number of distinct colours. */
function canvasStats(page: Page, selector: string): Promise<{ width: number; height: number; changed: number; colours: number }> {
  return page.$eval(selector, (el) => {
    const c = el as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set<number>();
    let changed = 0;
    for (let i = 0; i < d.length; i += 4) {
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) changed++;
    }
    return { width: c.width, height: c.height, changed, colours: colours.size };
  });
}

const skip = !CHROMIUM && process.env.GRADMIX_SKIP_BROWSER === '1';

/** Builds, serves and launches Chromium once; every test awaits it, so a failure is reported by each. */
let started: Promise<void> | null = null;
function start(): Promise<void> {
  started ??= (async () => {
    await setupGpu();
    if (!CHROMIUM) throw new Error(NO_CHROMIUM);
    const { buildBrowser } = await script<BuildScript>('build-browser.mjs');
    await buildBrowser({ types: false });
    const net = new TorchvisionResNet(new Rng(11), { width: 2 });
    await writeSafetensors(attentionFile, await Promise.all([...net.stateDict()].map(async ([name, t]) => [name, await toHost(name, t)] as [string, HostTensor])));
    net.dispose();
    server = await (await script<ServeScript>('serve-demo.mjs')).startDemoServer({ port: 0, model: modelFile, attention: attentionFile, build: false, quiet: true });
    context = await launchChromium(work);
    mkdirSync(shots, { recursive: true });
  })();
  return started;
}

const browserTest = (name: string, fn: () => Promise<void> | void) =>
  (skip ? test.skip : test)(name, async () => {
    await start();
    await fn();
  });

test.after(async () => {
  await context?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

browserTest('the bundle is built for browsers without Node built-ins, from the modules Node uses too', async () => {
  const { buildBrowser } = await script<BuildScript>('build-browser.mjs');
  const inputs = Object.keys((await buildBrowser({ types: false, demo: false })).inputs);
  for (const shared of [
    'src/data/mnist-digits.ts',
    'src/data/open-set.ts',
    'src/data/batches.ts',
    'src/train/training-run.ts',
    'src/train/panels.ts',
    'src/train/panel-image.ts',
    'src/checkpoint/model-from-checkpoint.ts',
  ]) {
    assert.ok(inputs.includes(shared), `${shared} (shared with the Node modules) is in the bundle`);
  }
  for (const nodeOnly of [
    'src/data/files.ts',
    'src/data/index.ts',
    'src/data/mnist-mini.ts',
    'src/data/protocols.ts',
    'src/train/train.ts',
    'src/train/pictures.ts',
    'src/osr/report.ts',
    'src/checkpoint/files.ts',
    'src/cli/model-file.ts',
  ]) {
    assert.not.ok(inputs.includes(nodeOnly), `${nodeOnly} is not in the bundle`);
  }
  assert.ok(inputs.includes('runtime/kernel-sources.generated.ts'), 'kernels are embedded');
});

browserTest('the demo trains in the page: the loss falls, the canvases are drawn, the ROC comes at the end', async () => {
  // One epoch of 24 images in batches of 8: three steps, then the page evaluates by itself.
  const page = await openPage(`?width=${TINY.width}&batch=${TINY.batchSize}&epochs=1&maxTrain=24&seed=${TINY.seed}&digits=4&evalTrain=8&evalTest=24`);
  await page.evaluate(() => (window as any).gradmixDemo.ready);
  const ready = await page.evaluate(() => (window as any).gradmixDemo.state);
  assert.is(ready.error, null, `page error: ${ready.error}`);
  assert.is(ready.kernelVariant, 'register', `SwiftShader should get the register kernels (adapter: ${ready.adapter})`);
  // A timer every 20 ms: the longest gap between its ticks is how long the page stayed frozen,
  // kept apart for the first step (which also parses and compiles every kernel) and the rest.
  await page.evaluate(() => {
    const w = window as any;
    w.longestGap = [0, 0];
    let last = performance.now();
    w.ticker = setInterval(() => {
      const now = performance.now();
      const warm = w.gradmixDemo.state.step > 0 ? 1 : 0;
      w.longestGap[warm] = Math.max(w.longestGap[warm], now - last);
      last = now;
    }, 20);
  });
  await page.click('#start');
  await page.waitForFunction(
    () => {
      const s = (window as any).gradmixDemo.state;
      return s.auroc !== null || s.error;
    },
    null,
    { timeout: 240_000, polling: 250 },
  );
  const [firstGap, laterGap]: number[] = await page.evaluate(() => (clearInterval((window as any).ticker), (window as any).longestGap));
  const s = await page.evaluate(() => (window as any).gradmixDemo.state);
  assert.is(s.error, null, `page error: ${s.error}`);
  assert.is(s.step, 3);
  assert.ok(s.losses.every(Number.isFinite), `losses ${s.losses}`);
  const replay = await page.evaluate(() => (window as any).gradmixDemo.replayFirstStep());
  assert.ok(replay < s.losses[0], `the first step's loss on its own inputs fell from ${s.losses[0]} to ${replay} after 3 steps`);
  const loss = await canvasStats(page, '#loss');
  assert.ok(loss.changed > 500 && loss.colours > 4, `loss canvas drawn (${JSON.stringify(loss)})`);
  const panels = await canvasStats(page, '#panels');
  assert.ok(s.panelUpdates >= 1 && panels.height > 100 && panels.colours > 50, `attribution panels drawn (${JSON.stringify(panels)})`);
  assert.ok(s.auroc >= 0 && s.auroc <= 1, `AUROC ${s.auroc}`);
  console.log(`  demo: the page's longest unresponsive stretch: ${firstGap.toFixed(0)} ms in the first step, ${laterGap.toFixed(0)} ms after it`);
  assert.ok(laterGap < 1000, `the page froze for ${laterGap.toFixed(0)} ms during training or evaluation`);
  assert.match((await page.textContent('#roc')) ?? '', /AUROC \d+\.\d\d%/);
  await page.screenshot({ path: join(shots, 'demo.png'), fullPage: true });
  await page.close();
});

browserTest("the page's first-step loss equals the Node CLI's for the same seed and settings", async () => {
  // The CLI's training function (what `gradmix train` runs), stopped after its first step; a
  // training subset, so the subset choice, batch order and per-step seeds are all compared. The
  // second setting has a classifier head and another mixing method; the third is Attentive CutMix
  // with the network the page fetched (?attention=) and Node read from the same file.
  const page = await openPage('?attention=/attention.safetensors');
  await page.evaluate(() => (window as any).gradmixDemo.ready);
  const settings: Partial<TrainOptions>[] = [
    { ...TINY, maxTrain: 40, epochs: 1 },
    { ...TINY, maxTrain: 30, epochs: 1, method: 'cutmix', objective: 'ce+ssl', seed: 9 },
    { ...TINY, maxTrain: 16, epochs: 1, method: 'attentive-cutmix', attentionModel: attentionFile },
  ];
  for (const [i, options] of settings.entries()) {
    let nodeLoss = NaN;
    const stop = new AbortController();
    const result = await train(
      { ...options, out: join(work, `run${i}`), progress: false, evaluate: false }, // a folder each: train keeps another run's folder
      {
        signal: stop.signal,
        onStep: (step, loss) => {
          if (step === 0) nodeLoss = loss;
          stop.abort();
        },
      },
    );
    result.model.dispose();
    const inPage = options.attentionModel ? { ...options, attentionModel: '/attention.safetensors' } : options;
    const pageLoss: number = await page.evaluate((given) => (window as any).gradmixDemo.firstStepLoss(given), inPage);
    const rel = Math.abs(pageLoss - nodeLoss) / Math.abs(nodeLoss);
    const what = `${options.method}, ${options.objective ?? 'supcon+ssl'}`;
    assert.ok(Number.isFinite(nodeLoss) && rel < 1e-4, `${what}: page ${pageLoss} vs Node ${nodeLoss}: relative difference ${rel.toExponential(2)}`);
    console.log(`  first-step loss (${what}): page ${pageLoss}, Node CLI ${nodeLoss} (relative difference ${rel.toExponential(2)})`);
  }
  await page.close();
});

/** Drops a dark "7" on white as a PNG file, as a user would, and waits for the page to map it. */
async function dropSeven(page: Page) {
  await page.evaluate(async () => {
    const c = new OffscreenCanvas(64, 64);
    const g = c.getContext('2d')!;
    g.fillStyle = '#fff';
    g.fillRect(0, 0, 64, 64);
    g.strokeStyle = '#000';
    g.lineWidth = 7;
    g.beginPath();
    g.moveTo(14, 12);
    g.lineTo(50, 12);
    g.lineTo(26, 56);
    g.stroke();
    const file = new File([await c.convertToBlob({ type: 'image/png' })], 'seven.png', { type: 'image/png' });
    const dt = new DataTransfer();
    dt.items.add(file);
    document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(
    () => {
      const s = (window as any).gradmixEmbed.state;
      return s.maps > 0 || s.error;
    },
    null,
    { timeout: 120_000, polling: 250 },
  );
  const s = await page.evaluate(() => (window as any).gradmixEmbed.state);
  assert.is(s.error, null, `page error: ${s.error}`);
  const map = await canvasStats(page, '#map');
  assert.ok(map.colours > 30 && map.changed > 1000, `attribution map drawn (${JSON.stringify(map)})`);
  return s;
}

browserTest('the embedding example loads a checkpoint and maps a dropped image (no recogniser: no verdict, and says why)', async () => {
  const model = new SupConResNet(new Rng(11), { width: 2, inChannels: 1 });
  await saveCheckpoint(modelFile, { model: model.stateDict(), metadata: { config: JSON.stringify({ layers: ['layer2.1', 'layer3.1', 'layer4.1'] }) } });
  model.dispose();
  const page = await openPage('embed.html');
  await page.evaluate(() => (window as any).gradmixEmbed.ready);
  const loaded = await page.evaluate(() => (window as any).gradmixEmbed.state);
  assert.is(loaded.error, null, `page error: ${loaded.error}`);
  assert.match(loaded.model, /resnet18 width 2/);
  const s = await dropSeven(page);
  assert.is(s.verdict, null);
  assert.ok(await page.isHidden('#verdict'), 'no verdict shown');
  assert.match((await page.textContent('#classes')) ?? '', /holds no open-set recogniser/);
  await page.close();
});

browserTest("the embedding example shows the verdict, class and score of a dropped image: Node's prediction for the same checkpoint and image", async () => {
  // The checkpoint as `gradmix train` writes it: train's checkpoint, then the recogniser that the
  // train command calibrates and stores in it (on a subsample of the split, to keep this quick).
  const result = await train({ ...TINY, maxTrain: 40, epochs: 1, out: join(work, 'trained'), progress: false, evaluate: false });
  const small = subsampleOpenSet(result.data, { trainPerClass: 8, testKnown: 40, testUnknown: 0, seed: 1 });
  (await storeRecogniser(result.checkpoint, result.model, small, { k: 3, tpr: 0.95 })).dispose();
  result.model.dispose();
  copyFileSync(result.checkpoint, modelFile);
  // A URL of its own (the server ignores the query), so no cached copy of the last test's checkpoint is used.
  const page = await openPage(`embed.html?model=${encodeURIComponent('model.safetensors?trained')}`);
  await page.evaluate(() => (window as any).gradmixEmbed.ready);
  assert.match((await page.textContent('#classes')) ?? '', /^Known classes: 2, 4, 5, 9, 8, 3\. Threshold \d\.\d{4} on the kNN score \(k = 3\), accepting 95% of 40 held-out known images\.$/);
  const s = await dropSeven(page);
  const recogniser = await loadOpenSetModel(modelFile);
  try {
    const [node] = await recogniser.predict(Float32Array.from(s.digit), [1, 1, 32, 32]);
    const v = s.verdict;
    assert.ok(v, 'the page has a verdict');
    assert.equal([v.classIndex, v.className, v.known, v.threshold], [node.classIndex, node.className, node.known, node.threshold], 'same class, verdict and threshold as Node');
    assert.ok(Math.abs(v.score - node.score) < 1e-4, `score: page ${v.score}, Node ${node.score}`);
    console.log(`  embed verdict: ${v.known ? 'known' : 'unknown'}, nearest class ${v.className}, score ${v.score} (Node ${node.score}), threshold ${v.threshold}`);
    assert.ok(await page.isVisible('#verdict'), 'the verdict is shown');
    assert.is(await page.textContent('#verdictWord'), v.known ? 'known' : 'unknown');
    assert.is(await page.textContent('#verdictClass'), node.className);
    assert.is(await page.textContent('#verdictScore'), `${node.score.toFixed(4)} ${node.known ? '≥' : '<'} threshold ${node.threshold.toFixed(4)}`);
  } finally {
    recogniser.model.dispose();
    recogniser.dispose();
  }
  await page.screenshot({ path: join(shots, 'embed.png'), fullPage: true });
  await page.close();
});

browserTest('the pages raised no errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
