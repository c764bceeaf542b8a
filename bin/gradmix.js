#!/usr/bin/env node
// The `gradmix` command. Installed from the package it runs the compiled CLI (dist/, built by
// prepack). In a clone (src/ present, tsx installed as a dev dependency) it runs the TypeScript
// sources through tsx, so a dist/ left by an earlier `npm run build` never runs stale code; a
// clone without tsx (npm install --omit=dev) runs dist/.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Mesa warns at every start without a runtime folder.
if (!process.env.XDG_RUNTIME_DIR) {
  process.env.XDG_RUNTIME_DIR = join(process.env.TMPDIR ?? '/tmp', `gradmix-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}

/** tsx's loader API, or null where tsx is not installed. */
async function tsxApi() {
  try {
    return await import('tsx/esm/api');
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

const source = join(root, 'src', 'cli', 'main.ts');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
let entry = built;
const tsx = existsSync(source) ? await tsxApi() : null;
if (tsx) {
  await import(pathToFileURL(join(root, 'scripts', 'embed-kernels.mjs')).href);
  tsx.register();
  entry = source;
} else if (!existsSync(built)) {
  console.error(`gradmix: no compiled CLI at ${built} and no tsx to run the sources: run \`npm install\` (or \`npm run build\`) in ${root}`);
  process.exit(1);
}
// A reader that stops early (`gradmix predict ... | head`) is a hang-up, not a crash: the first
// EPIPE stops the command as Ctrl-C does (a training saves its checkpoint), without a stack trace.
let hungUp = false;
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') throw e;
  if (!hungUp) process.kill(process.pid, 'SIGINT');
  hungUp = true;
});
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
