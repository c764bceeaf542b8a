// The benchmark page (npm run bench:web): the same families, rows, harness and JSON as
// `npm run bench`, run in the page on navigator.gpu. The Node-only parts (PyTorch peer, CPU-time
// columns, load average) are left out. Query parameters size the run, e.g.
// ?batch=2&width=2&size=8&filter=matmul|bias-relu&gemm=64&copy=1 (copy in MiB); without them a
// quick run (batch 4, widths 16 and 64) as Node's quick mode.
import { initGpu, gpu } from '../../runtime/gpu.js';
import { Autotuner } from '../../runtime/autotune.js';
import { measureCeilings } from '../ceilings.js';
import { releaseTimers, timingMethod, type TimeOptions } from '../harness.js';
import { measureRow, rates } from '../measure-row.js';
import { rooflinePoint, formatRoofline } from '../roofline.js';
import { FAMILIES } from '../all-families.js';
import { RESULT_SCHEMA, type BenchRun } from '../schema.js';
import type { BenchConfig, Row } from '../family.js';
import type { ResultRow } from '../report.js';

declare const GRADMIX_VERSION: string;
declare const GRADMIX_COMMIT: string | null;

const $ = (id: string) => document.getElementById(id)!;
const q = new URLSearchParams(location.search);
const list = (name: string, fallback: number[]) => (q.get(name) ? q.get(name)!.split(',').map(Number) : fallback);
const TIMING: TimeOptions = { warmup: 1, repeats: Number(q.get('repeats') ?? 20), minRepeats: 2, budgetMs: 300 };

function status(text: string): void {
  $('status').textContent = text;
}

function cell(tr: HTMLTableRowElement, text: string): void {
  tr.insertCell().textContent = text;
}

const fixed = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** Vendor, architecture, the limits a kernel author sizes workgroups and buffers by, and the features. */
function describeAdapter(adapter: GPUAdapter, device: GPUDevice): Record<string, unknown> {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const k of ['maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupStorageSize', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupsPerDimension']) {
    limits[k] = (device.limits as unknown as Record<string, number>)[k];
  }
  return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, limits, features: [...adapter.features].sort() };
}

async function main(): Promise<void> {
  await initGpu();
  const g = gpu();
  const adapter = describeAdapter(g.adapter, g.device);
  $('adapter').textContent = JSON.stringify(adapter, null, 2);
  const filters = (q.get('filter') ?? '').split(',').filter(Boolean).map((f) => new RegExp(f, 'i'));
  const cfg: BenchConfig = {
    quick: true,
    batches: list('batch', [4]),
    widths: list('width', [16, 64]),
    fromFlags: { batches: q.has('batch'), widths: q.has('width') },
    imageSize: Number(q.get('size') ?? 32),
    timing: TIMING,
    autotuner: new Autotuner(g.describe()),
  };
  const rows: Row[] = [];
  const skipped: { family: string; reason: string }[] = [];
  for (const f of FAMILIES) {
    const r = await f.rows(cfg);
    if ('skipped' in r) skipped.push({ family: f.name, reason: r.skipped });
    else rows.push(...r.filter((row) => filters.length === 0 || filters.some((x) => x.test(`${row.family} ${row.name}`))));
  }
  status(`measuring the ceilings (${timingMethod()} timing)...`);
  const ceilings = await measureCeilings(Number(q.get('gemm') ?? 256), Number(q.get('copy') ?? 8) << 20, { ...TIMING, repeats: 3, minRepeats: 2 });
  $('ceilings').textContent = `GEMM ${ceilings.gflops.toFixed(2)} GFLOP/s (${ceilings.gemmBest}), copy ${ceilings.gbps.toFixed(2)} GB/s (${ceilings.copyBest}), ` +
    `${ceilings.dispatchUs.toFixed(1)} us per small dispatch, ${ceilings.floorMs.toFixed(3)} ms for no work`;
  const body = $('rows') as HTMLTableSectionElement;
  const results: ResultRow[] = [];
  for (const [i, row] of rows.entries()) {
    status(`row ${i + 1} of ${rows.length}: ${row.family} ${row.name}`);
    const result: ResultRow = { family: row.family, name: row.name, shape: row.shape, flops: row.flops, bytes: row.bytes, bound: row.bound };
    try {
      const { m, note, variant } = await measureRow(row, cfg.timing);
      Object.assign(result, { ms: m.ms, spreadMs: m.spreadMs, wallMs: m.wallMs, method: m.method, repeats: m.repeats, note, variant }, rates(row, m.ms, ceilings));
      result.roofline = rooflinePoint(result, ceilings) ?? undefined;
    } catch (e) {
      result.error = (e as Error).message.split('\n')[0];
    }
    results.push(result);
    const tr = body.insertRow();
    for (const t of [row.family, row.name, row.shape, fixed(result.ms, 3), fixed(result.spreadMs, 3), result.bound === 'compute' ? fixed(result.gflops) : fixed(result.gbps), formatRoofline(result.roofline ?? null), result.error ? `ERROR ${result.error}` : result.note ?? '']) cell(tr, t);
  }
  const run: BenchRun = {
    schema: RESULT_SCHEMA,
    adapter: g.describe(),
    kernelVariant: g.kernelVariant,
    engine: { version: GRADMIX_VERSION, commit: GRADMIX_COMMIT },
    runner: { kind: 'browser', userAgent: navigator.userAgent },
    date: new Date().toISOString(),
    mode: 'quick',
    batches: cfg.batches,
    widths: cfg.widths,
    timing: { method: timingMethod(), ...TIMING },
    peers: { torch: { unavailable: 'not in a browser' }, tfjs: { unavailable: 'not wired into the page' } },
    ceilings,
    skipped,
    rows: results,
  };
  const json = JSON.stringify({ ...run, adapterInfo: adapter }, null, 2) + '\n';
  const link = $('download') as HTMLAnchorElement;
  link.href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  link.download = `gradmix-bench.browser.${run.mode}.json`;
  link.hidden = false;
  releaseTimers();
  status(`done: ${results.length} rows (${results.filter((r) => r.error).length} errors)`);
  (window as unknown as { benchResult: string }).benchResult = json;
}

main().catch((e: unknown) => {
  status(`failed: ${e instanceof Error ? e.message : String(e)}`);
  (window as unknown as { benchResult: string }).benchResult = JSON.stringify({ error: String(e) });
});
