// The benchmark page (npm run bench:web): the same families, rows, harness and JSON as
// `npm run bench`, run in the page on navigator.gpu, with TF.js WebGPU as the peer where a row has
// one (its own chunk, bench/web/tfjs-page.ts, loaded while the ceilings are measured). The
// Node-only parts (PyTorch peer, CPU-time columns, load average) are left out. Query parameters
// size the run, e.g. ?batch=2&width=2&size=8&filter=matmul|bias-relu&gemm=64&copy=1&steps=3
// (copy in MiB; steps: the memory family's flatness row), tfjs=0 (no TF.js peer),
// power=low-power (both engines' adapter); without them a quick run (batch 4, widths 16 and 64)
// as Node's quick mode.
import { gpu } from '../../runtime/gpu.js';
import { initBrowserGpu, onGpuLost } from '../../src/browser/gpu.js';
import { Autotuner } from '../../runtime/autotune.js';
import { measureCeilings } from '../ceilings.js';
import { pacedTiming, releaseTimers, timingMethod, type TimeOptions } from '../harness.js';
import { measureRow, rates } from '../measure-row.js';
import { rooflinePoint, formatRoofline } from '../roofline.js';
import { FAMILIES } from '../all-families.js';
import { tfjsSupports, type TfjsPeer } from '../peer-tfjs.js';
import { RESULT_SCHEMA, type BenchRun } from '../schema.js';
import type { BenchConfig, Row } from '../family.js';
import type { PeerResult, ResultRow } from '../report.js';

/** The package version, commit and dirty flag, set by the build (bench/web/serve.mjs). */
declare const GRADMIX_ENGINE: BenchRun['engine'];

const $ = (id: string) => document.getElementById(id)!;
const q = new URLSearchParams(location.search);

/** A query parameter's positive integers; a bad value stops the run naming the parameter. */
function ints(name: string, fallback: number[]): number[] {
  const v = q.get(name);
  if (v === null) return fallback;
  const xs = v.split(',').map(Number);
  if (xs.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`query parameter ${name}=${v}: needs positive integers, e.g. ${name}=2`);
  return xs;
}
const int = (name: string, fallback: number) => ints(name, [fallback])[0];

function power(): GPUPowerPreference {
  const p = q.get('power') ?? 'high-performance';
  if (p !== 'high-performance' && p !== 'low-power') throw new Error(`query parameter power=${p}: high-performance or low-power`);
  return p;
}

function status(text: string): void {
  $('status').textContent = text;
}

function cell(tr: HTMLTableRowElement, text: string): void {
  tr.insertCell().textContent = text;
}

const fixed = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
/**
 * Browsers round GPU timestamps (Chrome to 100 us, Dawn's default 65.5 us) against timing
 * attacks: a median under ten grains says more about the rounding than the kernel.
 */
const TIMER_GRAIN_MS = 0.1;
const nearGrain = (ms: number | undefined, method: string | undefined) => method === 'gpu-timestamp' && ms !== undefined && ms < 10 * TIMER_GRAIN_MS;
const peerMs = (p: PeerResult | undefined) => (p && 'ms' in p ? fixed(p.ms, 3) : '-');
// Two significant digits: at these sizes a ratio can be 0.004.
const peerRatio = (p: PeerResult | undefined) => (p && 'ratio' in p ? (Number.isFinite(p.ratio) ? `${p.ratio.toPrecision(2)}x` : '-') : p ? 'error' : '-');

/** Vendor, architecture, the limits a kernel author sizes workgroups and buffers by, and the features. */
function describeAdapter(adapter: GPUAdapter, device: GPUDevice): Record<string, unknown> {
  // adapter.info arrived in Chrome 127 (113-126 had requestAdapterInfo()).
  const info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean } = adapter.info ?? {};
  const limits: Record<string, number> = {};
  for (const k of [
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupStorageSize',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupsPerDimension',
  ]) {
    limits[k] = (device.limits as unknown as Record<string, number>)[k];
  }
  const fallback = info.isFallbackAdapter === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, fallback, limits, features: [...adapter.features].sort() };
}

async function main(): Promise<void> {
  const preference = power();
  await initBrowserGpu({ powerPreference: preference }); // with the page's reasons when there is no WebGPU
  const g = gpu();
  const adapter = describeAdapter(g.adapter, g.device);
  $('adapter').textContent = JSON.stringify(adapter, null, 2);
  const warnings: string[] = [];
  if (g.cpuAdapter || adapter.fallback) warnings.push('a software adapter: the figures describe this CPU, not a GPU');
  let lost: string | null = null;
  onGpuLost((reason) => (lost = `the GPU was reset during the run (${reason}): the rows after it are missing; reload the page to run again`));
  document.addEventListener('visibilitychange', () => {
    const hidden = 'the tab was hidden during the run: browsers throttle hidden tabs, so wall-clock figures may be slower';
    if (document.hidden && !warnings.includes(hidden)) warnings.push(hidden);
  });
  const filters = (q.get('filter') ?? '')
    .split(',')
    .filter(Boolean)
    .map((f) => {
      try {
        return new RegExp(f, 'i');
      } catch (e) {
        throw new Error(`query parameter filter: ${(e as Error).message}`);
      }
    });
  const timing: TimeOptions = { warmup: 1, repeats: int('repeats', 20), minRepeats: 2, budgetMs: 300 };
  const cfg: BenchConfig = {
    quick: true,
    batches: ints('batch', [4]),
    widths: ints('width', [16, 64]),
    fromFlags: { batches: q.has('batch'), widths: q.has('width') },
    imageSize: int('size', 32),
    timing,
    autotuner: new Autotuner(g.describe()),
    flatSteps: int('steps', 100),
  };
  const rows: Row[] = [];
  const skipped: { family: string; reason: string }[] = [];
  for (const f of FAMILIES) {
    const r = await f.rows(cfg);
    if ('skipped' in r) skipped.push({ family: f.name, reason: r.skipped });
    else rows.push(...r.filter((row) => filters.length === 0 || filters.some((x) => x.test(`${row.family} ${row.name}`))));
  }
  if (rows.length === 0) throw new Error(`query parameter filter=${q.get('filter')}: no row matches (filters match '<family> <row name>')`);
  // TF.js's chunk downloads and its backend starts while the ceilings are measured.
  const wanted = q.get('tfjs') !== '0' && rows.some((r) => r.peer && tfjsSupports(r.peer));
  const tfjsStarting: Promise<TfjsPeer | string> = wanted
    ? import('./tfjs-page.js').then(
        (m) => m.startTfjsPage(preference),
        (e: Error) => `TF.js could not be loaded: ${e.message}`,
      )
    : Promise.resolve(q.get('tfjs') === '0' ? 'not requested (tfjs=0)' : 'no row has a TF.js peer');
  status(`measuring the ceilings (${timingMethod()} timing)...`);
  // A GPU does the CPU adapter's sizes in under the timer's grain: larger ones by default there.
  const gpuSized = !g.cpuAdapter;
  const ceilings = await measureCeilings(int('gemm', gpuSized ? 1024 : 256), int('copy', gpuSized ? 64 : 8) << 20, { ...timing, repeats: 3, minRepeats: 2 });
  const grainNote = Number.isFinite(ceilings.gflops) && Number.isFinite(ceilings.gbps) ? '' : ' (a ceiling ran under the timer grain: raise ?gemm= and ?copy=)';
  $('ceilings').textContent =
    `GEMM ${fixed(ceilings.gflops)} GFLOP/s (${ceilings.gemmBest}), copy ${fixed(ceilings.gbps)} GB/s (${ceilings.copyBest}), ` +
    `${ceilings.dispatchUs.toFixed(1)} us per small dispatch, ${ceilings.floorMs.toFixed(3)} ms for no work${grainNote}`;
  const tfjs = await tfjsStarting;
  $('peers').textContent = typeof tfjs === 'string' ? `TF.js: unavailable (${tfjs})` : `TF.js ${tfjs.version} WebGPU (${tfjs.gradients ?? 'gradients registered'}), its own device on the same adapter`;
  const body = $('rows') as HTMLTableSectionElement;
  const results: ResultRow[] = [];
  for (const [i, row] of rows.entries()) {
    if (lost) break;
    status(`row ${i + 1} of ${rows.length}: ${row.family} ${row.name}`);
    const result: ResultRow = { family: row.family, name: row.name, shape: row.shape, flops: row.flops, bytes: row.bytes, bound: row.bound };
    try {
      const { m, note, variant } = await measureRow(row, cfg.timing);
      // count: how many of the network's convolutions the row stands for (a total sums count x ms);
      // paced: whether our wait pacer could sleep while it was timed (bench/harness.ts).
      Object.assign(
        result,
        { ms: m.ms, spreadMs: m.spreadMs, wallMs: m.wallMs, method: m.method, repeats: m.repeats, note, variant, paced: m.paced },
        row.count !== undefined ? { count: row.count } : {},
        rates(row, m.ms, ceilings),
      );
      result.roofline = rooflinePoint(result, ceilings) ?? undefined;
      if (row.peer && tfjsSupports(row.peer) && typeof tfjs !== 'string') result.tfjs = (await tfjs.measure(row.peer, m, { ...cfg.timing, ...row.timing })).result;
    } catch (e) {
      result.error = (e as Error).message.split('\n')[0];
    }
    results.push(result);
    const grain = nearGrain(result.ms, result.method) ? `under ten timer grains (${TIMER_GRAIN_MS} ms): larger ?batch or ?width` : '';
    const notes = result.error ? `ERROR ${result.error}` : [grain, result.note, result.tfjs && 'error' in result.tfjs ? `tfjs: ${result.tfjs.error}` : ''].filter(Boolean).join('; ');
    const rate = result.bound === 'compute' ? fixed(result.gflops) : fixed(result.gbps);
    const tr = body.insertRow();
    for (const t of [
      row.family,
      row.name,
      row.shape,
      fixed(result.ms, 3),
      fixed(result.spreadMs, 3),
      rate,
      formatRoofline(result.roofline ?? null),
      peerMs(result.tfjs),
      peerRatio(result.tfjs),
      notes,
    ])
      cell(tr, t);
  }
  const run: BenchRun = {
    schema: RESULT_SCHEMA,
    adapter: g.describe(),
    kernelVariant: g.kernelVariant,
    engine: GRADMIX_ENGINE,
    runner: { kind: 'browser', userAgent: navigator.userAgent },
    date: new Date().toISOString(),
    mode: 'quick',
    batches: cfg.batches,
    widths: cfg.widths,
    timing: { method: timingMethod(), ...timing, pace: pacedTiming() },
    peers: { torch: { unavailable: 'not in a browser' }, tfjs: typeof tfjs === 'string' ? { unavailable: tfjs } : { version: tfjs.version } },
    ceilings,
    skipped,
    rows: results,
  };
  if (lost) warnings.push(lost);
  const json = JSON.stringify({ ...run, adapterInfo: adapter, ...(warnings.length ? { warnings } : {}), ...(lost ? { incomplete: true } : {}) }, null, 2) + '\n';
  const link = $('download') as HTMLAnchorElement;
  link.href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  link.download = `gradmix-bench.browser.${run.mode}.json`;
  link.hidden = false;
  releaseTimers();
  status(`${lost ? 'stopped' : 'done'}: ${results.length} rows (${results.filter((r) => r.error).length} errors)${warnings.length ? `; note: ${warnings.join('; ')}` : ''}`);
  (window as unknown as { benchResult: string }).benchResult = json;
}

main().catch((e: unknown) => {
  status(`failed: ${e instanceof Error ? e.message : String(e)}`);
  (window as unknown as { benchResult: string }).benchResult = JSON.stringify({ error: String(e) });
});
