// The browser module's size budget: under 200 KiB minified for what a page loads with it (the
// module and the chunks it imports statically: esbuild's splitting puts code it shares with the
// lazily loaded chunks in chunks of their own), without the WGSL parser (the kernels are reflected
// at build time; wgsl_reflect sits in a lazily loaded chunk for registerKernelSource), without the
// shaders' comments, and without what only some pages run (panels, plots, Attentive CutMix: lazy
// chunks, their kernels included).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, unknown>; imports: { path: string; kind: string }[] }>;
}
interface BuildScript {
  buildBrowser(o: { outDir?: string; types?: boolean; demo?: boolean }): Promise<Metafile>;
  staticOutputs(metafile: Metafile, main: string): string[];
}
const BUDGET_BYTES = 200 * 1024;
const root = new URL('..', import.meta.url).pathname;
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

const test = suite('bundle-size');

test('dist/browser/gradmix.js with its static chunks is under 200 KiB minified; the parser, panels, plots, Attentive CutMix, NNO and image fitting are lazy', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gradmix-bundle-'));
  try {
    const { buildBrowser, staticOutputs } = (await import(new URL('../scripts/build-browser.mjs', import.meta.url).href)) as BuildScript;
    const meta = await buildBrowser({ outDir: out, types: false, demo: false });
    const loaded = staticOutputs(meta, join(out, 'browser', 'gradmix.js'));
    const files = loaded.map((k) => readFileSync(join(root, k)));
    const bytes = files.reduce((a, b) => a + b.length, 0);
    const gzip = files.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0);
    console.log(`  gradmix.js and ${loaded.length - 1} static chunks: ${kib(bytes)} minified, ${kib(gzip)} gzipped`);
    assert.ok(bytes < BUDGET_BYTES, `gradmix.js with its static chunks is ${kib(bytes)}, over the ${BUDGET_BYTES / 1024} KiB budget`);
    const inputs = (keys: string[]) => keys.flatMap((k) => Object.keys(meta.outputs[k].inputs));
    const text = files.map((b) => b.toString('utf8')).join('\n');

    // Each of these is in no statically loaded output, but in a chunk that one imports dynamically.
    const lazyChunks = [...new Set(loaded.flatMap((k) => meta.outputs[k].imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path)))];
    for (const module of [
      'wgsl_reflect',
      'src/train/panels.ts',
      'src/train/panel-image.ts',
      'src/osr/plots.ts',
      'src/gradmix/attentive-cutmix.ts',
      'src/checkpoint/torchvision.ts',
      'src/osr/intrinsic-dim.ts',
      'src/osr/nno.ts',
      'src/osr/fit-input.ts',
    ]) {
      assert.not.ok(
        inputs(loaded).some((i) => i.includes(module)),
        `${module} is not loaded with the module`,
      );
      const chunk = lazyChunks.find((k) => inputs([k]).some((i) => i.includes(module)));
      assert.ok(chunk, `a lazily imported chunk holds ${module} (${lazyChunks.join(', ')})`);
      assert.ok(existsSync(join(root, chunk)), `${chunk} is written beside the module`);
    }
    // Attentive CutMix's kernels travel with its code.
    const attentive = lazyChunks.find((k) => inputs([k]).some((i) => i.includes('attentive-cutmix.ts')))!;
    assert.ok(readFileSync(join(root, attentive), 'utf8').includes('fn grid_scores('), 'the attentive_mix kernels are in its chunk');
    assert.not.ok(text.includes('fn grid_scores('), 'and not in what the module loads');

    assert.ok(text.includes('fn register_blocked('), 'the kernels are embedded');
    assert.not.ok(/Batched GEMM|Wellons|\/\/! include/.test(text), 'the kernels ship without their comments and include lines');
    // Only the kernel families the bundle's sources launch: pages run no corruption benchmarks.
    assert.not.ok(text.includes('fn gaussian_noise('), 'the corruption kernels are left out');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
