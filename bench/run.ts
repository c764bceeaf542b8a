// `npm run bench -- [quick|full] [filter ...] [--batch n,..] [--width w,..] [--json path] [--note text] [--no-tfjs] [--no-torch] [--list] [--family module.ts ..]`
// Prints the device ceilings, then every kernel family's rows (ms, GFLOP/s or GB/s, fraction of
// the ceiling, cores kept busy) with the peers' ratios ours/theirs (TF.js WebGPU on the same
// adapter, PyTorch CPU), and writes JSON (--json path; else bench/results/<adapter>.<mode>.json
// for a complete run, the temporary directory for a filtered or resized one).
// quick (default on CPU rasterisers, where gpu().kernelVariant is 'register'): small batches;
// full: ResNet18 shapes at batch 32 and 256. Filters are case-insensitive regular expressions
// matched against '<family> <row name>'. --family adds a family of your own (a module whose default
// export is kernelFamily(...) from bench/kernel-family.ts; bench/examples/ are always included). See bench/NOTES.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initGpu, destroyGpu, gpu } from '../runtime/gpu.js';
import { Autotuner, adapterKey, autotuneMode } from '../runtime/autotune.js';
import { measureCeilings } from './ceilings.js';
import { releaseTimers, timingMethod, type TimeOptions } from './harness.js';
import { measureRow, rates } from './measure-row.js';
import { tfjsSupports } from './peer-tfjs.js';
import { startTfjsNode } from './peer-tfjs-node.js';
import { TorchPeer } from './torch-client.js';
import type { BenchConfig, Row } from './family.js';
import { formatTable, type ResultRow } from './report.js';
import { RESULT_SCHEMA, type BenchRun } from './schema.js';
import { rooflinePoint } from './roofline.js';
import { engineVersion } from './engine-version.js';
import { familyFrom } from './kernel-family.js';
import { FAMILIES } from './all-families.js';

interface Args {
  mode: 'quick' | 'full' | 'auto';
  filters: RegExp[];
  json: string | null;
  tfjs: boolean;
  torch: boolean;
  list: boolean;
  batches: number[] | null;
  widths: number[] | null;
  families: string[];
  note: string | null;
}

function sizes(flag: string, v: string | undefined): number[] {
  const list = (v ?? '').split(',').map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bench: ${flag} needs positive integers, e.g. ${flag} 32,256`);
  return list;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { mode: 'auto', filters: [], json: null, tfjs: true, torch: true, list: false, batches: null, widths: null, families: [], note: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === 'quick' || a === '--quick') args.mode = 'quick';
    else if (a === 'full' || a === '--full') args.mode = 'full';
    else if (a === '--json') args.json = argv[++i] ?? '';
    else if (a === '--no-tfjs') args.tfjs = false;
    else if (a === '--no-torch') args.torch = false;
    else if (a === '--no-peers') args.tfjs = args.torch = false;
    else if (a === '--list') args.list = true;
    else if (a === '--batch') args.batches = sizes(a, argv[++i]);
    else if (a === '--width') args.widths = sizes(a, argv[++i]);
    else if (a === '--family') args.families.push(argv[++i] ?? '');
    else if (a === '--note') args.note = argv[++i] ?? '';
    else if (a.startsWith('--')) throw new Error(`bench: unknown option ${a}; see the header of bench/run.ts`);
    else args.filters.push(new RegExp(a, 'i'));
  }
  if (args.json === '') throw new Error('bench: --json needs a path');
  if (args.note === '') throw new Error('bench: --note needs a text (the conditions of the run, recorded in the JSON)');
  if (args.families.includes('')) throw new Error('bench: --family needs a module path (default export: kernelFamily(...))');
  return args;
}

const QUICK: { batches: number[]; timing: TimeOptions } = {
  batches: [4],
  timing: { warmup: 1, repeats: 20, minRepeats: 2, budgetMs: 300 },
};
const FULL: { batches: number[]; timing: TimeOptions } = {
  batches: [32, 256],
  timing: { warmup: 2, repeats: 30, minRepeats: 5, budgetMs: 2000 },
};

function selected(row: Row, filters: RegExp[]): boolean {
  const label = `${row.family} ${row.name}`;
  return filters.length === 0 || filters.some((f) => f.test(label));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await initGpu();
  const g = gpu();
  const quick = args.mode === 'quick' || (args.mode === 'auto' && g.kernelVariant === 'register');
  const preset = quick ? QUICK : FULL;
  const cfg: BenchConfig = {
    quick,
    batches: args.batches ?? preset.batches,
    widths: args.widths ?? [16, 64],
    fromFlags: { batches: args.batches !== null, widths: args.widths !== null },
    imageSize: 32,
    timing: preset.timing,
    autotuner: new Autotuner(g.describe()),
  };
  const load0 = loadavg()[0];
  console.log(`adapter: ${g.describe()} (kernel variant ${g.kernelVariant}, timestamps ${g.hasTimestamps ? 'yes' : 'no'})`);
  console.log(
    `mode: ${quick ? 'quick' : 'full'}; widths ${cfg.widths.join(', ')}; batches ${cfg.batches.join(', ')} (x2 views where the model sees both); ` +
      `timing: ${timingMethod()}, ${cfg.timing.warmup} warm-up, median of up to ${cfg.timing.repeats}; autotune ${autotuneMode()} (${cfg.autotuner.file ?? 'memory only'}); load average ${load0.toFixed(2)}`,
  );

  const rows: Row[] = [];
  const skipped: { family: string; reason: string }[] = [];
  const own = await Promise.all(
    args.families.map(async (m) =>
      familyFrom(
        (await import(pathToFileURL(resolve(m)).href).catch((e: Error) => {
          throw new Error(`bench: --family ${m}: cannot load it (${e.message.split('\n')[0]})`);
        })) as { default?: unknown },
        m,
      ),
    ),
  );
  for (const f of [...FAMILIES, ...own]) {
    const r = await f.rows(cfg);
    if ('skipped' in r) skipped.push({ family: f.name, reason: r.skipped });
    else rows.push(...r.filter((row) => selected(row, args.filters)));
  }
  if (args.list) {
    for (const r of rows) console.log(`${r.family.padEnd(12)} ${r.name.padEnd(40)} ${r.shape}`);
    for (const s of skipped) console.log(`${s.family.padEnd(12)} skipped: ${s.reason}`);
    destroyGpu();
    return;
  }

  const ceilTiming = { ...cfg.timing, repeats: 3, minRepeats: 2 };
  // On a GPU the CPU adapter's sizes take tens of microseconds (a 64 MiB copy ~35 us on an H200):
  // launch costs would dominate, so the full run's ceilings there are 4096^3 and 1 GiB.
  const big = !quick && !g.cpuAdapter;
  const copyBytes = quick ? 8 << 20 : big ? Math.min(1 << 30, Math.floor(g.pool.maxBufferSize / 2 ** 20) * 2 ** 20) : 64 << 20;
  const ceilings = await measureCeilings(quick ? 256 : big ? 4096 : 1024, copyBytes, ceilTiming);
  console.log(
    `ceilings: GEMM ${ceilings.gflops.toFixed(2)} GFLOP/s (${ceilings.gemmBest}, ${ceilings.gemmSize}^3), ` +
      `copy ${ceilings.gbps.toFixed(2)} GB/s (${ceilings.copyBest}, ${ceilings.copyBytes >> 20} MiB; copyBufferToBuffer ${ceilings.memcpyGbps.toFixed(2)} GB/s), ` +
      `${ceilings.dispatchUs.toFixed(1)} us per small dispatch, ${ceilings.floorMs.toFixed(3)} ms measured for no work`,
  );
  for (const e of [...ceilings.entries.gemm, ...ceilings.entries.copy]) console.log(`  ${e.name.padEnd(28)} ${e.ms.toFixed(2).padStart(9)} ms ${e.rate.toFixed(2).padStart(8)}`);

  const needsTfjs = args.tfjs && rows.some((r) => r.peer && tfjsSupports(r.peer));
  const tfjs = needsTfjs ? await startTfjsNode() : 'not requested';
  const torch = args.torch && rows.some((r) => r.peer) ? await TorchPeer.start() : 'not requested';
  console.log(
    `peers: TF.js ${typeof tfjs === 'string' ? `unavailable (${tfjs})` : `${tfjs.version} WebGPU on the same adapter`}; ` +
      `PyTorch ${typeof torch === 'string' ? `unavailable (${torch})` : `${torch.version} CPU, the faster of ${torch.threads.join(' and ')} threads per row`}`,
  );
  for (const s of skipped) console.log(`skipped ${s.family}: ${s.reason}`);

  const results: ResultRow[] = [];
  const print = formatTable();
  console.log(print.header());
  for (const row of rows) {
    const result: ResultRow = { family: row.family, name: row.name, shape: row.shape, flops: row.flops, bytes: row.bytes, bound: row.bound };
    try {
      const { m, note, variant, kernel } = await measureRow(row, cfg.timing);
      Object.assign(result, { ms: m.ms, spreadMs: m.spreadMs, wallMs: m.wallMs, ...kernel, method: m.method, repeats: m.repeats, cores: m.cores, note, variant }, rates(row, m.ms, ceilings));
      result.roofline = rooflinePoint(result, ceilings) ?? undefined;
      if (m.cpuWorkMs !== undefined) result.cpu = { ours: m.cpuWorkMs };
      const rowTiming = { ...cfg.timing, ...row.timing };
      if (row.peer && tfjsSupports(row.peer) && typeof tfjs !== 'string') {
        const t = await tfjs.measure(row.peer, m, rowTiming);
        result.tfjs = t.result;
        if (result.cpu && t.cpuWorkMs !== undefined) result.cpu.tfjs = t.cpuWorkMs;
      }
      if (row.peer && typeof torch !== 'string') {
        const t = await torch.measure(row.peer, rowTiming);
        result.torch = 'ms' in t ? { ms: t.ms, ratio: m.wallMs / t.ms, threads: t.threads } : t;
        if (result.cpu && 'cpuMs' in t && t.cpuMs !== undefined) result.cpu.torch = t.cpuMs;
      }
    } catch (e) {
      result.error = (e as Error).message.split('\n')[0];
    }
    results.push(result);
    console.log(print.row(result));
  }
  if (typeof torch !== 'string') torch.stop();

  const load1 = loadavg()[0];
  console.log(`load average ${load0.toFixed(2)} -> ${load1.toFixed(2)} (2 cores busy with other work make every figure slower; compare ratios)`);
  // Complete runs are the record (one file per adapter and mode); a filtered or resized run must
  // not replace it, so it goes to the temporary directory unless --json says otherwise.
  const partial = args.filters.length > 0 || args.families.length > 0 || args.batches !== null || args.widths !== null;
  const name = `${adapterKey(g.describe())}.${quick ? 'quick' : 'full'}.json`;
  const file = args.json ?? (partial ? join(tmpdir(), `gradmix-bench-${name}`) : new URL(`./results/${name}`, import.meta.url).pathname);
  mkdirSync(dirname(file), { recursive: true });
  const run: BenchRun = {
    schema: RESULT_SCHEMA,
    adapter: g.describe(),
    kernelVariant: g.kernelVariant,
    engine: engineVersion(),
    runner: { kind: 'node' },
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    batches: cfg.batches,
    widths: cfg.widths,
    timing: { method: timingMethod(), ...cfg.timing },
    loadAverage: [load0, load1],
    ...(args.note !== null ? { note: args.note } : {}),
    peers: {
      tfjs: typeof tfjs === 'string' ? { unavailable: tfjs } : { version: tfjs.version },
      torch: typeof torch === 'string' ? { unavailable: torch } : { version: torch.version, threadsTried: torch.threads },
    },
    ceilings,
    skipped,
    rows: results,
  };
  writeFileSync(file, JSON.stringify(run, null, 2) + '\n');
  console.log(`results: ${file}`);
  releaseTimers();
  destroyGpu();
}

await main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  destroyGpu();
  process.exitCode = 1;
});
process.exit(process.exitCode ?? 0);
