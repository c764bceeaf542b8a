// Builds the browser package (npm run build:browser):
//   dist/browser/gradmix.js    minified ESM bundle of src/browser.ts, kernels embedded (comments
//                              stripped, reflected at build time), with a source map;
//   dist/browser/chunks/       what it imports lazily (wgsl_reflect, for registerKernelSource; the
//                              panels, plots and Attentive CutMix: src/browser/lazy.ts,
//                              attention-model.ts), and the code it shares with those, which it
//                              imports statically (staticOutputs: what the size budget counts);
//   dist/browser/gradmix.d.ts  its type declarations (tsc, emitted under dist/browser/types/);
//   dist/demo/*.js             the demo pages' scripts, importing ../browser/gradmix.js.
// The bundle is built for platform=browser with no externals, so an import of a Node built-in
// anywhere in its graph fails the build, and so does a Node global (process, Buffer, require) in
// a source (nodeGlobals). Browser-safe modules import the browser-safe files they need (e.g.
// src/data/open-set.ts, not the src/data/index.ts barrel, which re-exports the Node file loaders).
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyHandWrittenDeclarations, writeEntryDeclaration } from './build-node.mjs';
import { kernelSubset } from './embed-kernels.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/**
 * Node globals have no import for the bundler to reject, so sources are checked for them: a bare
 * `process.`, `Buffer.`, `__dirname`, `__filename` or `require(` outside comments fails the build,
 * naming the line (engine code reads the environment through globalThis, as runtime/platform.ts does).
 */
const nodeGlobals = {
  name: 'no-node-globals',
  setup(build) {
    const bare = /(?<![\w.$)\]'"`])(process\.|Buffer\.|__dirname\b|__filename\b|require\()/;
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const lines = (await readFile(args.path, 'utf8')).split('\n');
      const errors = [];
      lines.forEach((text, i) => {
        const code = text.replace(/\/\/.*$/, '');
        const m = bare.exec(code);
        if (m && !/^\s*\*/.test(code)) {
          errors.push({
            text: `uses the Node global '${m[1].replace(/[.(]$/, '')}', which browsers lack; read it through globalThis (see runtime/platform.ts)`,
            location: { file: args.path, line: i + 1, column: m.index, lineText: text },
          });
        }
      });
      return errors.length ? { errors } : undefined;
    });
  },
};

/**
 * Node-only code a page can never run is left out of the page's module: runtime/wait-pacer.ts
 * (Dawn's Node binding spins while it waits; browsers do not) becomes its no-op twin,
 * runtime/wait-pacer.browser.ts, which has the same surface.
 */
const browserTwins = {
  name: 'browser-twins',
  setup(build) {
    build.onResolve({ filter: /\/wait-pacer\.js$/ }, (args) => ({ path: join(args.resolveDir, 'wait-pacer.browser.ts') }));
  },
};

/** The demo scripts import the library as a page would: the bundle, by URL, not its sources. */
const libraryByUrl = {
  name: 'library-by-url',
  setup(build) {
    build.onResolve({ filter: /\/src\/browser\.js$/ }, () => ({ path: '../browser/gradmix.js', external: true }));
  },
};

const common = { absWorkingDir: root, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, logLevel: 'warning', metafile: true };

/**
 * The outputs a page loads with `main` (a path): it and the chunks it imports statically,
 * transitively (esbuild's splitting puts code shared with lazy chunks in chunks of its own), as
 * metafile keys. What the module's size budget counts (test/bundle-size.test.ts).
 */
export function staticOutputs(metafile, main) {
  const key = relative(root, main);
  if (!metafile.outputs[key]) throw new Error(`the metafile has no output ${key}`);
  const seen = new Set();
  const visit = (k) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const i of metafile.outputs[k].imports) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(key);
  return [...seen];
}

/** Writes the bundle (and, unless turned off, the declarations and demo scripts); returns the bundle's metafile. */
export async function buildBrowser({ outDir = join(root, 'dist'), types = true, demo = true } = {}) {
  // Minified. wgsl_reflect, which only registerKernelSource needs (the embedded kernels were
  // reflected at build time), is imported lazily there, so it lands in a chunk of its own under
  // chunks/ that a page fetches only if it registers a kernel.
  // Only the kernel families its sources launch are embedded (pages run no corruption benchmarks).
  rmSync(join(outDir, 'browser', 'chunks'), { recursive: true, force: true });
  const libOptions = {
    ...common,
    entryPoints: { gradmix: join(root, 'src', 'browser.ts') },
    outdir: join(outDir, 'browser'),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
  };
  // The kernel families of code in lazily loaded chunks only (Attentive CutMix's) go with that code.
  const probe = await esbuild.build({ ...libOptions, write: false, sourcemap: false, plugins: [browserTwins, nodeGlobals] });
  const loaded = staticOutputs(probe.metafile, join(outDir, 'browser', 'gradmix.js'));
  const sourcesOf = (outputs) =>
    [...new Set(outputs.flatMap((o) => Object.keys(probe.metafile.outputs[o].inputs)))].filter((f) => f.endsWith('.ts') && !f.endsWith('.generated.ts')).map((f) => join(root, f));
  const lazy = Object.keys(probe.metafile.outputs).filter((o) => o.endsWith('.js') && !loaded.includes(o));
  const lib = await esbuild.build({ ...libOptions, plugins: [browserTwins, nodeGlobals, await kernelSubset(sourcesOf(loaded), sourcesOf(lazy))] });
  if (demo) {
    await esbuild.build({
      ...common,
      entryPoints: [join(root, 'demo', 'demo.ts'), join(root, 'demo', 'embed.ts')],
      outdir: join(outDir, 'demo'),
      plugins: [libraryByUrl, nodeGlobals],
    });
  }
  if (types) {
    // Browser typings (DOM, @webgpu/types); the demo scripts are type-checked against the same.
    const tsc = (files, flags) =>
      execFileSync(
        process.execPath,
        [
          require.resolve('typescript/bin/tsc'),
          ...files.map((f) => join(root, f)),
          join(root, 'runtime', 'wgsl-reflect.d.ts'),
          '--module',
          'NodeNext',
          '--moduleResolution',
          'NodeNext',
          '--target',
          'ES2022',
          '--strict',
          '--skipLibCheck',
          '--lib',
          'ES2022,DOM,DOM.Iterable',
          '--types',
          '@webgpu/types',
          ...flags,
        ],
        { cwd: root, stdio: 'inherit' },
      );
    const typesDir = join(outDir, 'browser', 'types');
    rmSync(typesDir, { recursive: true, force: true }); // no stale declarations of removed sources
    tsc(['src/browser.ts'], ['--declaration', '--emitDeclarationOnly', '--outDir', typesDir, '--rootDir', root]);
    if (demo) tsc(['demo/demo.ts', 'demo/embed.ts'], ['--noEmit']);
    mkdirSync(join(outDir, 'browser'), { recursive: true });
    // The WebGPU globals and the hand-typed modules the declarations name (see build-node.mjs).
    const declarations = copyHandWrittenDeclarations(typesDir);
    writeEntryDeclaration(join(outDir, 'browser', 'gradmix.d.ts'), `export * from './types/src/browser.js';\n`, declarations);
  }
  return lib.metafile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let meta;
  try {
    meta = await buildBrowser();
  } catch (e) {
    // esbuild and tsc have printed the errors, with their locations.
    console.error(`build:browser failed${e.errors ? '' : `: ${e.message}`}`);
    process.exit(1);
  }
  for (const [file, out] of Object.entries(meta.outputs)) {
    if (file.endsWith('.js')) console.log(`${relative(root, resolve(root, file))}: ${(out.bytes / 1024).toFixed(0)} KiB from ${Object.keys(out.inputs).length} modules`);
  }
  const loaded = staticOutputs(meta, join(root, 'dist', 'browser', 'gradmix.js'));
  console.log(`a page loads gradmix.js and ${loaded.length - 1} static chunks: ${(loaded.reduce((n, k) => n + meta.outputs[k].bytes, 0) / 1024).toFixed(1)} KiB; the other chunks on first use`);
  console.log('wrote dist/browser/gradmix.js, dist/browser/gradmix.d.ts and dist/demo/');
}
