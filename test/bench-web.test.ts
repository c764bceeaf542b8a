// The benchmark page in headless Chromium (its WebGPU software adapter, SwiftShader) at tiny
// sizes: it describes the adapter, measures the ceilings, gives rows of every family (the example
// kernel included, its check run in the page) with TF.js WebGPU as the peer of the conv2d, matmul
// and training-step rows, and its JSON loads in bench:compare against a Node run of the same tiny
// sizes (matmul and the example: rows of the same name meet) and against the committed Node
// results. The screenshot goes to runs/bench-web-test/. Also: the static build (--build DIR).
// Chromium: $CHROMIUM, else /usr/bin/chromium; GRADMIX_SKIP_BROWSER=1 skips where there is none.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRun } from '../bench/schema.js';
import { CHROMIUM, NO_CHROMIUM, launchChromium } from './chromium.js';

interface PageServer {
  url: string;
  close: () => Promise<void>;
}
interface ServeScript {
  buildBenchPage(dir?: string): Promise<{ dir: string; files: { file: string; bytes: number; tfjs: boolean }[] }>;
  serveBenchPage(port?: number, dir?: string): Promise<PageServer>;
}

const ROOT = new URL('..', import.meta.url).pathname;
// The page's screenshot (README's picture is a copy of it).
const SHOTS = join(ROOT, 'runs', 'bench-web-test');
// Every family of bench/all-families.ts, the example kernel's included.
const FAMILIES = ['matmul', 'conv2d', 'batchnorm', 'contrastive', 'adam', 'knn', 'layercam', 'paste', 'train-step', 'memory', 'bias-relu'];
// A few rows of each family (all 48 rows take ~4 minutes on SwiftShader, most of it the deeper
// training steps and TF.js compiling its shaders): both layer1 convolutions' passes, the ResNet18
// training steps, every row of the others.
const ROWS = [
  '^matmul head fc1 ',
  '^conv2d \\S+ layer1\\.0\\.conv1 ',
  '^batchnorm \\S+ layer1\\.1 ',
  '^contrastive ',
  '^adam ',
  '^knn ',
  '^layercam ',
  '^paste ',
  '^train-step step resnet18 ',
  '^memory ',
  '^bias-relu ',
];
const TINY = `?batch=2&width=2&size=8&gemm=64&copy=1&repeats=2&steps=3&filter=${encodeURIComponent(ROWS.join(','))}`;
const node = (args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('the static build writes index.html, the entry and TF.js in a chunk of its own; a file in the way is refused', async () => {
  const serve = (await import(new URL('../bench/web/serve.mjs', import.meta.url).href)) as ServeScript;
  const dir = join(mkdtempSync(join(tmpdir(), 'gradmix-bench-build-')), 'site');
  const { files } = await serve.buildBenchPage(dir);
  const names = readdirSync(dir);
  assert.ok(names.includes('index.html') && names.includes('bench.js'), names.join(', '));
  assert.match(readFileSync(join(dir, 'index.html'), 'utf8'), /src="bench\.js"/);
  const entry = files.find((f) => f.file === 'bench.js')!;
  const tf = files.filter((f) => readFileSync(join(dir, f.file), 'utf8').includes('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'));
  assert.is(tf.length, 1, 'TF.js is in one chunk');
  assert.equal(
    files.filter((f) => f.tfjs).map((f) => f.file),
    [tf[0].file],
  );
  assert.not.ok(readFileSync(join(dir, 'bench.js'), 'utf8').includes('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'), 'the entry does not hold TF.js');
  assert.ok(entry.bytes < 400_000, `the entry stays small (${entry.bytes} bytes)`);
  // A rebuild replaces its own files only.
  writeFileSync(join(dir, 'mine.txt'), 'kept');
  await serve.buildBenchPage(dir);
  assert.ok(existsSync(join(dir, 'mine.txt')));
  assert.is(readdirSync(dir).filter((f) => /^chunk-.*\.js$/.test(f)).length, files.filter((f) => f.file.startsWith('chunk-')).length, 'no stale chunks');
  const file = join(dir, 'index.html');
  const err = await serve.buildBenchPage(file).then(
    () => null,
    (e: Error) => e.message,
  );
  assert.match(err ?? '', /is a file, not a folder/);
});

test('the page runs every family on navigator.gpu with the TF.js peer; its JSON loads in bench:compare against Node runs', async () => {
  if (!CHROMIUM) {
    if (process.env.GRADMIX_SKIP_BROWSER === '1') return;
    throw new Error(NO_CHROMIUM);
  }
  const serve = (await import(new URL('../bench/web/serve.mjs', import.meta.url).href)) as ServeScript;
  await serve.buildBenchPage();
  const server = await serve.serveBenchPage();
  const work = mkdtempSync(join(tmpdir(), 'gradmix-bench-web-'));
  const context = await launchChromium(work);
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const started = Date.now();
    await page.goto(server.url + TINY);
    await page.waitForFunction(() => (window as unknown as { benchResult?: string }).benchResult, null, { timeout: 240_000, polling: 500 });
    const seconds = (Date.now() - started) / 1000;
    const json = await page.evaluate(() => (window as unknown as { benchResult: string }).benchResult);
    assert.equal(errors, []);
    const run = parseRun(json, 'the page');
    assert.is(run.runner.kind, 'browser');
    assert.ok(/^[0-9a-f]{40}$/.test(run.engine.commit ?? '') && typeof run.engine.dirty === 'boolean', JSON.stringify(run.engine));
    assert.ok(run.ceilings.gflops > 0 && run.ceilings.gbps > 0, 'ceilings measured');
    const info = (JSON.parse(json) as { adapterInfo: { features: string[]; limits: Record<string, number> } }).adapterInfo;
    assert.ok(info.limits.maxComputeInvocationsPerWorkgroup > 0 && Array.isArray(info.features));
    assert.equal(run.skipped, []);
    assert.equal(
      run.rows.filter((r) => r.error).map((r) => `${r.family} ${r.name}: ${r.error}`),
      [],
    );
    const timed = run.rows.filter((r) => r.ms !== undefined && r.ms > 0);
    assert.equal([...new Set(timed.map((r) => r.family))].sort(), [...FAMILIES].sort());
    assert.match(timed.find((r) => r.family === 'bias-relu')!.note ?? '', /checked against float64/);
    assert.match(timed.find((r) => r.family === 'memory' && r.name.startsWith('flat'))!.note ?? '', /FLAT/);
    // TF.js: loaded in the page, a figure and a ratio for every row with a TF.js peer.
    assert.ok('version' in run.peers.tfjs, JSON.stringify(run.peers.tfjs));
    for (const family of ['matmul', 'conv2d', 'train-step']) {
      const rows = run.rows.filter((r) => r.family === family && !(family === 'train-step' && r.name.endsWith(' gradmix')));
      assert.ok(rows.length > 0, family);
      const bad = rows.filter((r) => !r.tfjs || !('ratio' in r.tfjs) || !(r.tfjs.ms > 0));
      assert.equal(
        bad.map((r) => `${r.name}: ${JSON.stringify(r.tfjs)}`),
        [],
        `${family}: TF.js figures`,
      );
    }
    assert.ok(
      run.rows.filter((r) => r.family === 'adam').every((r) => r.tfjs === undefined),
      'no TF.js figure where there is no TF.js peer',
    );
    assert.is(await page.locator('#rows tr').count(), run.rows.length, 'a table row per result');
    assert.match(await page.locator('#peers').innerText(), /TF\.js \d+\.\d+/);
    assert.ok(await page.locator('#download').getAttribute('download'), 'the download is offered');
    // A bad query parameter stops the run with a message naming it.
    for (const [query, message] of [
      ['?batch=0', /query parameter batch=0: needs positive integers/],
      ['?filter=(', /query parameter filter: .*regular expression/],
      ['?filter=nothing-here', /filter=nothing-here: no row matches/],
      ['?power=max', /power=max: high-performance or low-power/],
    ] as const) {
      const bad = await context.newPage();
      await bad.goto(server.url + query);
      await bad.waitForFunction(() => (window as unknown as { benchResult?: string }).benchResult, null, { timeout: 30_000, polling: 100 });
      assert.match(await bad.locator('#status').innerText(), message);
      await bad.close();
    }
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'bench-page.png'), fullPage: true });
    console.log(`  bench-web: ${run.rows.length} rows in ${seconds.toFixed(0)} s`);

    const file = join(work, 'page.json');
    writeFileSync(file, json);
    // A Node run at the same tiny sizes: the matmul and example rows meet the page's by name.
    const nodeFile = join(work, 'node.json');
    node(['bench/run.ts', 'quick', ROWS[0], '^bias-relu ', '--batch', '2', '--width', '2', '--no-peers', '--json', nodeFile]);
    const nodeRun = parseRun(readFileSync(nodeFile, 'utf8'), nodeFile);
    const out = node(['bench/compare.ts', nodeFile, file, '--svg', join(work, 'c.svg')]);
    assert.match(out, /^A: .*\(node, /m);
    assert.match(out, /^B: .*\(browser, /m);
    const met = nodeRun.rows.filter((r) => run.rows.some((p) => p.family === r.family && p.name === r.name));
    assert.is(met.length, 4, 'the three head rows and the example meet');
    const verdicts = out.split('\n').filter((l) => !l.startsWith('B is') && /\s(faster|slower|within noise)\s/.test(l));
    assert.is(verdicts.length, met.length, out);
    // The committed Node results (bench/results/) load against the page's run too.
    const committed = readdirSync(join(ROOT, 'bench', 'results')).filter((f) => f.endsWith('.json'));
    assert.ok(committed.length > 0, 'bench/results/ holds a Node run');
    for (const f of committed) assert.match(node(['bench/compare.ts', join('bench', 'results', f), file, '--svg', join(work, 'r.svg')]), /^B is faster on \d+/m);
  } finally {
    await context.close();
    await server.close();
  }
});

test.run();
