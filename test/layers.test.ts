// The layers point one way, read from the sources' imports: runtime/ knows nothing of src/; the
// library (src/ outside src/cli/) never imports the command line; only runtime/platform.ts asks
// the host for environment variables, Node or Node-only modules, and it imports no Node module
// itself; each folder's portable barrel bundles for a browser, and the browser entry is whole
// barrels. And autograd needs no registration: a process that imports src/autograd.ts and one op
// file, not the ops barrel, runs backward().
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const test = suite('layers');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** The repository paths a source imports (static imports and re-exports, relative specifiers), or the bare specifiers. */
function importsOf(file: string): { local: string[]; bare: string[] } {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2]);
  const local = specifiers.filter((s) => s.startsWith('.')).map((s) => relative(root, resolve(root, dirname(file), s)).replace(/\.js$/, '.ts'));
  return { local, bare: specifiers.filter((s) => !s.startsWith('.')) };
}

const violations = (files: string[], bad: (imported: string) => boolean) =>
  files.flatMap((f) =>
    importsOf(f)
      .local.filter(bad)
      .map((i) => `${f} imports ${i}`),
  );

test('the scan sees imports (a file known to import src/cli/ is found)', () => {
  assert.ok(violations(['src/cli/main.ts'], (i) => i.startsWith('src/cli/')).length > 0);
  assert.ok(importsOf('src/cli/commands.ts').bare.includes('node:fs'));
});

test('no file under src/ outside src/cli/ imports from src/cli/', () => {
  const library = sources('src').filter((f) => !f.startsWith('src/cli/'));
  assert.equal(
    violations(library, (i) => i.startsWith('src/cli/')),
    [],
  );
});

test('runtime/ imports nothing from src/', () => {
  assert.equal(
    violations(sources('runtime'), (i) => i.startsWith('src/')),
    [],
  );
});

test("only runtime/platform.ts reads Node's process or loads Node-only modules at run time, and it imports no Node module", () => {
  const platform = 'runtime/platform.ts';
  assert.equal(importsOf(platform), { local: [], bare: [] });
  const hostReads = /globalThis as \{ process\?|import\(\s*\/\* @vite-ignore \*\//;
  const others = [...sources('runtime'), ...sources('src')].filter((f) => f !== platform && hostReads.test(readFileSync(join(root, f), 'utf8')));
  assert.equal(others, [], 'read them through runtime/platform.ts');
});

test("each folder's portable barrel (portable.ts, else index.ts) bundles for a browser; the browser entry is whole barrels", async () => {
  const esbuild = await import('esbuild');
  const folders = readdirSync(join(root, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !['cli', 'sweep'].includes(e.name))
    .map((e) => e.name);
  const barrels = folders.map((d) => (readdirSync(join(root, 'src', d)).includes('portable.ts') ? `src/${d}/portable.ts` : `src/${d}/index.ts`));
  assert.ok(barrels.includes('src/train/portable.ts') && barrels.includes('src/nn/index.ts'), barrels.join(', '));
  const failed: string[] = [];
  for (const entry of [...barrels, 'src/portable.ts']) {
    try {
      await esbuild.build({ entryPoints: [join(root, entry)], bundle: true, write: false, platform: 'browser', format: 'esm', logLevel: 'silent', external: ['wgsl_reflect/*'] });
    } catch (e) {
      const first = (e as { errors?: { text: string; location?: { file: string } }[] }).errors?.[0];
      failed.push(`${entry}: ${first?.text} (${first?.location?.file})`);
    }
  }
  assert.equal(failed, [], "a portable barrel reaches Node: move that export to the folder's index.ts");
  const code = readFileSync(join(root, 'src/browser.ts'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('//'));
  assert.equal(
    code.filter((l) => !/^export \* from '\.\/[\w/-]+\.js';$/.test(l)),
    [],
    'src/browser.ts re-exports whole barrels',
  );
});

test('backward() works with only src/autograd.ts and one op file imported (no registration step)', () => {
  // A fresh process: the test runner's other files have loaded the ops barrel already.
  const script = `
    import { initGpu, destroyGpu } from './runtime/gpu.ts';
    import { backward } from './src/autograd.ts';
    import { tensor } from './src/creation.ts';
    import { mul } from './src/ops/elementwise.ts';
    await initGpu();
    const x = tensor(new Float32Array([1, 2, 3]), [3], { requiresGrad: true });
    const ones = tensor(new Float32Array([1, 1, 1]), [3]);
    backward(mul(x, x), ones);                                          // both inputs are x: 2x, summed by autograd
    backward(mul(x, tensor(new Float32Array([10, 10, 10]), [3])), ones); // accumulated into x.grad: + 10
    const w = tensor(new Float32Array([0.5]), [1], { requiresGrad: true });
    backward(mul(tensor(new Float32Array([4]), [1]), w));               // a scalar root, seeded with 1 by autograd
    console.log(JSON.stringify([Array.from(await x.grad.data()), Array.from(await w.grad.data())]));
    destroyGpu();
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, GRADMIX_AUTOTUNE: '0' } });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!), [[12, 14, 16], [4]]);
});

test.run();
