// gradmix sweep: a plan's runs and their folders; a run by index (skipped once finished); two local
// workers draining a plan while one run's process is killed (retried by the other worker and
// finished); a run that keeps failing reported failed; the report against the runs' own
// results.json; the Slurm array script and the Kubernetes Indexed Job's required fields.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepCommand, taskIndex } from '../src/cli/sweep-command.js';
import { buildPlan, readPlan, runOut, writePlan, type PlannedRun } from '../src/sweep/plan.js';
import { reportFromFolder, reportFromPlan, reportMarkdown } from '../src/sweep/report.js';
import { OtherSettingsError } from '../src/sweep/run-settings.js';
import { childEnv, runPool } from '../src/sweep/pool.js';
import { slurmScript, slurmSeconds } from '../src/sweep/schedulers.js';
import { resolveOptions } from '../src/train/options.js';
import { allAdapters, parseAdapterList } from '../src/sweep/adapters.js';
import { FAILED_FILE, markFailed, runState } from '../src/sweep/run-state.js';
import { METRICS } from '../src/sweep/report.js';
import { LOCK_FILE, makeFolder } from '../src/train/run-lock.js';
import { CHECKPOINT_FILE } from '../src/train/epoch-loop.js';
import { RunClaimedError, runPlanned, takeOverForeignLock } from '../src/sweep/run-one.js';
import { rejects } from './data-fixtures.js';

const test = suite('sweep');
const root = fileURLToPath(new URL('..', import.meta.url));
const TINY = ['--protocol', 'mnist-mini', '--width', '2', '--batch', '8', '--max-train', '16', '--epochs', '1', '--quiet'];
let dir = '';
let tiny = ''; // the 4-run plan: methods none, gradmix x splits 0, 1
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gradmix-sweep-'));
  process.env.GRADMIX_AUTOTUNE = '0';
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** `gradmix ...` in a child process: exit status and output. */
function gradmix(args: string[], onStart?: (pid: number) => void, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['bin/gradmix.js', ...args], { cwd: root, env: { ...process.env, GRADMIX_AUTOTUNE: '0', ...env } });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  onStart?.(child.pid!);
  return new Promise((done) => child.on('close', (code) => done({ code, out })));
}

const results = (planFile: string, r: PlannedRun) => JSON.parse(readFileSync(join(planFile, '..', r.out, 'results.json'), 'utf8'));

test('plan: every protocol x method x seed x split, with the train flags and a folder of its own', async () => {
  const out = join(dir, 'grid');
  await sweepCommand(['plan', '--protocol', 'mnist-mini', '--splits', '0,1,2,3,4', '--methods', 'none,gradmix', '--seeds', '0,1,2', '--width', '4', '--lr', '0.002', '--out', out]);
  const runs = readPlan(join(out, 'plan.jsonl'));
  assert.is(runs.length, 30);
  assert.equal(
    runs.map((r) => r.index),
    [...Array(30).keys()],
  );
  assert.is(new Set(runs.map((r) => r.out)).size, 30, 'one folder per run');
  const r = runs.find((x) => x.method === 'gradmix' && x.seed === 2 && x.split === 3)!;
  assert.is(r.out, join('mnist-mini-gradmix-s2', 'split3'));
  assert.equal(r.options, { width: 4, lr: 0.002, protocol: 'mnist-mini', split: 3, method: 'gradmix', seed: 2 });
  // File flags are stored absolute: a worker that starts in another folder still finds them.
  const net = join(dir, 'resnet18.safetensors');
  writeFileSync(net, '');
  const [netFlag, dataFlag] = [relative(process.cwd(), net), relative(process.cwd(), dir)];
  await sweepCommand(['plan', '--splits', '0', '--methods', 'attentive-cutmix', '--attention-model', netFlag, '--data', dataFlag, '--out', out]);
  const planned = readPlan(join(out, 'plan.jsonl'))[0].options;
  assert.equal([planned.attentionModel, planned.dataDir], [resolve(net), resolve(dir)]);
  // Bad input names the flag; a damaged plan names the file and line.
  await rejects(() => sweepCommand(['plan', '--splits', '0,7', '--out', out]), /--splits must be an integer 0\.\.4, got '7'/);
  await rejects(() => sweepCommand(['plan', '--methods', 'gradmx', '--out', out]), /did you mean gradmix/);
  await rejects(() => sweepCommand(['plan', '--width', '2']), /--out <folder> is required/);
  // A value twice would give two runs one folder: refused as a flag (every list flag refuses a
  // repeated item), by the library's grid, and in a plan edited by hand.
  await rejects(() => sweepCommand(['plan', '--seeds', '0,1,0', '--out', join(dir, 'dup')]), /--seeds names 0 twice$/);
  assert.throws(() => buildPlan({ protocols: ['mnist-mini'], splits: [0], methods: ['none'], seeds: [0, 1, 0] }, {}), /--seeds names 0 twice; each run of the grid needs a folder of its own/);
  const edited = join(dir, 'edited');
  mkdirSync(edited, { recursive: true });
  const [first] = readPlan(join(out, 'plan.jsonl'));
  writeFileSync(join(edited, 'plan.jsonl'), [first, { ...first, index: 1 }].map((r) => JSON.stringify(r)).join('\n') + '\n');
  assert.throws(() => readPlan(join(edited, 'plan.jsonl')), /line 2: run 1 has the folder of run 0/);
  writeFileSync(join(dir, 'bad.jsonl'), `${JSON.stringify(runs[0])}\n{"index": 5}\n`);
  assert.throws(() => readPlan(join(dir, 'bad.jsonl')), /bad\.jsonl line 2: not a run of index 1/);
});

test("--help of every subcommand shows each value flag's default (or that it is required)", async () => {
  for (const sub of ['plan', 'run', 'report', 'slurm', 'k8s']) {
    const lines: string[] = [];
    const log = console.log;
    console.log = (text: string) => lines.push(text);
    try {
      await sweepCommand([sub, '--help']);
    } finally {
      console.log = log;
    }
    const help = lines.join('\n');
    assert.match(help, new RegExp(`usage: gradmix sweep ${sub}`));
    for (const line of help.split('\n').filter((l) => l.includes('<value>'))) assert.match(line, /default|required/, `sweep ${sub}: ${line}`);
  }
});

test("the task index: --index N, --index env, or the scheduler's variable", () => {
  assert.is(taskIndex('3', {}), 3);
  assert.is(taskIndex(undefined, {}), null);
  assert.is(taskIndex(undefined, { SLURM_ARRAY_TASK_ID: '2' }), 2);
  assert.is(taskIndex('env', { JOB_COMPLETION_INDEX: '7' }), 7);
  assert.throws(() => taskIndex('env', {}), /neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set/);
  assert.throws(() => taskIndex('-1', {}), /--index must be a run index/);
  assert.equal(parseAdapterList("no suitable backends found\nAvailable adapters:\n * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'\n * backend: 'vulkan', name: 'NVIDIA H100'"), [
    { backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
    { backend: 'vulkan', name: 'NVIDIA H100' },
  ]);
  // 'all': each GPU once (listed under two backends), no CPU renderer beside them; the CPU renderer where it is all there is.
  const gpu = (backend: string, name: string) => ({ backend, name });
  assert.equal(allAdapters([gpu('vulkan', 'llvmpipe (LLVM 15.0.6, 256 bits)'), gpu('vulkan', 'NVIDIA H100 A'), gpu('opengles', 'NVIDIA H100 A'), gpu('vulkan', 'NVIDIA H100 B')]), [
    'NVIDIA H100 A',
    'NVIDIA H100 B',
  ]);
  assert.equal(allAdapters([gpu('vulkan', 'llvmpipe (LLVM 15.0.6, 256 bits)')]), ['llvmpipe (LLVM 15.0.6, 256 bits)']);
});

test("a run held by another live process is left to it; a scheduler task takes over a lock its own job's earlier attempt left on another host", async () => {
  const plan = join(dir, 'grid', 'plan.jsonl');
  const [run] = readPlan(plan);
  const out = join(dir, 'grid', run.out);
  makeFolder(out);
  const lock = join(out, LOCK_FILE);
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'node-17', started: 'earlier' }));
  const e = await rejects(() => runPlanned(plan, run), /in use by another gradmix run \(pid 1 on node-17/);
  assert.instance(e, RunClaimedError);
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), started: 'now' }));
  takeOverForeignLock(out, 'k8s:gradmix-sweep'); // this host's lock: the run lock itself decides by its process
  assert.ok(existsSync(lock));
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'gradmix-sweep-3-x7k2p', started: 'earlier', job: 'k8s:gradmix-sweep' }));
  takeOverForeignLock(out, 'k8s:other-sweep'); // another job's (a second submission, maybe live): left to the run lock
  assert.ok(existsSync(lock));
  takeOverForeignLock(out, ''); // not a scheduler's task of a job (whatever GRADMIX_SWEEP_JOB this process has)
  assert.ok(existsSync(lock));
  takeOverForeignLock(out, 'k8s:gradmix-sweep'); // a failed pod of this job's: gone
  assert.not.ok(existsSync(lock));
});

test('run --index trains and evaluates one run; a finished run is skipped', async () => {
  const out = join(dir, 'tiny');
  await sweepCommand(['plan', ...TINY, '--splits', '0,1', '--methods', 'none,gradmix', '--out', out]);
  tiny = join(out, 'plan.jsonl');
  const runs = readPlan(tiny);
  assert.is(runs.length, 4);
  await sweepCommand(['run', tiny, '--index', '0']);
  const file = join(out, runs[0].out, 'results.json');
  assert.is(results(tiny, runs[0]).status, 'finished');
  assert.ok(!existsSync(join(out, runs[0].out, LOCK_FILE)), 'the lock is released');
  const before = statSync(file).mtimeMs;
  await sweepCommand(['run', tiny, '--index', '0']);
  assert.is(statSync(file).mtimeMs, before, 'not run again');
  await rejects(() => sweepCommand(['run', tiny, '--index', '4']), /--index 4: the plan .* has runs 0\.\.3/);
  // Its runs have started: another plan may not replace it (the same one may be written again).
  await rejects(() => sweepCommand(['plan', ...TINY, '--splits', '0', '--out', out]), /holds another plan whose runs have started \(1 of 4\)/);
  await sweepCommand(['plan', ...TINY, '--splits', '0,1', '--methods', 'none,gradmix', '--out', out]);
});

test('two workers drain the plan; a killed run is retried by the other worker and finishes', async () => {
  const runs = readPlan(tiny);
  let killed = -1;
  let parent = 0;
  // Kill the first run process seen holding its run lock (a child of the pool, not the pool itself).
  const watch = setInterval(() => {
    if (killed >= 0) return;
    for (const r of runs.slice(1)) {
      const lock = join(tiny, '..', r.out, LOCK_FILE);
      if (!existsSync(lock)) continue;
      try {
        const pid = JSON.parse(readFileSync(lock, 'utf8')).pid as number;
        if (pid === parent) continue;
        process.kill(pid, 'SIGKILL');
        killed = r.index;
        return;
      } catch {
        // half-written lock: next tick
      }
    }
  }, 100);
  const r = await gradmix(['sweep', 'run', tiny, '--adapters', 'all', '--workers', '2'], (pid) => (parent = pid)).finally(() => clearInterval(watch));
  assert.is(r.code, 0, r.out);
  assert.ok(killed > 0, 'a run was killed');
  assert.match(r.out, /1 of 4 run\(s\) already finished/);
  assert.match(r.out, /2 worker\(s\) on \S/, 'pinned to the adapter Dawn lists'); // one CPU adapter here: both workers on it
  assert.match(r.out, new RegExp(`worker (\\d): run ${killed} .*crashed, killed by SIGKILL .*; another worker retries it`));
  const [, crashedOn] = new RegExp(`worker (\\d): run ${killed} .*crashed`).exec(r.out)!;
  assert.match(r.out, new RegExp(`worker ${crashedOn === '0' ? '1' : '0'}: run ${killed} .*, attempt 2`), 'retried by the other worker');
  assert.match(r.out, /sweep: 3 finished, 1 already finished, 0 held by other processes, 0 failed/);
  for (const run of runs) assert.is(results(tiny, run).status, 'finished', `run ${run.index}`);
});

test('a run that crashes twice is reported failed and the pool exits non-zero', async () => {
  const out = join(dir, 'broken');
  await sweepCommand(['plan', ...TINY, '--splits', '0', '--out', out]);
  const plan = join(out, 'plan.jsonl');
  const [run] = readPlan(plan);
  writeFileSync(plan, JSON.stringify({ ...run, options: { ...run.options, width: 0 } }) + '\n'); // a hand-edited plan gone wrong
  const r = await gradmix(['sweep', 'run', plan, '--workers', '2']);
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /run 0 .*crashed, exit status 1 .*another worker retries it/);
  assert.match(r.out, /1 run\(s\) failed: run 0, exit status 1/);
  assert.match(readFileSync(join(out, run.out, 'sweep-worker.log'), 'utf8'), /--width must be/);
  assert.ok(existsSync(join(out, run.out, FAILED_FILE)));
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));

test("report: mean and std of the runs' own results per protocol and method; runs without results listed", async () => {
  const out = join(tiny, '..');
  await sweepCommand(['report', out]);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  const runs = readPlan(tiny);
  assert.is(report.groups.length, 2);
  for (const method of ['none', 'gradmix']) {
    const own = runs.filter((r) => r.method === method).map((r) => results(tiny, r));
    const g = report.groups.find((x: { method: string }) => x.method === method);
    assert.is(g.runs, 2);
    assert.is(g.paperAuroc, method === 'gradmix' ? 99.8 : null, 'the paper reports GradMix only');
    for (const m of METRICS) {
      assert.ok(Math.abs(g.summary[m].mean - mean(own.map((o) => o[m]))) < 1e-12, `${method} ${m} mean`);
      assert.ok(Math.abs(g.summary[m].std - std(own.map((o) => o[m]))) < 1e-12, `${method} ${m} std`);
    }
  }
  assert.equal(report.missing, []);
  const csv = readFileSync(join(out, 'report.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, 3);
  assert.ok(csv[0].startsWith('protocol,method,runs,auroc_mean,auroc_std'), csv[0]);
  assert.ok(csv[0].endsWith(',paper_auroc,arch,width,epochs,objective,score,k'), csv[0]);
  const svg = readFileSync(join(out, 'report.svg'), 'utf8');
  assert.is((svg.match(/class="whisker"/g) ?? []).length, 2);
  assert.is((svg.match(/class="paper"/g) ?? []).length, 1);
  // A run without results is listed by state (failed, with why), and left out of the numbers.
  const last = runs[3];
  rmSync(join(out, last.out, 'results.json'));
  markFailed(join(out, last.out), 'killed by SIGKILL (log: x)', 2);
  // A crash leaves its lock behind too: the failure, which says why, is what the report shows;
  // a lock taken after the failure (a resume by hand) is the newer news (checked below).
  writeFileSync(join(out, last.out, LOCK_FILE), JSON.stringify({ pid: 4242, host: 'node-9', started: '2020-01-01T00:00:00.000Z' }));
  await sweepCommand(['report', tiny, '--out', join(dir, 'report2')]);
  const again = JSON.parse(readFileSync(join(dir, 'report2', 'report.json'), 'utf8'));
  assert.is(again.groups.find((x: { method: string }) => x.method === last.method).runs, 1);
  assert.equal(
    again.missing.map((m: { index: number; state: string; reason: string }) => [m.index, m.state, m.reason]),
    [[3, 'failed', 'killed by SIGKILL (log: x)']],
  );
  writeFileSync(join(out, last.out, LOCK_FILE), JSON.stringify({ pid: 4242, host: 'node-9', started: new Date(Date.now() + 1000).toISOString() }));
  assert.is(runState(join(out, last.out)), 'held', 'a lock taken after the failure');
});

test('a report of a plain folder of runs counts runs only: an eval/ folder beside a checkpoint is no missing run', async () => {
  const root = join(dir, 'folder-report');
  const run = join(root, 'mnist-mini-gradmix', 'split0');
  mkdirSync(join(run, 'eval'), { recursive: true });
  const metrics = { auroc: 0.9, tnr95: 0.5, dtacc: 0.8, auin: 0.9, auout: 0.9, closedAcc: 0.95 };
  writeFileSync(join(run, 'config.json'), '{}');
  writeFileSync(join(run, 'results.json'), JSON.stringify({ ...metrics, status: 'finished', protocol: 'mnist-mini', method: 'gradmix' }));
  writeFileSync(join(run, 'eval', 'results.json'), JSON.stringify({ ...metrics, protocol: 'mnist-mini' })); // gradmix eval's: no status
  const report = await reportFromFolder(root);
  assert.equal([report.groups.length, report.missing.length], [1, 0]);
});

const METRICS_OF = { auroc: 0.9, tnr95: 0.5, dtacc: 0.8, auin: 0.9, auout: 0.9, closedAcc: 0.95 };

/** A run folder as a finished run with `options` leaves it: its config.json and results.json (no training). */
function fakeFinished(out: string, options: Parameters<typeof resolveOptions>[0], auroc = 0.9): void {
  const o = resolveOptions({ ...options, out });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'config.json'), JSON.stringify(o));
  const { protocol, split, method, arch, width, epochs, k, objective, score } = o;
  writeFileSync(join(out, 'results.json'), JSON.stringify({ ...METRICS_OF, auroc, protocol, split, method, arch, width, epochs, k, objective, score, status: 'finished' }));
}

test("a finished run of other settings in a plan's folder is neither skipped nor counted: run, pool, report and plan name the setting and the folder", async () => {
  const sweep = join(dir, 'reused');
  await sweepCommand(['plan', ...TINY, '--splits', '0,1', '--methods', 'none', '--out', sweep]);
  const plan = join(sweep, 'plan.jsonl');
  const [r0, r1] = readPlan(plan);
  fakeFinished(runOut(plan, r0), { ...r0.options, width: 4 }); // an earlier grid's run, at width 4
  fakeFinished(runOut(plan, r1), r1.options);
  const e = await rejects(() => runPlanned(plan, r0), /--width 2 \(the run's width: 4\)/, new RegExp(`${runOut(plan, r0).replace(/[.]/g, '\\.')} holds a run of other settings`));
  assert.instance(e, OtherSettingsError);
  assert.is(await runPlanned(plan, r1), 'skipped', 'its own finished run is skipped');
  const report = await reportFromPlan(plan);
  assert.equal(
    report.groups.map((g) => g.runs),
    [1],
  );
  assert.equal(
    report.missing.map((m) => [m.index, m.state]),
    [[0, 'other settings']],
  );
  assert.match(report.missing[0].reason!, /--width 2 \(the run's width: 4\)/);
  const pooled = await runPool(plan, readPlan(plan), [{ name: '0' }], () => undefined);
  assert.equal([pooled.skipped, pooled.finished, pooled.failed.map((f) => f.index)], [[1], [], [0]]);
  // Evaluation settings are outside the fingerprint, inside the numbers: results of another score differ too.
  fakeFinished(runOut(plan, r0), { ...r0.options, score: 'nno' });
  await rejects(() => runPlanned(plan, r0), /--score knn \(the results': nno\)/);
  // A plan over those folders is refused, though the plan that wrote them is gone.
  rmSync(plan);
  await rejects(() => sweepCommand(['plan', ...TINY, '--splits', '0,1', '--methods', 'none', '--out', sweep]), /already holds a run of other settings than run 0 .*--score knn/);
  assert.not.ok(existsSync(plan));
  // A folder whose saved run cannot be read (no config.json, a cut checkpoint) is listed with why; the others still report.
  await writePlan(sweep, [r0, r1]);
  rmSync(join(runOut(plan, r0), 'config.json'));
  rmSync(join(runOut(plan, r0), 'results.json'));
  writeFileSync(join(runOut(plan, r0), CHECKPOINT_FILE), 'not a checkpoint');
  const damaged = await reportFromPlan(plan);
  assert.equal([damaged.groups.map((g) => g.runs), damaged.missing.map((m) => [m.index, m.state])], [[1], [[0, 'unreadable']]]);
  assert.match(damaged.missing[0].reason!, /its saved run cannot be read: .*checkpoint\.safetensors/);
});

test('the report averages only runs of one protocol, method and settings, and lists started and held runs', async () => {
  const root = join(dir, 'mixed-report');
  const base = { protocol: 'mnist-mini', method: 'gradmix' as const, batchSize: 8, epochs: 1 };
  fakeFinished(join(root, 'w2', 'split0'), { ...base, split: 0, width: 2 }, 0.8);
  fakeFinished(join(root, 'w2', 'split1'), { ...base, split: 1, width: 2 }, 0.9);
  fakeFinished(join(root, 'w4', 'split0'), { ...base, split: 0, width: 4 }, 0.5);
  const started = join(root, 'w4', 'split1');
  mkdirSync(started, { recursive: true });
  writeFileSync(join(started, 'config.json'), JSON.stringify(resolveOptions({ ...base, split: 1, width: 4, out: started })));
  const held = join(root, 'w4', 'split2');
  mkdirSync(held, { recursive: true });
  writeFileSync(join(held, 'config.json'), JSON.stringify(resolveOptions({ ...base, split: 2, width: 4, out: held })));
  writeFileSync(join(held, LOCK_FILE), JSON.stringify({ pid: 4242, host: 'node-9', started: 'earlier', job: 'slurm:77' }));
  const report = await reportFromFolder(root);
  assert.equal(
    report.groups.map((g) => [g.width, g.runs, Number(g.summary.auroc.mean.toFixed(6))]),
    [
      [2, 2, 0.85],
      [4, 1, 0.5],
    ],
  );
  assert.equal(
    report.missing.map((m) => [relative(root, m.out), m.state, m.holder]),
    [
      [join('w4', 'split1'), 'started', undefined],
      [join('w4', 'split2'), 'held', { pid: 4242, host: 'node-9', job: 'slurm:77' }],
    ],
  );
  const md = reportMarkdown(report, root);
  assert.match(md, /\| protocol \| method \| width \| runs \|/, 'the setting that differs is a column');
  assert.match(md, /held by pid 4242 on node-9, job slurm:77/);
});

test("a run stopped by SIGTERM outside training releases its lock and exits 143; inside, the epoch loop's own stop saves a checkpoint", async () => {
  const sweep = join(dir, 'sigterm');
  await sweepCommand(['plan', '--protocol', 'mnist-mini', '--width', '2', '--batch', '8', '--max-train', '16', '--epochs', '400', '--quiet', '--splits', '0,1', '--out', sweep]);
  const plan = join(sweep, 'plan.jsonl');
  const [r0, r1] = readPlan(plan);
  /** Runs `run`, sending SIGTERM once `ready` holds for its folder. */
  const stopWhen = async (run: PlannedRun, ready: (out: string) => boolean) => {
    const out = runOut(plan, run);
    let timer: NodeJS.Timeout | undefined;
    const r = await gradmix(['sweep', 'run', plan, '--index', String(run.index)], (pid) => {
      timer = setInterval(() => {
        if (!ready(out)) return;
        process.kill(pid, 'SIGTERM');
        clearInterval(timer);
      }, 5);
    }).finally(() => clearInterval(timer));
    return { ...r, folder: out };
  };
  // At once when the lock is taken: the data and the GPU are still loading.
  const early = await stopWhen(r0, (out) => existsSync(join(out, LOCK_FILE)));
  assert.is(early.code, 143, early.out);
  assert.match(early.out, /terminated outside training/);
  assert.not.ok(existsSync(join(early.folder, LOCK_FILE)), 'the lock is released');
  // During training (a step logged): the epoch loop stops after its step and saves; the lock goes with it.
  const log = (out: string) => join(out, 'log.jsonl');
  const late = await stopWhen(r1, (out) => existsSync(log(out)) && readFileSync(log(out), 'utf8').includes('"kind":"step"'));
  assert.is(late.code, 130, late.out);
  assert.match(late.out, /Rerun the same command to continue/, 'a sweep run resumes when run again: no --resume to give');
  assert.not.match(late.out, /Continue with --resume/);
  assert.match(readFileSync(log(late.folder), 'utf8'), /"status":"interrupted"/);
  assert.ok(existsSync(join(late.folder, CHECKPOINT_FILE)), 'a checkpoint saved');
  assert.not.ok(existsSync(join(late.folder, LOCK_FILE)), 'the lock is released');
});

test("a pool started inside a scheduler's task hands its children none of the task's variables: a child running the task's index takes over no lock of the job", async () => {
  const env = childEnv({ name: '1', adapter: 'A' }, { PATH: '/bin', SLURM_ARRAY_TASK_ID: '3', JOB_COMPLETION_INDEX: '3', GRADMIX_SWEEP_JOB: 'slurm:9' });
  assert.equal(env, { PATH: '/bin', GRADMIX_SWEEP_WORKER: '1', GRADMIX_ADAPTER: 'A' });
  const sweep = join(dir, 'pool-in-task');
  await sweepCommand(['plan', ...TINY, '--splits', '0', '--methods', 'none', '--out', sweep]);
  const [run] = readPlan(join(sweep, 'plan.jsonl'));
  const lock = join(sweep, run.out, LOCK_FILE);
  makeFolder(join(sweep, run.out));
  // Another node of this very job trains run 0 (maybe live): this node's pool must leave it alone.
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'node-17', started: 'earlier', job: 'slurm:9' }));
  const r = await gradmix(['sweep', 'run', sweep, '--workers', '1'], undefined, { SLURM_ARRAY_TASK_ID: '0', GRADMIX_SWEEP_JOB: 'slurm:9' });
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /0 finished, 0 already finished, 1 held by other processes/);
  assert.ok(existsSync(lock), 'the other node keeps its lock');
});

test("a pool's child that finds its run finished says so (exit 3), apart from a run it trained; a plan is replaced whole", async () => {
  const [run] = readPlan(tiny);
  const asChild = await gradmix(['sweep', 'run', tiny, '--index', String(run.index)], undefined, { GRADMIX_SWEEP_WORKER: '0' });
  assert.is(asChild.code, 3, asChild.out);
  assert.match(asChild.out, /was finished already: nothing trained/);
  const byHand = await gradmix(['sweep', 'run', tiny, '--index', String(run.index)]);
  assert.is(byHand.code, 0, byHand.out);
  // Renamed into place: a task reading the plan meanwhile holds the old file, never a cut one.
  const file = join(dir, 'atomic', 'plan.jsonl');
  mkdirSync(join(dir, 'atomic'), { recursive: true });
  await writePlan(join(dir, 'atomic'), readPlan(tiny));
  const before = statSync(file).ino;
  await writePlan(join(dir, 'atomic'), readPlan(tiny));
  assert.is.not(statSync(file).ino, before, 'a new file, not the old one rewritten');
  assert.equal(readPlan(file), readPlan(tiny));
});

test('slurm: a plan over the array limit gives each task every N-th run; --stride runs them in turn', async () => {
  const script = slurmScript('/s/plan.jsonl', '/s', 2500, { gpusPerTask: 1, time: '1:00:00', gradmix: 'gradmix' });
  assert.ok(script.split('\n').includes('#SBATCH --array=0-999'), script);
  assert.match(script, /--index "\$SLURM_ARRAY_TASK_ID" --stride 1000\n$/);
  // Up to 3 runs a task: 3 times the time of one, or Slurm ends the task before its last run.
  assert.ok(script.split('\n').includes('#SBATCH --time=0-03:00:00'), script);
  const four = slurmScript('/s/plan.jsonl', '/s', 4, { gpusPerTask: 1, time: '1-20:30:15', gradmix: 'gradmix', arrayLimit: 3 });
  assert.ok(four.includes('#SBATCH --array=0-2\n') && four.includes('#SBATCH --time=3-17:00:30\n'), four);
  // Slurm's forms: minutes, minutes:seconds, hours:minutes:seconds, days-hours[:minutes[:seconds]].
  assert.equal(['90', '90:30', '2:00:05', '1-2', '1-2:03', '1-2:03:04'].map(slurmSeconds), [5400, 5430, 7205, 93600, 93780, 93784]);
  assert.ok(slurmScript('/s/plan.jsonl', '/s', 3, { gpusPerTask: 1, time: '90', gradmix: 'gradmix' }).includes('#SBATCH --time=90\n'), 'one run a task: the limit as given');
  const r = await gradmix(['sweep', 'run', tiny, '--index', '0', '--stride', '2']); // runs 0 and 2, both finished
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /run 0 .*already finished[^]*run 2 .*already finished/);
  assert.not.match(r.out, /run [13] /);
  await rejects(() => sweepCommand(['run', tiny, '--workers', '1', '--stride', '2']), /--stride needs --index/);
});

test('slurm: a job array of one task per run; k8s: an Indexed Job with the fields it must set', async () => {
  const out = join(tiny, '..');
  await sweepCommand(['slurm', tiny, '--gpus-per-task', '1', '--time', '01:30:00', '--partition', 'gpu', '--cpus-per-task', '4']);
  const script = readFileSync(join(out, 'sweep.sbatch'), 'utf8');
  assert.ok(script.startsWith('#!/bin/bash\n'));
  for (const line of [
    '#SBATCH --array=0-3',
    '#SBATCH --time=01:30:00',
    '#SBATCH --ntasks=1',
    '#SBATCH --gpus-per-task=1',
    '#SBATCH --partition=gpu',
    '#SBATCH --cpus-per-task=4',
    `#SBATCH --output=${out}/slurm-logs/%A_%a.out`,
  ]) {
    assert.ok(script.split('\n').includes(line), `${line} in\n${script}`);
  }
  assert.match(script, new RegExp(`sweep run ${tiny.replace(/[.]/g, '\\.')} --index "\\$SLURM_ARRAY_TASK_ID"\\n$`));
  await rejects(() => sweepCommand(['slurm', tiny, '--time', 'soon']), /--time must be \[days-\]hours:minutes:seconds/);

  await rejects(() => sweepCommand(['k8s', tiny]), /--image <container image> is required/);
  await sweepCommand(['k8s', tiny, '--image', 'registry.example/gradmix:1', '--gpus', '1', '--parallelism', '2']);
  const yaml = readFileSync(join(out, 'sweep-job.yaml'), 'utf8');
  const lines = yaml.split('\n');
  const at = (key: string, indent: number) =>
    lines
      .find((l) => l.startsWith(`${' '.repeat(indent)}${key}:`))
      ?.slice(indent + key.length + 1)
      .trim();
  assert.is(at('apiVersion', 0), 'batch/v1');
  assert.is(at('kind', 0), 'Job');
  assert.is(at('completionMode', 2), 'Indexed');
  assert.is(at('completions', 2), '4');
  assert.is(at('parallelism', 2), '2');
  assert.is(at('restartPolicy', 6), 'Never');
  assert.match(yaml, /command:\n\s+- gradmix\n\s+- sweep\n\s+- run\n\s+- \/sweep\/plan\.jsonl\n\s+- "--index"\n\s+- env\n/);
  assert.match(yaml, /nvidia\.com\/gpu: 1/);
  assert.is(at('podReplacementPolicy', 2), 'Failed');
  assert.is(at('backoffLimitPerIndex', 2), '1');
  assert.is(at('maxFailedIndexes', 2), '4');
  // Vulkan (Dawn's way to the GPU) needs the runtime's graphics capability.
  assert.match(yaml, /env:\n\s+- name: NVIDIA_DRIVER_CAPABILITIES\n\s+value: all\n/);
  // The job's locks are named by the Job's uid: a Job applied again under its name is another job.
  assert.match(
    yaml,
    /- name: GRADMIX_JOB_UID\n\s+valueFrom:\n\s+fieldRef:\n\s+fieldPath: "metadata\.labels\['batch\.kubernetes\.io\/controller-uid'\]"\n\s+- name: GRADMIX_SWEEP_JOB\n\s+value: "k8s:\$\(GRADMIX_JOB_UID\)"\n/,
  );
  // A preempted or SIGTERM'd pod (its checkpoint saved) is retried without using up the index's retry.
  assert.match(
    yaml,
    /podFailurePolicy:\n\s+rules:\n\s+- action: Ignore\n\s+onPodConditions:\n\s+- type: DisruptionTarget\n\s+- action: Ignore\n\s+onExitCodes:\n\s+containerName: gradmix\n\s+operator: In\n\s+values:\n\s+- 130\n\s+- 143\n/,
  );
  assert.ok(script.includes('export GRADMIX_SWEEP_JOB="slurm:$SLURM_ARRAY_JOB_ID"\n'), 'the array job names its locks');
  assert.match(yaml, /persistentVolumeClaim:\n\s+claimName: gradmix-sweep/);
  assert.ok(readdirSync(out).includes('sweep-job.yaml'));
});

test.run();
