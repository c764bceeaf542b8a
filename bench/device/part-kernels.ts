// Parts a (the adapter) and b (the kernel correctness suite under each variant family).
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { wrongAdapter } from './expect.js';
import { lastError, readJson, runChild } from './run-child.js';
import { worse, type PartResult, type Run, type Status } from './run-summary.js';

export async function adapterPart(run: Run, budget: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const file = join(run.args.work, 'adapter.json');
  const c = await runChild('adapter', 'adapter.mjs', ['--expect', run.args.expect, '--json', file], budget);
  const report = readJson<{ adapter: string; matches: boolean }>(file);
  if (c.timedOut) return { status: 'timeout', detail: report, error: `no adapter within ${budget} s` };
  if (!report) return { status: 'failed', error: `no adapter: ${lastError(c.tail)}` };
  if (!report.matches || c.code !== 0) return { status: 'failed', detail: report, error: wrongAdapter(run.args.expect, report.adapter, 'part a') };
  return { status: 'ok', detail: report };
}

interface SuiteReport {
  adapter: string | null;
  kernelVariant: string | null;
  files: string[];
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  skippedTests?: string[];
  /** Tests skipped for want of a PyTorch on the host (test/golden.ts hostTorchTest). */
  hostTorchSkips?: string[];
  seconds: number;
  failures: string[];
}

/**
 * Shards per variant family: the suite is mostly single-threaded JavaScript (the float64
 * references), so it spreads over the cores, both families side by side.
 */
export function kernelShards(cores: number, variants: number): number {
  return Math.max(1, Math.min(8, Math.floor(cores / Math.max(1, variants))));
}

/**
 * The variant families side by side, each split into shards (kernel-suite.mjs --shard, balanced
 * by the files' measured seconds), every process with the whole budget: the tests check results,
 * not speed.
 */
export async function kernelsPart(run: Run, budget: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const variants: Record<string, unknown> = {};
  let status: Status = 'ok';
  const errors: string[] = [];
  const shards = run.args.shards ?? kernelShards(cpus().length, run.args.variants.length);
  const jobs = run.args.variants.flatMap((v) => Array.from({ length: shards }, (_, i) => ({ v, i })));
  const done = await Promise.all(
    jobs.map(async ({ v, i }) => {
      const file = join(run.args.work, `kernels-${v}-${i}.json`);
      const args = ['--json', file, '--shard', `${i}/${shards}`, ...(run.sizes.tests ? ['--tests', run.sizes.tests] : [])];
      const label = shards > 1 ? `kernels ${v} ${i + 1}/${shards}` : `kernels ${v}`;
      const c = await runChild(label, 'kernel-suite.mjs', args, budget, { env: { GRADMIX_KERNEL_VARIANT: v }, prefix: true });
      return { v, i, c, r: existsSync(file) && !c.timedOut ? readJson<SuiteReport>(file) : null };
    }),
  );
  for (const v of run.args.variants) {
    const mine = done.filter((d) => d.v === v);
    const reports = mine.map((d) => d.r).filter((r): r is SuiteReport => r !== null);
    const sum = (f: (r: SuiteReport) => number) => reports.reduce((s, r) => s + f(r), 0);
    const adapter = reports.find((r) => r.adapter)?.adapter ?? null;
    variants[v] = {
      adapter,
      kernelVariant: reports.find((r) => r.kernelVariant)?.kernelVariant ?? null,
      total: sum((r) => r.total),
      passed: sum((r) => r.passed),
      failed: sum((r) => r.failed),
      skipped: sum((r) => r.skipped),
      skippedTests: reports.flatMap((r) => r.skippedTests ?? []),
      hostTorchSkips: reports.flatMap((r) => r.hostTorchSkips ?? []),
      failures: reports.flatMap((r) => r.failures).slice(0, 40),
      shards: mine.map(({ i, c, r }) => ({ shard: i, files: r?.files ?? null, seconds: +c.seconds.toFixed(1), exit: c.code ?? c.signal, ...(r ? {} : { tail: c.tail.slice(-2000) }) })),
    };
    for (const { i, c, r } of mine) {
      const which = shards > 1 ? `${v} shard ${i + 1}/${shards}` : v;
      if (c.timedOut) {
        status = worse(status, 'timeout');
        errors.push(`${which}: over its ${budget} s`);
      } else if (!r || c.code !== 0) {
        if (status === 'ok') status = 'failed';
        errors.push(`${which}: ${!r ? lastError(c.tail) : r.total === 0 ? 'no test ran' : `${r.failed} of ${r.total} tests failed`}`);
      } else if (r.total > 0 && r.kernelVariant !== v) {
        status = 'failed';
        errors.push(`${which}: the suite ran variant ${r.kernelVariant}`);
      }
      const wrong = r?.adapter ? run.adapterOk(r.adapter, `kernels ${which}`) : null;
      if (wrong) {
        status = 'failed';
        errors.push(wrong);
      }
    }
    if (reports.length === mine.length && sum((r) => r.total) === 0) {
      status = 'failed';
      errors.push(`${v}: no test ran in any shard`);
    }
  }
  return { status, detail: { tests: run.sizes.tests ?? 'all', shards, variants }, ...(errors.length ? { error: errors.join('; ') } : {}) };
}
