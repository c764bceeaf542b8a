// npm run bench:web: builds the benchmark page (bench/web/page.ts bundled by esbuild, with the
// ceilings' WGSL embedded; TF.js in a chunk of its own that the page loads when a row has a TF.js
// peer) into dist/bench-web/ and serves it on localhost. The build is a static folder (index.html,
// bench.js, chunk-*.js and their source maps) that any HTTP server can host.
// Usage: node bench/web/serve.mjs [--port 8090] [--build [DIR]] (--build: build into DIR, default
// dist/bench-web, and exit; --build-only is the same without a DIR)
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const outDir = join(root, 'dist', 'bench-web');

function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The engine the page measures, as bench/engine-version.ts records it for Node runs (a plain-Node script cannot import it). */
function engine(version) {
  const commit = git(['rev-parse', 'HEAD']);
  if (!commit) return { version, commit: null };
  const changed = git(['status', '--porcelain', '--untracked-files=no', '--', ':/kernels', ':/runtime', ':/src', ':/bench']);
  return { version, commit, ...(changed !== null ? { dirty: changed !== '' } : {}) };
}

// bench/ceilings.ts reads its WGSL from disk in Node; in the page the text is embedded instead.
const ceilingsSource = {
  name: 'ceilings-source',
  setup(build) {
    build.onResolve({ filter: /^node:fs$/ }, (args) => (args.importer.endsWith(join('bench', 'ceilings.ts')) ? { path: 'ceilings-fs', namespace: 'bench-web' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'bench-web' }, () => ({
      contents: `export const readFileSync = () => ${JSON.stringify(readFileSync(join(root, 'bench', 'ceilings.wgsl'), 'utf8'))};`,
      loader: 'js',
    }));
  },
};

/** What a build writes: index.html, the page's entry and its chunks (each with a source map). */
const OWN = /^(index\.html|bench\.js|chunk-[A-Z0-9]+\.js)(\.map)?$/;

/** Builds the page into `dir` (earlier builds' files there replaced, nothing else touched). */
export async function buildBenchPage(dir = outDir) {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`bench:web: --build ${dir} is a file, not a folder`);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (OWN.test(f)) rmSync(join(dir, f));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { bench: join(here, 'page.ts') },
    outdir: dir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunk-[hash]',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    // Names the code reads (a class's .name in messages) survive minification.
    keepNames: true,
    sourcemap: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    define: { GRADMIX_ENGINE: JSON.stringify(engine(pkg.version)) },
    plugins: [ceilingsSource],
  });
  copyFileSync(join(here, 'index.html'), join(dir, 'index.html'));
  const files = Object.entries(result.metafile.outputs)
    .filter(([f]) => f.endsWith('.js'))
    .map(([f, o]) => ({ file: f.split('/').pop(), bytes: o.bytes, tfjs: Object.keys(o.inputs).some((i) => i.includes('@tensorflow/')) }));
  return { dir, files };
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json' };

/** Serves a build (default dist/bench-web/) on localhost; resolves with its URL and a close(). */
export function serveBenchPage(port = 0, dir = outDir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^[/\\]+/, '') || 'index.html';
    const file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    ),
  );
}

const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

async function main(args) {
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args[at + 1]) : 8090;
  if (!Number.isInteger(port) || port < 0) throw new Error('bench:web: --port needs a port number');
  const b = args.indexOf('--build');
  const buildDir = b >= 0 && args[b + 1] && !args[b + 1].startsWith('--') ? resolve(args[b + 1]) : outDir;
  // Every argument is a flag or the value right after --port or --build.
  const unknown = args.filter((a, i) => !['--port', '--build', '--build-only'].includes(a) && !(i > 0 && (args[i - 1] === '--port' || (args[i - 1] === '--build' && i === b + 1))));
  if (unknown.length) throw new Error(`bench:web: unknown argument ${unknown[0]}; usage: bench:web [-- --port N] [-- --build [DIR]]`);
  const { dir, files } = await buildBenchPage(buildDir);
  if (b >= 0 || args.includes('--build-only')) {
    console.log(
      `built ${dir}: ${files.map((f) => `${f.file} ${kib(f.bytes)}${f.tfjs ? ' (TF.js, loaded on demand)' : ''}`).join(', ')}; host the folder with any static HTTP server (WebGPU needs https or localhost)`,
    );
  } else {
    const { url } = await serveBenchPage(port, dir);
    console.log(`benchmark page: ${url} (static build in ${dir}; tiny run: ${url}?batch=2&width=2&size=8&gemm=64&copy=1&steps=3)`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2)).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
