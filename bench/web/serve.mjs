// npm run bench:web: builds the benchmark page (bench/web/page.ts bundled by esbuild, with the
// ceilings' WGSL embedded) into dist/bench-web/ (a static folder that can be hosted anywhere
// serving WebGPU-capable browsers) and serves it on localhost.
// Usage: node bench/web/serve.mjs [--port 8090] [--build-only]
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const outDir = join(root, 'dist', 'bench-web');

function commit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
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

export async function buildBenchPage() {
  mkdirSync(outDir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(here, 'page.ts')],
    outfile: join(outDir, 'bench.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
    define: { GRADMIX_VERSION: JSON.stringify(pkg.version), GRADMIX_COMMIT: JSON.stringify(commit()) },
    plugins: [ceilingsSource],
  });
  copyFileSync(join(here, 'index.html'), join(outDir, 'index.html'));
  return outDir;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json' };

/** Serves dist/bench-web/ on localhost; resolves with its URL and a close(). */
export function serveBenchPage(port = 0) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^[/\\]+/, '') || 'index.html';
    const file = join(outDir, path);
    if (!file.startsWith(outDir) || !existsSync(file)) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((done) => server.close(() => done())),
  })));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args[at + 1]) : 8090;
  if (!Number.isInteger(port) || port < 0) throw new Error('bench:web: --port needs a port number');
  const dir = await buildBenchPage();
  if (args.includes('--build-only')) console.log(`built ${dir}`);
  else {
    const { url } = await serveBenchPage(port);
    console.log(`benchmark page: ${url} (static build in ${dir}; tiny run: ${url}?batch=2&width=2&size=8&gemm=64&copy=1)`);
  }
}
