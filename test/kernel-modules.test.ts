// The WGSL module system and build-time reflection: every kernel name the engine and benchmarks
// launch is an entry point of the embedded kernels; includes resolve (a missing one is an error
// naming the file and line); no helper is written in two .wgsl files; the embedded data is what
// reflecting the included source gives; every kernel compiles on the device; kernels registered
// at run time are reflected (lazily) into the same data.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpu } from '../runtime/gpu.js';
import { kernelModules } from '../runtime/kernel-sources.generated.js';
import { kernelSpec, registerKernelSource } from '../runtime/kernel-spec.js';
import { Tensor } from '../src/tensor.js';
import { setupGpu, upload } from './helpers.js';

interface WgslModules {
  resolveIncludes(dir: string, file: string): string;
  stripWgsl(source: string): string;
  minifyWgsl(source: string): string;
  functionsOf(source: string): [name: string, entry: boolean][];
}
interface EmbedScript {
  kernelsDir: string;
  kernelFiles(dir?: string): string[];
  buildKernelModules(dir?: string): Promise<Record<string, unknown>>;
}
const script = <T>(name: string) => import(new URL(`../scripts/${name}`, import.meta.url).href) as Promise<T>;
const root = new URL('..', import.meta.url).pathname;

const test = suite('kernel-modules');

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourcesUnder(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Kernel names written in the sources: 'file.entry' literals, and the corruption helpers' entries. */
function launchedKernels(): { names: Set<string>; templated: Set<string> } {
  const files = Object.keys(kernelModules);
  const literal = new RegExp(`['"\`]((?:${files.join('|')})\\.[A-Za-z_]\\w*)['"\`]`, 'g');
  const templated = new RegExp(`\`(${files.join('|')})\\.\\$\\{`, 'g');
  // src/corrupt/apply.ts launches `corrupt_<kind>.${entry}` through these helpers.
  const helpers: Record<string, string> = { randomKernel: 'corrupt_random', filterKernel: 'corrupt_filter', colorKernel: 'corrupt_color' };
  const helperCall = /\b(randomKernel|filterKernel|colorKernel)\(\s*'(\w+)'/g;
  const names = new Set<string>();
  const prefixes = new Set<string>();
  for (const file of [...sourcesUnder('src'), ...sourcesUnder('bench')]) {
    const text = readFileSync(join(root, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1');
    for (const m of text.matchAll(literal)) names.add(m[1]);
    for (const m of text.matchAll(templated)) prefixes.add(m[1]);
    for (const m of text.matchAll(helperCall)) names.add(`${helpers[m[1]]}.${m[2]}`);
  }
  return { names, templated: prefixes };
}

test('every kernel name launched in src/ and bench/ is an entry point of the embedded kernels', () => {
  const { names, templated } = launchedKernels();
  assert.ok(names.size > 80, `found ${names.size} kernel names: the scan of the sources is broken`);
  const missing = [...names].filter((n) => {
    try {
      kernelSpec(n);
      return false;
    } catch {
      return true;
    }
  });
  assert.equal(missing, [], `launched but not an entry point: ${missing.join(', ')}`);
  for (const file of templated) assert.ok(file in kernelModules, `kernel file ${file} (launched as \`${file}.\${...}\`)`);
  for (const f of ['corrupt_random', 'corrupt_filter', 'corrupt_color']) {
    assert.ok(
      [...names].some((n) => n.startsWith(`${f}.`)),
      `the corruption helpers' entries of ${f} are found`,
    );
  }
});

test('includes resolve; a missing or malformed include names the file and line', async () => {
  const { resolveIncludes } = await script<WgslModules>('wgsl-modules.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-wgsl-'));
  try {
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'one.wgsl'), '//! include "lib/two.wgsl"\nfn one() -> u32 { return two(); }\n');
    writeFileSync(join(dir, 'lib', 'two.wgsl'), 'fn two() -> u32 { return 2u; }\n');
    writeFileSync(join(dir, 'k.wgsl'), '// k\n//! include "lib/one.wgsl"\n//! include "lib/two.wgsl"\nfn k() {}\n');
    const text = resolveIncludes(dir, 'k.wgsl');
    assert.is(text.match(/fn two\(/g)?.length, 1, 'a file included twice (directly and through another) appears once');
    assert.ok(text.indexOf('fn two(') < text.indexOf('fn one(') && text.indexOf('fn one(') < text.indexOf('fn k('), 'included text replaces the include line');
    writeFileSync(join(dir, 'bad.wgsl'), 'fn a() {}\n\n//! include "lib/nothere.wgsl"\n');
    assert.throws(() => resolveIncludes(dir, 'bad.wgsl'), /bad\.wgsl:3: include "lib\/nothere\.wgsl" not found/);
    writeFileSync(join(dir, 'odd.wgsl'), '//! include lib/one.wgsl\n');
    assert.throws(() => resolveIncludes(dir, 'odd.wgsl'), /odd\.wgsl:1: malformed include/);
    // The embed step fails on such a kernel too, naming it.
    const { buildKernelModules } = await script<EmbedScript>('embed-kernels.mjs');
    rmSync(join(dir, 'odd.wgsl'));
    let failed: unknown = null;
    await buildKernelModules(dir).catch((e: unknown) => (failed = e));
    assert.match(String(failed), /bad\.wgsl:3: include "lib\/nothere\.wgsl" not found/);
  } finally {
    rmSync(join(dir), { recursive: true, force: true });
  }
});

test('no helper function is written in two .wgsl files, and every kernel defines each function once', async () => {
  const { functionsOf, resolveIncludes } = await script<WgslModules>('wgsl-modules.mjs');
  const { kernelsDir, kernelFiles } = await script<EmbedScript>('embed-kernels.mjs');
  const files = [...readdirSync(kernelsDir).filter((f) => f.endsWith('.wgsl')), ...readdirSync(join(kernelsDir, 'lib')).map((f) => `lib/${f}`)];
  assert.ok(
    files.some((f) => f.startsWith('lib/')),
    'kernels/lib/ holds the shared files',
  );
  // Hooks are the exception: a shared file lists, as `//   fn name(...)` lines of its header, the
  // functions each including kernel defines for it (lib/gemm_tiled.wgsl's mm_load_a, ...).
  const hooks = new Set(files.filter((f) => f.startsWith('lib/')).flatMap((f) => [...readFileSync(join(kernelsDir, f), 'utf8').matchAll(/^\/\/\s+fn (\w+)\(/gm)].map((m) => m[1])));
  assert.ok(hooks.has('mm_load_a') && hooks.has('mm_store'), 'the GEMM body declares its hooks');
  const where = new Map<string, string[]>();
  for (const f of files) {
    for (const [name, entry] of functionsOf(readFileSync(join(kernelsDir, f), 'utf8'))) {
      if (!entry && !hooks.has(name)) where.set(name, [...(where.get(name) ?? []), f]);
    }
  }
  const twice = [...where].filter(([, fs]) => fs.length > 1).map(([n, fs]) => `${n} (${fs.join(', ')})`);
  assert.equal(twice, [], `helpers defined in more than one file: ${twice.join('; ')}`);
  for (const k of kernelFiles()) {
    const names = functionsOf(resolveIncludes(kernelsDir, `${k}.wgsl`)).map(([n]) => n);
    assert.is(new Set(names).size, names.length, `${k}.wgsl defines a function twice after inclusion`);
  }
  // The two GEMMs are one: matmul's and conv2d's tiled variants run the same body.
  for (const k of ['matmul', 'conv2d']) assert.match(resolveIncludes(kernelsDir, `${k}.wgsl`), /fn mm_accumulate\(/);
});

test('the embedded data is the reflection of the included, comment-free sources', async () => {
  const { buildKernelModules } = await script<EmbedScript>('embed-kernels.mjs');
  assert.equal(await buildKernelModules(), kernelModules, 'runtime/kernel-sources.generated.ts is stale');
  for (const [name, m] of Object.entries(kernelModules)) {
    assert.not.match(m.source, /\/\/|\/\*/, `${name}: comments are stripped`);
    assert.not.match(m.source, /include/, `${name}: includes are resolved`);
  }
  // Spot checks against the WGSL: matmul.tiled's bindings and uniform layout.
  const spec = kernelSpec('matmul.tiled');
  assert.equal(
    spec.bindings.map((b) => `${b.binding}:${b.name}:${b.kind}`),
    ['0:p:uniform', '1:a:read-only-storage', '2:b:read-only-storage', '3:bias:read-only-storage', '4:out:storage'],
  );
  assert.equal(
    [...spec.uniform!.fields.values()].map((f) => `${f.name}@${f.offset}`),
    ['M@0', 'N@4', 'K@8', 'R@12', 'a_z@16', 'a_r@20', 'b_z@24', 'b_r@28', 'slices@32', 'slice_len@36'],
  );
  assert.equal([...spec.overrides].sort(), ['BIAS', 'BLOCKED', 'TA', 'TB']);
  const aug = kernelSpec('augment.views');
  assert.equal(aug.uniform!.fields.get('norm_mean'), { name: 'norm_mean', offset: 32, scalar: 'f32', components: 4 });
  assert.is(aug.uniform!.size, 64);
});

test('every embedded kernel compiles on the device', async () => {
  await setupGpu();
  const { resolveIncludes } = await script<WgslModules>('wgsl-modules.mjs');
  const { kernelsDir } = await script<EmbedScript>('embed-kernels.mjs');
  const device = gpu().device;
  const errorsOf = async (code: string, label: string) => {
    device.pushErrorScope('validation'); // kept here, not left for the next test's dispatch
    const module = device.createShaderModule({ code, label });
    await device.popErrorScope();
    const info = await module.getCompilationInfo();
    const lines = code.split('\n');
    return info.messages.filter((x) => x.type === 'error').map((x) => `${x.lineNum}:${x.linePos} ${x.message}\n    ${lines[x.lineNum - 1]?.trim().slice(0, 160)}`);
  };
  for (const [name, m] of Object.entries(kernelModules)) {
    // A subgroup kernel (kernels/batchnorm_subgroups.wgsl) is launched only where the feature is on.
    if (/\benable subgroups;/.test(m.source) && !gpu().hasSubgroups) continue;
    if ((await errorsOf(m.source, name)).length === 0) continue;
    // The shipped source is one minified line: report the errors of the readable, included source.
    const errors = await errorsOf(resolveIncludes(kernelsDir, `${name}.wgsl`), name);
    assert.unreachable(`kernels/${name}.wgsl (includes resolved) does not compile:\n${errors.join('\n') || '(only its minified form fails: a minifier bug)'}`);
  }
});

test('a kernel registered at run time is reflected into the same data, lazily', async () => {
  const { resolveIncludes, stripWgsl } = await script<WgslModules>('wgsl-modules.mjs');
  const { kernelsDir } = await script<EmbedScript>('embed-kernels.mjs');
  const pending = registerKernelSource('user_copy', stripWgsl(resolveIncludes(kernelsDir, 'softmax.wgsl')));
  assert.throws(() => kernelSpec('user_copy.softmax'), /still being reflected: await registerKernelSource/);
  await pending;
  const mine = kernelSpec('user_copy.softmax');
  const embedded = kernelSpec('softmax.softmax');
  assert.equal(mine.bindings, embedded.bindings);
  assert.equal(mine.uniform, embedded.uniform);
  assert.equal(mine.overrides, embedded.overrides);
  let err: unknown = null;
  await registerKernelSource('user_bad', '@group(1) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = 1.0; }\n').catch((e: unknown) => (err = e));
  assert.match(String(err), /kernel 'user_bad\.main': binding 'o' is in group 1; kernels use group 0 only/);
  err = null;
  await registerKernelSource('a.b', '').catch((e: unknown) => (err = e));
  assert.match(String(err), /no dots/);
});

test('a kernel registered again under its name runs its new source (pipelines are not reused by name)', async () => {
  const writes = (value: string) => `@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = ${value}; }\n`;
  const out = Tensor.empty([1]);
  for (const value of ['1.0', '2.0', '3.0']) {
    await registerKernelSource('user_swap', writes(value));
    gpu().dispatch('user_swap.main', { bindings: { o: out.buffer }, workgroups: [1] });
    assert.equal(Array.from(await out.data()), [Number(value)]);
  }
  out.dispose();
});

// Names that a careless minifier would confuse: a struct member and a local both called n, a
// swizzle .x beside a buffer x, an override, a helper shadowing a built-in (reflect), operators
// that fuse without a space (a - -b, >=), shortened floats, a struct constructor.
const TRICKY = `
override SCALE: f32 = 2.0;
struct Params {
  n: u32,
  offset: f32,
}
struct Pair { lo: f32, hi: f32, }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
fn reflect(v: f32) -> f32 { return -v; }
fn pair(v: f32) -> Pair { return Pair(min(v, 0.50), max(v, 10.0)); }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= p.n) { return; }
  let v = vec2f(x[n], p.offset);
  let q = pair(v.x);
  var acc: array<f32, 2>= array<f32, 2>(q.lo, q.hi);
  out[n] = SCALE * (acc[0] - -acc[1]) + reflect(v.y) * 0.250;
}
`;

test('the minifier keeps what the host names and what the program means', async () => {
  await setupGpu();
  const { minifyWgsl } = await script<WgslModules>('wgsl-modules.mjs');
  const small = minifyWgsl(TRICKY);
  assert.ok(small.length < TRICKY.length * 0.8, `minified to ${small.length} of ${TRICKY.length} characters`);
  for (const kept of ['fn main(', 'override SCALE', '.x', '- -', '.5', '10.']) assert.ok(small.includes(kept), `keeps ${kept}: ${small}`);
  assert.not.ok(/\bParams\b|\boffset\b/.test(small), `declared names are shortened: ${small}`);
  await registerKernelSource('tricky_full', TRICKY);
  await registerKernelSource('tricky_small', small);
  // The minified module binds the same numbers with other names: map them by binding and offset
  // (the embedded kernels keep the original names, reflected before minifying).
  const full = kernelSpec('tricky_full.main');
  const mini = kernelSpec('tricky_small.main');
  const nameAt = (binding: number) => mini.bindings.find((b) => b.binding === binding)!.name;
  const fieldAt = (offset: number) => [...mini.uniform!.fields.values()].find((f) => f.offset === offset)!.name;
  assert.equal(
    mini.bindings.map((b) => [b.binding, b.kind]),
    full.bindings.map((b) => [b.binding, b.kind]),
  );
  const xs = [-3, -0.25, 0, 0.75, 4, 12];
  const results: number[][] = [];
  for (const spec of [full, mini]) {
    const x = upload(xs, [xs.length]);
    const out = Tensor.empty([xs.length]);
    const bindings = spec === full ? { x: x.buffer, out: out.buffer } : { [nameAt(1)]: x.buffer, [nameAt(2)]: out.buffer };
    const params = spec === full ? { n: xs.length, offset: 1.5 } : { [fieldAt(0)]: xs.length, [fieldAt(4)]: 1.5 };
    gpu().dispatch(spec.name, { bindings, params, workgroups: [1], overrides: { SCALE: 3 } });
    results.push(Array.from(await out.data()));
  }
  const expected = xs.map((v) => 3 * (Math.min(v, 0.5) + Math.max(v, 10)) - 1.5 * 0.25);
  assert.equal(results[0], expected);
  assert.equal(results[1], results[0], 'the minified kernel computes what the original does');
});

test.run();
