// Parts a (the adapter) and b (the kernel correctness suite under each variant family).
import { existsSync } from 'node:fs';
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

/**
 * The variant families side by side, each in its own process with the whole budget: the tests
 * check results, not speed, and are mostly single-threaded JavaScript references (the GPU machine
 * has 16 cores).
 */
export async function kernelsPart(run: Run, budget: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const variants: Record<string, unknown> = {};
  let status: Status = 'ok';
  const errors: string[] = [];
  const done = await Promise.all(
    run.args.variants.map(async (v) => {
      const file = join(run.args.work, `kernels-${v}.json`);
      const args = ['--json', file, ...(run.sizes.tests ? ['--tests', run.sizes.tests] : [])];
      const c = await runChild(`kernels ${v}`, 'kernel-suite.mjs', args, budget, { env: { GRADMIX_KERNEL_VARIANT: v }, prefix: true });
      return { v, c, r: existsSync(file) && !c.timedOut ? readJson<{ adapter: string; kernelVariant: string; failed: number; total: number }>(file) : null };
    }),
  );
  for (const { v, c, r } of done) {
    variants[v] = r ?? { exit: c.code ?? c.signal, seconds: c.seconds, tail: c.tail.slice(-2000) };
    if (c.timedOut) {
      status = worse(status, 'timeout');
      errors.push(`${v}: over its ${budget} s`);
    } else if (!r || c.code !== 0) {
      if (status === 'ok') status = 'failed';
      errors.push(`${v}: ${r ? `${r.failed} of ${r.total} tests failed` : lastError(c.tail)}`);
    } else if (r.kernelVariant !== v) {
      status = 'failed';
      errors.push(`${v}: the suite ran variant ${r.kernelVariant}`);
    }
    const wrong = r ? run.adapterOk(r.adapter, `kernels ${v}`) : null;
    if (wrong) {
      status = 'failed';
      errors.push(wrong);
    }
  }
  return { status, detail: { tests: run.sizes.tests ?? 'all', variants }, ...(errors.length ? { error: errors.join('; ') } : {}) };
}
