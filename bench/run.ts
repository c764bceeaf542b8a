// `npm run bench -- [quick|full] [filter ...] [--batch n,..] [--width w,..] [--json path] [--note text] [--no-tfjs] [--no-torch] [--list] [--family module.ts ..] [--ceilings-from file.json] [--row-budget-ms n]`
// Prints the device ceilings, then every kernel family's rows (ms, GFLOP/s or GB/s, fraction of
// the ceiling, cores kept busy) with the peers' ratios ours/theirs (TF.js WebGPU on the same
// adapter, PyTorch), and writes JSON (--json path; else bench/results/<adapter>.<mode>.json
// for a complete run, the temporary directory for a filtered or resized one). The JSON is
// rewritten (atomically) after every row with `complete: false` and the `expected` rows, so a run
// stopped part-way leaves every field of the rows it finished. --ceilings-from reuses the ceilings
// of an earlier run's JSON on the same adapter (the device kit measures them once per run).
// --row-budget-ms caps the time each side of a row keeps repeating (at least its minimum repeats):
// the device kit's conv group fits 32 rows x 4 timings into its share so.
// quick (default on CPU rasterisers, where gpu().kernelVariant is 'register'): small batches;
// full: ResNet18 shapes at batch 32 and 256. Filters are case-insensitive regular expressions
// matched against '<family> <row name>'. --family adds a family of your own (a module whose default
// export is kernelFamily(...) from bench/kernel-family.ts; bench/examples/ are always included). See bench/NOTES.md.
import { mkdirSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../src/checkpoint/files.js';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initGpu, destroyGpu, gpu } from '../runtime/gpu.js';
import { Autotuner, adapterKey, autotuneMode } from '../runtime/autotune.js';
import { measureCeilings, type Ceilings } from './ceilings.js';
import { pacedTiming, releaseTimers, timingMethod, type TimeOptions } from './harness.js';
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
  ceilingsFrom: string | null;
  rowBudgetMs: number | null;
}

function sizes(flag: string, v: string | undefined): number[] {
  const list = (v ?? '').split(',').map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bench: ${flag} needs positive integers, e.g. ${flag} 32,256`);
  return list;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { mode: 'auto', filters: [], json: null, tfjs: true, torch: true, list: false, batches: null, widths: null, families: [], note: null, ceilingsFrom: null, rowBudgetMs: null };
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
    else if (a === '--ceilings-from') args.ceilingsFrom = argv[++i] ?? '';
    else if (a === '--row-budget-ms') args.rowBudgetMs = sizes(a, argv[++i])[0];
    else if (a.startsWith('--')) throw new Error(`bench: unknown option ${a}; see the header of bench/run.ts`);
    else args.filters.push(new RegExp(a, 'i'));
  }
  if (args.json === '') throw new Error('bench: --json needs a path');
  if (args.note === '') throw new Error('bench: --note needs a text (the conditions of the run, recorded in the JSON)');
  if (args.ceilingsFrom === '') throw new Error('bench: --ceilings-from needs the JSON of an earlier run');
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

/** The device ceilings at the run's sizes (see measureCeilings). */
async function measure(quick: boolean, g: ReturnType<typeof gpu>): Promise<Ceilings> {
  const timing = { ...(quick ? QUICK : FULL).timing, repeats: 3, minRepeats: 2 };
  // On a GPU the CPU adapter's sizes take tens of microseconds (a 64 MiB copy ~35 us on an H200):
  // launch costs would dominate, so the full run's ceilings there are 4096^3 and 1 GiB.
  const big = !quick && !g.cpuAdapter;
  const copyBytes = quick ? 8 << 20 : big ? Math.min(1 << 30, Math.floor(g.pool.maxBufferSize / 2 ** 20) * 2 ** 20) : 64 << 20;
  return measureCeilings(quick ? 256 : big ? 4096 : 1024, copyBytes, timing);
}

/** The ceilings of an earlier run's JSON, refused when it was taken on another adapter. */
function ceilingsOf(path: string, adapter: string): Ceilings {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { adapter?: string; ceilings?: Ceilings };
  if (!doc.ceilings) throw new Error(`bench: --ceilings-from ${path}: no ceilings in it`);
  if (doc.adapter !== adapter) throw new Error(`bench: --ceilings-from ${path}: measured on '${doc.adapter}', this run is on '${adapter}'`);
  return doc.ceilings;
}

/** TF.js's own WebGPU adapter info (its backend asks for an adapter of its own). */
async function tfjsAdapterInfo(): Promise<Record<string, unknown>> {
  try {
    const tf = await import('@tensorflow/tfjs-core');
    const info = (tf.backend() as { adapterInfo?: Record<string, unknown> }).adapterInfo;
    return info ? { backend: tf.getBackend(), adapterInfo: { ...info } } : { backend: tf.getBackend() };
  } catch (e) {
    return { adapterInfoError: (e as Error).message.split('\n')[0] };
  }
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
    timing: args.rowBudgetMs ? { ...preset.timing, budgetMs: Math.min(preset.timing.budgetMs, args.rowBudgetMs) } : preset.timing,
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

  const ceilings = args.ceilingsFrom ? ceilingsOf(args.ceilingsFrom, g.describe()) : await measure(quick, g);
  console.log(
    `ceilings${args.ceilingsFrom ? ` (from ${args.ceilingsFrom})` : ''}: GEMM ${ceilings.gflops.toFixed(2)} GFLOP/s (${ceilings.gemmBest}, ${ceilings.gemmSize}^3), ` +
      `copy ${ceilings.gbps.toFixed(2)} GB/s (${ceilings.copyBest}, ${ceilings.copyBytes >> 20} MiB; copyBufferToBuffer ${ceilings.memcpyGbps.toFixed(2)} GB/s), ` +
      `${ceilings.dispatchUs.toFixed(1)} us per small dispatch, ${ceilings.floorMs.toFixed(3)} ms measured for no work`,
  );
  for (const e of [...ceilings.entries.gemm, ...ceilings.entries.copy]) console.log(`  ${e.name.padEnd(28)} ${e.ms.toFixed(2).padStart(9)} ms ${e.rate.toFixed(2).padStart(8)}`);

  const needsTfjs = args.tfjs && rows.some((r) => r.peer && tfjsSupports(r.peer));
  const tfjs = needsTfjs ? await startTfjsNode() : 'not requested';
  const tfjsInfo = typeof tfjs === 'string' ? {} : await tfjsAdapterInfo();
  // The PyTorch CUDA peer (bench/device/peer-torch-cuda.py) logs each request under this call's tag
  // and the request's id, which rows keep (torchRequest), so its log joins rows by request.
  const torchCall = `${process.pid}-${Date.now()}`;
  process.env.GRADMIX_TORCH_CALL = torchCall;
  const torch = args.torch && rows.some((r) => r.peer) ? await TorchPeer.start() : 'not requested';
  const torchWhere = typeof torch === 'string' ? '' : / CUDA on /.test(torch.version) ? '' : ` CPU, the faster of ${torch.threads.join(' and ')} threads per row`;
  console.log(
    `peers: TF.js ${typeof tfjs === 'string' ? `unavailable (${tfjs})` : `${tfjs.version} WebGPU on the same adapter`}; ` +
      `PyTorch ${typeof torch === 'string' ? `unavailable (${torch})` : `${torch.version}${torchWhere}`}`,
  );
  for (const s of skipped) console.log(`skipped ${s.family}: ${s.reason}`);

  // Complete runs are the record (one file per adapter and mode); a filtered or resized run must
  // not replace it, so it goes to the temporary directory unless --json says otherwise.
  const partial = args.filters.length > 0 || args.families.length > 0 || args.batches !== null || args.widths !== null;
  const name = `${adapterKey(g.describe())}.${quick ? 'quick' : 'full'}.json`;
  const file = args.json ?? (partial ? join(tmpdir(), `gradmix-bench-${name}`) : new URL(`./results/${name}`, import.meta.url).pathname);
  mkdirSync(dirname(file), { recursive: true });
  const results: (ResultRow & { torchRequest?: number })[] = [];
  const peers = {
    tfjs: typeof tfjs === 'string' ? { unavailable: tfjs } : { version: tfjs.version, ...tfjsInfo },
    torch: typeof torch === 'string' ? { unavailable: torch } : { version: torch.version, threadsTried: torch.threads, call: torchCall },
  };
  const doc = (complete: boolean): BenchRun & Record<string, unknown> => ({
    schema: RESULT_SCHEMA,
    adapter: g.describe(),
    kernelVariant: g.kernelVariant,
    engine: engineVersion(),
    runner: { kind: 'node' },
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    batches: cfg.batches,
    widths: cfg.widths,
    timing: { method: timingMethod(), ...cfg.timing, pace: pacedTiming() },
    loadAverage: [load0, loadavg()[0]],
    ...(args.note !== null ? { note: args.note } : {}),
    peers,
    ceilings,
    ...(args.ceilingsFrom ? { ceilingsFrom: args.ceilingsFrom } : {}),
    // What a reader needs to trust the GPU figures: timestamps asked unrounded (runtime/device.ts
    // disables Dawn's timestamp_quantization unless GRADMIX_DAWN_FLAGS enables it) and the wait pacer.
    timestampQuantized: /enable-dawn-features=\S*timestamp_quantization/.test(process.env.GRADMIX_DAWN_FLAGS ?? ''),
    pacer: g.pacer.enabled ? 'on' : 'off',
    skipped,
    // Every selected row, in order: a reader of a cut run knows what is missing.
    expected: rows.map((r) => ({ family: r.family, name: r.name })),
    complete,
    rows: results,
  });
  // Written whole aside and renamed (writeJsonAtomic): a run stopped mid-write leaves the last good
  // copy. Only to a file named by --json: a stopped run must not replace the record in bench/results/.
  const write = async (complete: boolean) => {
    if (!complete && args.json === null) return;
    await writeJsonAtomic(file, doc(complete));
  };
  await write(false);

  let torchRequests = 0;
  const print = formatTable();
  console.log(print.header());
  for (const row of rows) {
    const result: ResultRow & { torchRequest?: number } = {
      family: row.family,
      name: row.name,
      shape: row.shape,
      flops: row.flops,
      bytes: row.bytes,
      bound: row.bound,
      ...(row.count !== undefined ? { count: row.count } : {}),
    };
    try {
      // One timing for ours and the peers alike: the row's own, with --row-budget-ms's cap over it too.
      const rowTiming = { ...cfg.timing, ...row.timing, ...(args.rowBudgetMs ? { budgetMs: Math.min(row.timing?.budgetMs ?? cfg.timing.budgetMs, cfg.timing.budgetMs) } : {}) };
      const { m, note, variant, kernel } = await measureRow({ ...row, timing: rowTiming }, cfg.timing);
      Object.assign(
        result,
        { ms: m.ms, spreadMs: m.spreadMs, wallMs: m.wallMs, ...kernel, method: m.method, paced: m.paced, repeats: m.repeats, cores: m.cores, note, variant },
        rates(row, m.ms, ceilings),
      );
      result.roofline = rooflinePoint(result, ceilings) ?? undefined;
      if (m.cpuWorkMs !== undefined) result.cpu = { ours: m.cpuWorkMs };
      if (row.peer && tfjsSupports(row.peer) && typeof tfjs !== 'string') {
        const t = await tfjs.measure(row.peer, m, rowTiming);
        result.tfjs = t.result;
        if (result.cpu && t.cpuWorkMs !== undefined) result.cpu.tfjs = t.cpuWorkMs;
      }
      if (row.peer && typeof torch !== 'string') {
        // TorchPeer numbers its requests 1, 2, ... in the order measure() is called.
        result.torchRequest = ++torchRequests;
        const t = await torch.measure(row.peer, rowTiming);
        result.torch = 'ms' in t ? { ms: t.ms, ratio: m.wallMs / t.ms, threads: t.threads } : t;
        if (result.cpu && 'cpuMs' in t && t.cpuMs !== undefined) result.cpu.torch = t.cpuMs;
      }
    } catch (e) {
      result.error = (e as Error).message.split('\n')[0];
    }
    results.push(result);
    // Written before it is printed: whoever reads the printed row finds it in the file.
    await write(false);
    console.log(print.row(result));
  }
  if (typeof torch !== 'string') torch.stop();

  const load1 = loadavg()[0];
  console.log(`load average ${load0.toFixed(2)} -> ${load1.toFixed(2)} (2 cores busy with other work make every figure slower; compare ratios)`);
  await write(true);
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
