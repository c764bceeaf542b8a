// Part b of the device run (bundled to app/js/kernel-suite.mjs): the kernel correctness tests
// bundled beside it (test.<name>.mjs, see kernel-tests.mjs) in one process on one device, as
// scripts/run-tests.mjs runs them, under the variant family GRADMIX_KERNEL_VARIANT names.
//   node kernel-suite.mjs [--tests REGEX] [--shard I/N] [--json FILE]
// --shard I/N runs the I-th (0-based) of N parts of the files, balanced by their measured
// seconds (kernel-tests.mjs shardFiles), so the part can spread the suite over the machine's cores.
// Writes the counts, the adapter and the failures' output to --json; exit code 1 on any failure.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runUvuFiles } from '../../scripts/uvu-files.mjs';
import { shardFiles } from './kernel-tests.mjs';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const here = dirname(fileURLToPath(import.meta.url));
const filter = flag('--tests') ? new RegExp(flag('--tests')!) : null;
const json = flag('--json');
const shard = flag('--shard');
// Test names: test.<name>.mjs beside this bundle.
const matching = readdirSync(here)
  .filter((f) => /^test\..+\.mjs$/.test(f))
  .map((f) => f.slice(5, -4))
  .filter((name) => !filter || filter.test(name))
  .sort();
if (matching.length === 0) {
  console.error(`kernel suite: no bundled test file matches --tests ${filter ?? ''} in ${here}`);
  process.exit(1);
}
let files = matching;
if (shard) {
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  if (!m || Number(m[1]) >= Number(m[2])) {
    console.error(`kernel suite: --shard ${shard}: give I/N with 0 <= I < N, e.g. --shard 0/4`);
    process.exit(1);
  }
  files = shardFiles(matching, Number(m[2]))[Number(m[1])];
}
if (files.length === 0) {
  // More shards than files: nothing to run, and nothing wrong.
  const report = { adapter: null, kernelVariant: process.env.GRADMIX_KERNEL_VARIANT ?? null, files: [], total: 0, passed: 0, failed: 0, skipped: 0, skippedTests: [], seconds: 0, failures: [] };
  if (json) writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  console.log(`kernel suite: shard ${shard} has no files`);
  process.exit(0);
}
if (!process.env.XDG_RUNTIME_DIR) {
  process.env.XDG_RUNTIME_DIR = join(process.env.TMPDIR ?? '/tmp', `gradmix-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}

// uvu counts skipped tests without naming them; the default suite's skip is wrapped to name them
// (file: test) for the bar, which gives no verdict on a suite with skips. runUvuFiles imports the
// same uvu after UVU_DEFER is set, as here, and queues each file's name before importing it.
const g = globalThis as { UVU_DEFER?: number; UVU_QUEUE?: [string][] };
g.UVU_DEFER = 1;
const uvu = await import('uvu');
const skippedTests: string[] = [];
const skip = uvu.test.skip;
uvu.test.skip = (name, ...rest) => {
  skippedTests.push(`${g.UVU_QUEUE?.at(-1)?.[0] ?? '?'}: ${name}`);
  return skip(name, ...rest);
};

const t0 = Date.now();
const { total, passed, failed, skipped, output: plain } = await runUvuFiles(files.map((name) => [name, pathToFileURL(join(here, `test.${name}.mjs`)).href]));
const { gpu, destroyGpu } = await import('../../runtime/gpu.js');
let adapter = 'none (no test acquired the GPU)';
let variant: string | null = null;
try {
  adapter = gpu().describe();
  variant = gpu().kernelVariant;
} catch {
  // no test initialised the GPU
}
destroyGpu();
// uvu prints each failure as a block starting with 'FAIL'; keep those blocks (bounded) for the report.
const failures = plain
  .split(/\n(?=\s*FAIL )/)
  .filter((b) => /^\s*FAIL /.test(b))
  .map((b) => b.slice(0, 2000))
  .slice(0, 40);
// Tests skipped for want of a PyTorch on the host name themselves here (test/golden.ts hostTorchTest).
const hostTorchSkips = (globalThis as { GRADMIX_HOST_TORCH_SKIPS?: string[] }).GRADMIX_HOST_TORCH_SKIPS ?? [];
const report = { adapter, kernelVariant: variant, files, total, passed, failed, skipped, skippedTests, hostTorchSkips, seconds: (Date.now() - t0) / 1000, failures };
if (json) writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
console.log(`kernel suite (${variant ?? 'no GPU'}): ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''} in ${report.seconds.toFixed(1)} s on ${adapter}`);
process.exit(failed > 0 || total === 0 || process.exitCode ? 1 : 0);
