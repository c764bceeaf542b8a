// The device run's summary: each part's status, budget and detail, rewritten after every part
// (so a run cut short still says what it saw).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { barLines } from './bar.js';
import { adapterMatches, wrongAdapter } from './expect.js';
import { DEADLINE_RESERVE_S, FULL, TINY, type Args, type Part, type Sizes } from './run-args.js';
import { log, readJson } from './run-child.js';

export type Status = 'ok' | 'failed' | 'timeout' | 'partial' | 'skipped';

export const SEVERITY: Status[] = ['skipped', 'ok', 'partial', 'timeout', 'failed'];
export const worse = (a: Status, b: Status): Status => (SEVERITY.indexOf(a) >= SEVERITY.indexOf(b) ? a : b);

export interface PartResult {
  status: Status;
  budgetS: number;
  seconds: number;
  detail?: unknown;
  error?: string;
}

export class Run {
  readonly sizes: Sizes;
  readonly results: Partial<Record<Part, PartResult>> = {};
  readonly started = new Date();
  private readonly summaryFile: string;
  private host: Record<string, unknown>;

  constructor(readonly args: Args) {
    const base = args.full ? FULL : TINY;
    this.sizes = {
      ...base,
      budgets: { ...base.budgets, ...args.budgets },
      tests: args.tests === undefined ? base.tests : args.tests,
      mnist: { ...base.mnist, epochs: args.mnistEpochs ?? base.mnist.epochs },
    };
    this.summaryFile = join(args.out, 'device-run.json');
    this.host = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, gpus: nvidiaSmi() };
  }

  write(): void {
    const kit = process.env.GRADMIX_KIT_MANIFEST ? readJson(process.env.GRADMIX_KIT_MANIFEST) : null;
    const ran = Object.values(this.results);
    writeFileSync(
      this.summaryFile,
      JSON.stringify(
        {
          ok: ran.length > 0 && ran.every((r) => r.status === 'ok' || r.status === 'skipped'),
          mode: this.args.full ? 'full' : 'tiny',
          expect: this.args.expect,
          started: this.started.toISOString(),
          seconds: (Date.now() - this.started.getTime()) / 1000,
          kit: kit ? { id: kit.id, commit: kit.commit, built: kit.built, node: kit.node, webgpu: kit.webgpu } : null,
          host: this.host,
          sizes: this.sizes,
          parts: this.results,
          bar: barLines(this.results),
        },
        null,
        2,
      ) + '\n',
    );
  }

  /** Checks the adapter a part's child reported; a mismatch fails the part loudly. */
  adapterOk(adapter: string | undefined, where: string): string | null {
    if (adapter && adapterMatches(this.args.expect, adapter)) return null;
    const msg = wrongAdapter(this.args.expect, adapter ?? 'not reported', where);
    log(msg);
    return msg;
  }

  /**
   * Seconds a part may still take under --deadline (Infinity without one), counted from run.sh's
   * start when it says (GRADMIX_KIT_T0: unpacking and the torch probe come before this process).
   */
  private secondsLeft(): number {
    const t0 = Number(process.env.GRADMIX_KIT_T0) * 1000 || this.started.getTime();
    return Math.max(0, this.args.deadlineS - (Date.now() - t0) / 1000 - DEADLINE_RESERVE_S);
  }

  async part(name: Part, body: (budget: number, deadline: number) => Promise<Omit<PartResult, 'budgetS' | 'seconds'>>): Promise<PartResult> {
    const planned = this.sizes.budgets[name];
    const budget = Math.min(planned, Math.floor(this.secondsLeft()));
    const t0 = Date.now();
    const cut = budget < planned ? ` of ${planned}: what --deadline ${this.args.deadlineS} s leaves` : '';
    log(`=== part ${name} (budget ${budget} s${cut})`);
    let r: Omit<PartResult, 'budgetS' | 'seconds'>;
    if (budget < 5) {
      r = { status: 'skipped', error: `no time left under --deadline ${this.args.deadlineS} s` };
    } else {
      try {
        r = await body(budget, t0 + budget * 1000);
      } catch (e) {
        r = { status: 'failed', error: (e as Error).message };
      }
    }
    const result: PartResult = { ...r, budgetS: budget, seconds: +((Date.now() - t0) / 1000).toFixed(1) };
    this.results[name] = result;
    this.write();
    log(`=== part ${name}: ${result.status} in ${result.seconds} s${result.error ? `: ${result.error}` : ''}`);
    return result;
  }
}

export function nvidiaSmi(): string | null {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu', '--format=csv,noheader'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

export const secondsLeft = (deadline: number) => Math.max(0, (deadline - Date.now()) / 1000);
