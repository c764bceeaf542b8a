// The benchmark page in headless Chromium (its WebGPU software adapter, SwiftShader) at tiny
// sizes: it describes the adapter, measures the ceilings, gives rows of several families
// (the example kernel included, its check run in the page), and its JSON loads in bench:compare;
// the screenshot goes to runs/bench-web-test/.
// Chromium: $CHROMIUM, else /usr/bin/chromium; GRADMIX_SKIP_BROWSER=1 skips where there is none.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { parseRun } from '../bench/schema.js';

interface PageServer {
  url: string;
  close: () => Promise<void>;
}
interface ServeScript {
  buildBenchPage(): Promise<string>;
  serveBenchPage(port?: number): Promise<PageServer>;
}

const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const FLAGS = ['--headless=new', '--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The page's screenshot (README's picture is a copy of it).
const SHOTS = join(new URL('..', import.meta.url).pathname, 'runs', 'bench-web-test');
const FAMILIES = ['matmul', 'batchnorm', 'paste', 'bias-relu'];
const TINY = `?batch=2&width=2&size=8&gemm=64&copy=1&repeats=3&filter=${encodeURIComponent(`^(${FAMILIES.join('|')}) `)}`;

test('the page runs families on navigator.gpu and its JSON loads in bench:compare', async () => {
  if (!CHROMIUM) {
    if (process.env.GRADMIX_SKIP_BROWSER === '1') return;
    throw new Error('no Chromium at /usr/bin/chromium (or $CHROMIUM); set GRADMIX_SKIP_BROWSER=1 to skip');
  }
  const serve = (await import(new URL('../bench/web/serve.mjs', import.meta.url).href)) as ServeScript;
  await serve.buildBenchPage();
  const server = await serve.serveBenchPage();
  const work = mkdtempSync(join(tmpdir(), 'gradmix-bench-web-'));
  const context = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url + TINY);
    await page.waitForFunction(() => (window as unknown as { benchResult?: string }).benchResult, null, { timeout: 50_000, polling: 250 });
    const json = await page.evaluate(() => (window as unknown as { benchResult: string }).benchResult);
    assert.equal(errors, []);
    const run = parseRun(json, 'the page');
    assert.is(run.runner.kind, 'browser');
    assert.ok(run.ceilings.gflops > 0 && run.ceilings.gbps > 0, 'ceilings measured');
    const info = (JSON.parse(json) as { adapterInfo: { features: string[]; limits: Record<string, number> } }).adapterInfo;
    assert.ok(info.limits.maxComputeInvocationsPerWorkgroup > 0 && Array.isArray(info.features));
    const timed = run.rows.filter((r) => r.ms !== undefined && r.ms > 0);
    assert.equal(run.rows.filter((r) => r.error).map((r) => `${r.family} ${r.name}: ${r.error}`), []);
    assert.equal([...new Set(timed.map((r) => r.family))].sort(), [...FAMILIES].sort());
    assert.match(timed.find((r) => r.family === 'bias-relu')!.note ?? '', /checked against float64/);
    assert.ok(await page.locator('#rows tr').count() === run.rows.length, 'a table row per result');
    assert.ok(await page.locator('#download').getAttribute('download'), 'the download is offered');
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'bench-page.png'), fullPage: true });
    const file = join(work, 'page.json');
    writeFileSync(file, json);
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/compare.ts', file, file, '--svg', join(work, 'c.svg')], { encoding: 'utf8' });
    assert.match(out, new RegExp(`within noise on ${timed.length} rows`));
  } finally {
    await context.close();
    await server.close();
  }
});

test.run();
