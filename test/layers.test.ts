// The layers point one way, read from the sources' imports: runtime/ knows nothing of src/; the
// library (src/ outside src/cli/) never imports the command line; only runtime/platform.ts asks
// the host for environment variables, Node or Node-only modules, and it imports no Node module
// itself. And autograd needs no registration: a process that imports src/autograd.ts and one op
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
  files.flatMap((f) => importsOf(f).local.filter(bad).map((i) => `${f} imports ${i}`));

test('the scan sees imports (a file known to import src/cli/ is found)', () => {
  assert.ok(violations(['src/cli/main.ts'], (i) => i.startsWith('src/cli/')).length > 0);
  assert.ok(importsOf('src/cli/commands.ts').bare.includes('node:fs'));
});

test('no file under src/ outside src/cli/ imports from src/cli/', () => {
  const library = sources('src').filter((f) => !f.startsWith('src/cli/'));
  assert.equal(violations(library, (i) => i.startsWith('src/cli/')), []);
});

test('runtime/ imports nothing from src/', () => {
  assert.equal(violations(sources('runtime'), (i) => i.startsWith('src/')), []);
});

test('only runtime/platform.ts reads Node\'s process or loads Node-only modules at run time, and it imports no Node module', () => {
  const platform = 'runtime/platform.ts';
  assert.equal(importsOf(platform), { local: [], bare: [] });
  const hostReads = /globalThis as \{ process\?|import\(\s*\/\* @vite-ignore \*\//;
  const others = [...sources('runtime'), ...sources('src')].filter((f) => f !== platform && hostReads.test(readFileSync(join(root, f), 'utf8')));
  assert.equal(others, [], 'read them through runtime/platform.ts');
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
