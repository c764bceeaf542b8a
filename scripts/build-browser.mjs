// Builds the browser package (npm run build:browser):
//   dist/browser/gradmix.js    ESM bundle of src/browser.ts, kernels embedded, with a source map;
//   dist/browser/gradmix.d.ts  its type declarations (tsc, emitted under dist/browser/types/);
//   dist/demo/*.js             the demo pages' scripts, importing ../browser/gradmix.js.
// The bundle is built for platform=browser with no externals, so an import of a Node built-in
// anywhere in its graph fails the build. A few engine modules mix browser-safe code with Node
// file access behind one import; in the bundle they are replaced by browser stand-ins
// (BROWSER_STANDINS), which go away when those modules are split.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Engine module (as imported by other engine modules) -> its browser stand-in. */
export const BROWSER_STANDINS = {
  // re-exports the Node file loaders next to the in-memory data set code
  'src/data/index.ts': 'src/browser/data.ts',
  // finds and reads the digit files with node:module and node:fs; augment/params.ts needs its constants
  'src/data/mnist-mini.ts': 'src/browser/mnist-mini.ts',
};

const standins = {
  name: 'browser-standins',
  setup(build) {
    const table = new Map(Object.entries(BROWSER_STANDINS).map(([from, to]) => [join(root, from), join(root, to)]));
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      const standin = table.get(target);
      return standin ? { path: standin } : undefined;
    });
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

/** Writes the bundle (and, unless turned off, the declarations and demo scripts); returns the bundle's metafile. */
export async function buildBrowser({ outDir = join(root, 'dist'), types = true, demo = true } = {}) {
  await import(pathToFileURL(join(root, 'scripts', 'embed-kernels.mjs')).href);
  const lib = await esbuild.build({
    ...common,
    entryPoints: [join(root, 'src', 'browser.ts')],
    outfile: join(outDir, 'browser', 'gradmix.js'),
    plugins: [standins],
  });
  if (demo) {
    await esbuild.build({
      ...common,
      entryPoints: [join(root, 'demo', 'demo.ts'), join(root, 'demo', 'embed.ts')],
      outdir: join(outDir, 'demo'),
      plugins: [libraryByUrl, standins],
    });
  }
  if (types) {
    // Browser typings (DOM, @webgpu/types); the demo scripts are type-checked against the same.
    const tsc = (files, flags) => execFileSync(process.execPath, [
      require.resolve('typescript/bin/tsc'), ...files.map((f) => join(root, f)), join(root, 'runtime', 'wgsl-reflect.d.ts'),
      '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck',
      '--lib', 'ES2022,DOM,DOM.Iterable', '--types', '@webgpu/types', ...flags,
    ], { cwd: root, stdio: 'inherit' });
    const typesDir = join(outDir, 'browser', 'types');
    tsc(['src/browser.ts'], ['--declaration', '--emitDeclarationOnly', '--outDir', typesDir, '--rootDir', root]);
    if (demo) tsc(['demo/demo.ts', 'demo/embed.ts'], ['--noEmit']);
    mkdirSync(join(outDir, 'browser'), { recursive: true });
    writeFileSync(join(outDir, 'browser', 'gradmix.d.ts'), `export * from './types/src/browser.js';\n`);
  }
  return lib.metafile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const meta = await buildBrowser();
  for (const [file, out] of Object.entries(meta.outputs)) {
    if (file.endsWith('.js')) console.log(`${relative(root, resolve(root, file))}: ${(out.bytes / 1024).toFixed(0)} KiB from ${Object.keys(out.inputs).length} modules`);
  }
  console.log('wrote dist/browser/gradmix.js, dist/browser/gradmix.d.ts and dist/demo/');
}
