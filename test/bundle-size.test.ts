// The browser module's size budget: under 200 KiB minified, without the WGSL parser (the kernels
// are reflected at build time; wgsl_reflect sits in a lazily loaded chunk for
// registerKernelSource) and without the shaders' comments.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, unknown>; imports: { path: string; kind: string }[] }>;
}
interface BuildScript {
  buildBrowser(o: { outDir?: string; types?: boolean; demo?: boolean }): Promise<Metafile>;
}
const BUDGET_BYTES = 200 * 1024;
const root = new URL('..', import.meta.url).pathname;

const test = suite('bundle-size');

test('dist/browser/gradmix.js is under 200 KiB minified, without wgsl_reflect or WGSL comments', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gradmix-bundle-'));
  try {
    const { buildBrowser } = (await import(new URL('../scripts/build-browser.mjs', import.meta.url).href)) as BuildScript;
    const meta = await buildBrowser({ outDir: out, types: false, demo: false });
    const file = join(out, 'browser', 'gradmix.js');
    const key = relative(root, file);
    const main = meta.outputs[key];
    assert.ok(main, `the metafile lists ${key}`);
    const bytes = readFileSync(file);
    const gzip = gzipSync(bytes, { level: 9 }).length;
    console.log(`  gradmix.js: ${(bytes.length / 1024).toFixed(1)} KiB minified, ${(gzip / 1024).toFixed(1)} KiB gzipped`);
    assert.ok(bytes.length < BUDGET_BYTES, `gradmix.js is ${(bytes.length / 1024).toFixed(1)} KiB, over the ${BUDGET_BYTES / 1024} KiB budget`);
    const parser = Object.keys(main.inputs).filter((i) => i.includes('wgsl_reflect'));
    assert.equal(parser, [], 'wgsl_reflect is not in the main module');
    // ... but registerKernelSource can still load it: it is a chunk the module imports dynamically.
    const lazy = main.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path);
    assert.ok(lazy.some((p) => Object.keys(meta.outputs[p]?.inputs ?? {}).some((i) => i.includes('wgsl_reflect'))), `a lazily imported chunk holds wgsl_reflect (${lazy.join(', ')})`);
    assert.ok(readdirSync(join(out, 'browser', 'chunks')).length > 0, 'the chunk is written beside the module');
    const text = bytes.toString('utf8');
    assert.ok(text.includes('fn register_blocked('), 'the kernels are embedded');
    assert.not.ok(/Batched GEMM|Wellons|\/\/! include/.test(text), 'the kernels ship without their comments and include lines');
    // Only the kernel families the bundle's sources launch: pages run no corruption benchmarks.
    assert.not.ok(text.includes('fn gaussian_noise('), 'the corruption kernels are left out');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
