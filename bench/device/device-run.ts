// The device run (bundled to app/js/device-run.mjs; run.sh starts it with the kit's Node): the five
// parts of a GPU check, each in child processes under its own time budget, writing a summary JSON
// after every part (so a run cut short still says what it saw) and a log of all output.
//   a adapter  the adapter in use; anything but --expect stops the run (exit code 2)
//   b kernels  the kernel correctness tests under each variant family (GRADMIX_KERNEL_VARIANT), side by side,
//              each split into shards over the cores
//   c bench    the kernel families against TF.js WebGPU and PyTorch, with the device ceilings
//   d step     the training step row (plain and GradMix) and the peak memory of a step
//   e train    gradmix train end to end on mnist-mini (seeds x methods) and full MNIST
//   then the bar: issue 12's ratios from those parts (bar.ts), logged and in device-run.json
// Sizes: tiny by default (the dry run on a CPU rasteriser); --full: the GPU sizes of item 2.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PARTS, USAGE, UsageError, parseArgs, type Args } from './run-args.js';
import { log, setLogFile } from './run-child.js';
import { Run } from './run-summary.js';
import { barLines, formatBar } from './bar.js';
import { adapterPart, kernelsPart } from './part-kernels.js';
import { benchPart, stepPart } from './part-bench.js';
import { trainPart } from './part-train.js';

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`device run: ${e.message}\n${USAGE}`);
    return 1;
  }
  mkdirSync(args.out, { recursive: true });
  // A fresh start for the runs and part files of an earlier run in the same work folder (its
  // autotuning choices stay: they are per adapter and shape class).
  // Part files of an earlier run, which a child that dies before writing its own must not pass off as new.
  const stale = existsSync(args.work) ? readdirSync(args.work).filter((f) => /^(kernels-|bench-\d+\.json$|encode\.json$)/.test(f)) : [];
  for (const f of ['runs', 'adapter.json', 'step.json', ...stale]) rmSync(join(args.work, f), { recursive: true, force: true });
  for (const f of ['bench.json', 'step.json', 'train.json', 'torch-cuda.jsonl']) rmSync(join(args.out, f), { force: true });
  mkdirSync(args.work, { recursive: true });
  const logFile = join(args.out, 'device-run.log');
  if (!process.env.GRADMIX_KIT_LOG_APPEND) writeFileSync(logFile, '');
  setLogFile(logFile);
  const run = new Run(args);
  log(`device run: ${args.full ? 'full (GPU sizes)' : 'tiny (dry-run sizes)'}, expect ${args.expect}, parts ${[...args.parts].join(', ')}; out ${args.out}`);
  // Autotuning choices of this run stay in its work folder (a fresh machine has none anyway).
  process.env.GRADMIX_AUTOTUNE_CACHE ??= join(args.work, 'autotune');

  const a = await run.part('adapter', (budget) => adapterPart(run, budget));
  if (a.status !== 'ok') {
    for (const p of PARTS.slice(1)) if (args.parts.has(p)) run.results[p] = { status: 'skipped', budgetS: run.sizes.budgets[p], seconds: 0, error: 'the adapter check failed' };
    run.write();
    log(`device run: STOPPED: ${a.error}`);
    return 2;
  }
  if (args.parts.has('kernels')) await run.part('kernels', (budget) => kernelsPart(run, budget));
  if (args.parts.has('bench')) await run.part('bench', (_b, deadline) => benchPart(run, deadline));
  if (args.parts.has('step')) await run.part('step', (budget) => stepPart(run, budget));
  if (args.parts.has('train')) await run.part('train', (_b, deadline) => trainPart(run, deadline));
  run.write();
  log(`device run: the bar (issue 12)\n${formatBar(barLines(run.results))}`);
  const bad = Object.entries(run.results).filter(([, r]) => r.status !== 'ok');
  log(
    `device run: ${bad.length ? `NOT OK: ${bad.map(([p, r]) => `${p} ${r.status}`).join(', ')}` : 'every part ok'} in ${((Date.now() - run.started.getTime()) / 1000).toFixed(0)} s; summary ${join(args.out, 'device-run.json')}`,
  );
  return bad.length ? 1 : 0;
}

process.exitCode = await main();
