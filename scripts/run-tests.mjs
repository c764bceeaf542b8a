// Runs the uvu suites in test/ (optionally only files matching argv[2]) in one process, so all
// share one GPU device, then prints the `N passed, N failed` line and releases the device.
// Run through `node --import tsx` (npm test does) so the TypeScript tests load directly.
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runUvuFiles } from './uvu-files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await import('./embed-kernels.mjs');
// Mesa warns on every start without a runtime dir; a private one keeps test output readable.
if (!process.env.XDG_RUNTIME_DIR) {
  const { mkdirSync } = await import('node:fs');
  process.env.XDG_RUNTIME_DIR = join(process.env.TMPDIR ?? '/tmp', `gradmix-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
} // tests always see the current kernels/*.wgsl
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;
const files = readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts') && (!filter || filter.test(f)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filter ?? '*.test.ts'}`);
  process.exit(1);
}

const { total, passed, failed, skipped } = await runUvuFiles(
  files.map((f) => [f, pathToFileURL(join(root, 'test', f)).href]),
  { bail: process.env.BAIL === '1' },
);
const { destroyGpu } = await import('../runtime/gpu.ts');
destroyGpu();
// The last line is exactly `N passed, N failed` (README, .ci/run); skips are said the line before.
if (skipped) console.log(`${skipped} skipped (their tools are missing here, e.g. PyTorch for the golden fixtures' checks)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || total === 0 || process.exitCode ? 1 : 0);
