// Part e: gradmix train end to end on mnist-mini (seeds x methods) and full MNIST, each run
// evaluated on encoder and head features, under the part's shared budget.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastError, readJson, runChild } from './run-child.js';
import type { Sizes } from './run-args.js';
import { secondsLeft, worse, type PartResult, type Run, type Status } from './run-summary.js';

export interface TrainRun {
  name: string;
  protocol: string;
  args: string[];
  weight: number;
  evaluate: boolean;
  /** What the bar's line says of the run: its planned epochs and --max-train (0: every image). */
  plan: { epochs: number; maxTrain: number };
}

export function trainRuns(s: Sizes): TrainRun[] {
  const runs: TrainRun[] = [];
  const m = s.mini;
  const mini = (seed: number, method: string): TrainRun => ({
    name: `mnist-mini s${seed} ${method}`,
    protocol: 'mnist-mini',
    weight: 1,
    evaluate: true,
    plan: { epochs: m.epochs, maxTrain: m.maxTrain },
    args: [
      '--protocol',
      'mnist-mini',
      '--split',
      '0',
      '--width',
      String(m.width),
      '--epochs',
      String(m.epochs),
      '--batch',
      String(m.batch),
      '--seed',
      String(seed),
      '--method',
      method,
      ...(m.maxTrain ? ['--max-train', String(m.maxTrain)] : []),
    ],
  });
  // Seed 0 of both methods first, then full MNIST, then the other seeds: a short budget still
  // yields a comparison and the full-MNIST figure.
  for (const method of m.methods) runs.push(mini(m.seeds[0], method));
  const n = s.mnist;
  runs.push({
    name: `mnist w${n.width} gradmix`,
    protocol: 'mnist',
    weight: n.weight,
    evaluate: n.evaluate,
    plan: { epochs: n.epochs, maxTrain: n.maxTrain },
    args: [
      '--protocol',
      'mnist',
      '--split',
      '0',
      '--width',
      String(n.width),
      '--epochs',
      String(n.epochs),
      '--batch',
      String(n.batch),
      '--method',
      'gradmix',
      ...(n.maxTrain ? ['--max-train', String(n.maxTrain)] : []),
      ...(n.evaluate ? [] : ['--no-eval']),
    ],
  });
  for (const seed of m.seeds.slice(1)) for (const method of m.methods) runs.push(mini(seed, method));
  return runs;
}

/** auroc and the rest of a results.json, trimmed to what the summary table needs. */
export function metrics(file: string) {
  const r = readJson<{ auroc?: number; closedAcc?: number; adapter?: string; status?: string; epochs?: number; trainedImages?: number }>(file);
  return r ? { auroc: r.auroc, closedAcc: r.closedAcc, adapter: r.adapter, status: r.status, epochs: r.epochs, trainedImages: r.trainedImages } : null;
}

export async function trainPart(run: Run, deadline: number): Promise<Omit<PartResult, 'budgetS' | 'seconds'>> {
  const runs = trainRuns(run.sizes);
  const table: Record<string, unknown>[] = [];
  let status: Status = 'ok';
  const errors: string[] = [];
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i];
    const weights = runs.slice(i).reduce((s, x) => s + x.weight, 0);
    const cap = (secondsLeft(deadline) * r.weight) / weights;
    if (cap < 5) {
      table.push({ name: r.name, status: 'not run (budget spent)' });
      if (status === 'ok') status = 'partial';
      continue;
    }
    const dir = join(run.args.work, 'runs', r.name.replace(/[^a-z0-9]+/gi, '-'));
    // Train gets most of the run's share; the head-feature evaluation the rest. SIGINT at the cap
    // makes train save its checkpoint, which is then evaluated if time remains.
    const trainCap = r.evaluate ? cap * 0.8 : cap;
    // An evaluation gets what is left of the run's share (at least a fifth of it), so one run's
    // evaluation cannot eat the budget of the runs after it.
    const runStart = Date.now();
    const shareLeft = () => Math.min(secondsLeft(deadline), Math.max(cap - (Date.now() - runStart) / 1000, cap * 0.2));
    const c = await runChild(`train ${r.name}`, 'gradmix.mjs', ['train', ...r.args, '--out', dir, '--quiet'], trainCap, { stopSignal: 'SIGINT', graceS: 20 });
    const row: Record<string, unknown> = {
      name: r.name,
      epochsPlanned: r.plan.epochs,
      maxTrain: r.plan.maxTrain,
      trainSeconds: +c.seconds.toFixed(1),
      exit: c.code ?? c.signal,
      ...(c.timedOut ? { interrupted: true } : {}),
    };
    let encoder = metrics(join(dir, 'results.json'));
    const checkpoint = join(dir, 'checkpoint.safetensors');
    if (!encoder && r.evaluate && c.timedOut && existsSync(checkpoint) && secondsLeft(deadline) > 10) {
      // Interrupted: evaluate the checkpoint it saved (as many epochs as fitted).
      const e = await runChild(`eval ${r.name} (interrupted run)`, 'gradmix.mjs', ['eval', '--checkpoint', checkpoint, '--out', join(dir, 'encoder')], shareLeft());
      row.evalSeconds = +e.seconds.toFixed(1);
      encoder = metrics(join(dir, 'encoder', 'results.json'));
    }
    if (encoder) Object.assign(row, { auroc: encoder.auroc, closedAcc: encoder.closedAcc, adapter: encoder.adapter, epochs: encoder.epochs, trainedImages: encoder.trainedImages });
    const logged = readLog(join(dir, 'log.jsonl'));
    if (logged) Object.assign(row, logged);
    if (r.evaluate && existsSync(checkpoint) && secondsLeft(deadline) > 5) {
      const h = await runChild(`eval ${r.name} head`, 'gradmix.mjs', ['eval', '--checkpoint', checkpoint, '--features', 'head', '--out', join(dir, 'head')], shareLeft());
      const head = metrics(join(dir, 'head', 'results.json'));
      row.headAuroc = head?.auroc ?? null;
      row.headSeconds = +h.seconds.toFixed(1);
    }
    row.wallSeconds = +((row.trainSeconds as number) + ((row.evalSeconds as number) ?? 0) + ((row.headSeconds as number) ?? 0)).toFixed(1);
    table.push(row);
    // After every run: a device call cut off in this part keeps the runs already done.
    writeFileSync(join(run.args.out, 'train.json'), JSON.stringify({ runs: table }, null, 2) + '\n');
    if (c.timedOut && !existsSync(checkpoint)) {
      status = worse(status, 'timeout');
      errors.push(`${r.name}: stopped at its ${trainCap.toFixed(0)} s share before its first checkpoint`);
    } else if (c.timedOut) {
      status = worse(status, 'partial');
      errors.push(`${r.name}: interrupted at its ${trainCap.toFixed(0)} s share (${Number(row.epochsDone ?? 0)} epochs)`);
    } else if (c.code !== 0) {
      status = 'failed';
      errors.push(`${r.name}: exit ${c.code ?? c.signal}: ${lastError(c.tail)}`);
    } else if (r.evaluate && (encoder?.auroc === undefined || row.headAuroc === undefined || row.headAuroc === null)) {
      status = worse(status, 'partial');
      errors.push(`${r.name}: no ${encoder?.auroc === undefined ? 'encoder' : 'head'} AUROC`);
    }
    const adapter = encoder?.adapter ?? readJson<{ adapter?: string }>(join(dir, 'config.json'))?.adapter;
    if (adapter) {
      const wrong = run.adapterOk(adapter, `train ${r.name}`);
      if (wrong) {
        status = 'failed';
        errors.push(wrong);
      }
    }
  }
  return { status, detail: { file: 'train.json', paperMnistAuroc: 0.998, runs: table }, ...(errors.length ? { error: errors.join('; ') } : {}) };
}

/** Epochs logged, the last epoch's loss, seconds and images per second, from a run's log.jsonl. */
export function readLog(file: string) {
  try {
    type Logged = { kind?: string; loss?: number; seconds?: number; imagesPerSecond?: number };
    const rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Logged);
    const epochs = rows.filter((r) => r.kind === 'epoch');
    const last = epochs.at(-1);
    return { epochsDone: epochs.length, lastLoss: last?.loss ?? null, lastEpochSeconds: last?.seconds ?? null, imagesPerSecond: last?.imagesPerSecond ?? null };
  } catch {
    return null;
  }
}
