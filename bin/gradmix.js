#!/usr/bin/env node
// Runs the compiled CLI when the package is built (dist/), else the TypeScript sources through tsx.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Mesa warns at every start without a runtime folder.
if (!process.env.XDG_RUNTIME_DIR) {
  process.env.XDG_RUNTIME_DIR = join(process.env.TMPDIR ?? '/tmp', `gradmix-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}
const built = join(root, 'dist', 'src', 'cli', 'main.js');
let entry;
if (existsSync(built)) entry = built;
else {
  await import(pathToFileURL(join(root, 'scripts', 'embed-kernels.mjs')).href);
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(root, 'src', 'cli', 'main.ts');
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
