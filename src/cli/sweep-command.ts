// `gradmix sweep plan|run|report|slurm|k8s`: a grid of runs (protocols x methods x seeds x splits)
// as a plan file, run by index (a Slurm array task, a Kubernetes pod) or by a pool of local workers
// (one per adapter), and reported as mean +- std beside the paper.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { FOLDER_PROTOCOL, PROTOCOL_NAMES } from '../data/index.js';
import { METHODS, defaultOptions } from '../train/options.js';
import { UsageError, listFlag, numberFlag, parseCommandLine, usage, type FlagSpecs } from './args.js';
import { TRAIN_FLAGS, trainOptionsFrom } from './commands.js';
import { outFlag } from './common-flags.js';
import { int, intList, listOf, text } from './flag-values.js';
import { checkTrainOptions } from './option-flags.js';
import { refuseOwnDataFlags } from './run-config.js';
import { PLAN_FILE, buildPlan, planFileOf, readPlan, writePlan, type PlannedRun } from '../sweep/plan.js';
import { INDEX_ENV, RunClaimedError, describeRun, runPlanned } from '../sweep/run-one.js';
import { CLAIMED_EXIT, OTHER_SETTINGS_EXIT, SKIPPED_EXIT, WORKER_ENV, gradmixBin, runPool, type WorkerSlot } from '../sweep/pool.js';
import { OtherSettingsError, plannedRunDiffers } from '../sweep/run-settings.js';
import { allAdapters, listAdapters } from '../sweep/adapters.js';
import { reportCsv, reportFromFolder, reportFromPlan, reportMarkdown } from '../sweep/report.js';
import { aurocChartSvg } from '../sweep/chart.js';
import { SLURM_ARRAY_LIMIT, k8sJob, shellQuote, slurmScript, slurmSeconds, toYaml } from '../sweep/schedulers.js';

const d = defaultOptions();
export { INDEX_ENV };

// Every train flag but those the grid sets per run and those a sweep run sets itself; your own
// image folder's (--known, --size, ...) too: its grid is methods x seeds over its one split.
const NOT_PLANNED = ['split', 'seed', 'method', 'out', 'resume', 'no-eval', 'all-classes'];
const PLAN_FLAGS: FlagSpecs = Object.fromEntries(Object.entries(TRAIN_FLAGS).filter(([n]) => !NOT_PLANNED.includes(n)));
Object.assign(PLAN_FLAGS, {
  protocol: { type: 'string', value: listOf(PROTOCOL_NAMES), help: `protocols, comma-separated: ${PROTOCOL_NAMES.join(', ')} (default mnist-mini; with --known, your own image folder)` },
  splits: { type: 'string', value: intList(0, 4), help: 'splits, comma-separated (default 0,1,2,3,4; an image folder has one, 0)' },
  methods: { type: 'string', value: listOf(METHODS), help: `methods, comma-separated: ${METHODS.join(', ')} (default ${d.method})` },
  seeds: { type: 'string', value: intList(0, 2 ** 32 - 1), help: `random seeds, comma-separated (default ${d.seed})` },
  out: outFlag('the sweep folder: plan.jsonl, and one <protocol>-<method>-s<seed>/split<k> folder per run (required)'),
});

const RUN_FLAGS: FlagSpecs = {
  index: { type: 'string', value: text, help: `run only the run of this index (0-based), or 'env': from ${INDEX_ENV.join(' or ')} (default: from those when set, else every run with a worker pool)` },
  adapters: {
    type: 'string',
    value: text,
    help: "one worker per adapter: 'all' (every GPU Dawn lists; the CPU renderer only where there is none) or their numbers in Dawn's list, comma-separated (default: the default adapter)",
  },
  workers: { type: 'string', value: int(1, 64), help: 'worker processes, spread over --adapters (default: one per adapter)' },
  stride: { type: 'string', value: int(1), help: 'with --index: also run index+N, index+2N, ... in turn (a Slurm array of fewer tasks than runs; default: the index only)' },
};

const REPORT_FLAGS: FlagSpecs = {
  out: outFlag("folder for report.json, report.csv and report.svg (default: the plan's folder, or the folder given)"),
};

const SLURM_FLAGS: FlagSpecs = {
  'gpus-per-task': { type: 'string', value: int(0), help: 'GPUs per array task (default 1)' },
  time: { type: 'string', value: text, help: 'time limit of one run, [days-]hours:minutes:seconds (default 04:00:00); a task running several runs (--array-limit) gets that many times it' },
  partition: { type: 'string', value: text, help: "Slurm partition (default: the cluster's)" },
  'cpus-per-task': { type: 'string', value: int(1), help: "CPU cores per task (default: the cluster's)" },
  parallel: { type: 'string', value: int(1), help: 'array tasks running at once (default: no limit)' },
  'array-limit': {
    type: 'string',
    value: int(1),
    help: `most array tasks; a larger plan gives each task every N-th run (default ${SLURM_ARRAY_LIMIT}, under Slurm's default MaxArraySize 1001)`,
  },
  gradmix: { type: 'string', value: text, help: 'the command that runs gradmix on the nodes (default: this installation, by absolute path)' },
};

const K8S_FLAGS: FlagSpecs = {
  image: { type: 'string', value: text, help: 'container image with gradmix installed, as `gradmix` on its PATH (required)' },
  gpus: { type: 'string', value: int(0), help: 'GPUs per pod, nvidia.com/gpu (default 1)' },
  parallelism: { type: 'string', value: int(1), help: 'pods running at once (default: every run)' },
  claim: { type: 'string', value: text, help: 'PersistentVolumeClaim holding the sweep folder (default gradmix-sweep)' },
  mount: { type: 'string', value: text, help: 'where the pods mount it (default /sweep)' },
  name: { type: 'string', value: text, help: "the Job's name (default gradmix-sweep)" },
};

const SUBCOMMANDS: Record<string, { flags: FlagSpecs; summary: string; args: string; run: (v: Record<string, string | boolean | undefined>, positionals: string[]) => Promise<void> }> = {
  plan: { flags: PLAN_FLAGS, args: '', summary: 'Writes a sweep plan (plan.jsonl in --out): every protocol x method x seed x split, with the train flags given.', run: planCommand },
  run: {
    flags: RUN_FLAGS,
    args: '<plan>',
    summary: 'Runs a plan: one run (--index), or all of them with one worker per adapter. A finished run is skipped, a started one resumes; the run lock keeps two workers off one run.',
    run: runCommand,
  },
  report: {
    flags: REPORT_FLAGS,
    args: '<plan or folder>',
    summary: "Mean +- std over splits and seeds per protocol and method, beside the paper's AUROC; runs without results listed. Markdown here, report.json, report.csv and report.svg written.",
    run: reportCommand,
  },
  slurm: { flags: SLURM_FLAGS, args: '<plan>', summary: 'Writes sweep.sbatch beside the plan: a Slurm job array, one task per run.', run: slurmCommand },
  k8s: { flags: K8S_FLAGS, args: '<plan>', summary: 'Writes sweep-job.yaml beside the plan: a Kubernetes Indexed Job, one completion index per run.', run: k8sCommand },
};

function sweepHelp(): string {
  const rows = Object.entries(SUBCOMMANDS).map(([n, s]) => `  gradmix sweep ${`${n} ${s.args}`.padEnd(24)} ${s.summary}`);
  return `usage: gradmix sweep <plan|run|report|slurm|k8s> [flags]   (gradmix sweep <subcommand> --help for its flags)\n\n${rows.join('\n')}`;
}

export async function sweepCommand(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') return console.log(sweepHelp());
  const sub = SUBCOMMANDS[name];
  if (!sub) throw new UsageError(`unknown subcommand '${name}'; use one of ${Object.keys(SUBCOMMANDS).join(', ')}`);
  try {
    const { values, positionals } = parseCommandLine(rest, sub.flags, sub.args !== '');
    if (values.help) return console.log(usage(`sweep ${name}${sub.args ? ` ${sub.args}` : ''}`, sub.summary, sub.flags));
    if (sub.args && positionals.length !== 1) throw new UsageError(`sweep ${name} takes one ${sub.args}, got ${positionals.length ? positionals.join(' ') : 'none'}`);
    await sub.run(values, positionals);
  } catch (e) {
    // The subcommand's --help lists its flags; gradmix sweep --help only the subcommands.
    if (e instanceof UsageError) e.helpCommand ??= `sweep ${name}`;
    throw e;
  }
}

async function planCommand(v: Record<string, string | boolean | undefined>): Promise<void> {
  if (typeof v.out !== 'string') throw new UsageError('sweep plan: --out <folder> is required (the sweep folder)');
  const shared = trainOptionsFrom({ ...v, protocol: undefined });
  // Paths are the planner's: workers start elsewhere (a scheduler's node, another folder), so the
  // plan holds them absolute, resolved where the plan was written.
  for (const key of ['dataDir', 'unknownDataDir', 'attentionModel'] as const) if (shared[key] !== undefined) shared[key] = resolve(shared[key]);
  // --known makes --data your own image folder (as for train), whose one split is its held-out images.
  const own = shared.known !== undefined;
  const grid = {
    protocols: listFlag(v, 'protocol') ?? [own ? FOLDER_PROTOCOL : 'mnist-mini'],
    splits: listFlag(v, 'splits')?.map(Number) ?? (own ? [0] : [0, 1, 2, 3, 4]),
    methods: listFlag(v, 'methods') ?? [d.method],
    seeds: listFlag(v, 'seeds')?.map(Number) ?? [d.seed],
  };
  if (own && grid.splits.some((s) => s !== 0)) throw new UsageError(`--splits ${grid.splits.join(',')}: an image folder (--known) has one split, its held-out images; drop --splits`);
  for (const protocol of grid.protocols) refuseOwnDataFlags(v, protocol);
  const runs = buildPlan(grid, shared);
  // Every run's settings checked now (e.g. a split the protocol lacks), not when its turn comes.
  for (const r of runs) {
    try {
      checkTrainOptions({ ...r.options, out: join(v.out, r.out) });
    } catch (e) {
      throw new UsageError(`run ${r.index} (${r.protocol} split ${r.split}, ${r.method}, seed ${r.seed}): ${(e as Error).message}`);
    }
  }
  // A plan whose runs have started is not replaced by another: its indices would then name other
  // runs for the workers and array tasks still reading it.
  const existing = join(v.out, PLAN_FILE);
  if (existsSync(existing)) {
    const old = readPlan(existing);
    const changed = old.length !== runs.length || old.some((r, i) => r.out !== runs[i].out || JSON.stringify(r.options) !== JSON.stringify(runs[i].options));
    const dir = v.out;
    const started = old.filter((r) => existsSync(join(dir, r.out)));
    if (changed && started.length) {
      throw new UsageError(`${existing} holds another plan whose runs have started (${started.length} of ${old.length}); choose another --out, or delete that sweep folder first`);
    }
  }
  // Run folders left by another grid (its plan.jsonl deleted, a folder reused): their results would
  // count as this plan's, so a run of other settings in a folder of this grid is refused now.
  const dir = resolve(v.out);
  for (const r of runs) {
    const out = join(dir, r.out);
    const other = await plannedRunDiffers(join(dir, PLAN_FILE), r);
    // A folder whose run cannot be read is refused too: the plan would adopt it unseen.
    if (other?.unreadable) throw new UsageError(`${out} (${describeRun(r)}): ${other.differ.join(', ')}; repair or move that folder away first, or choose another --out`);
    if (other) {
      throw new UsageError(`${out} already holds a run of other settings than ${describeRun(r)} (${other.source}): ${other.differ.join(', ')}; choose another --out, or move that folder away first`);
    }
  }
  mkdirSync(v.out, { recursive: true });
  const file = await writePlan(v.out, runs);
  console.log(`wrote ${file}: ${runs.length} run(s) (${grid.protocols.length} protocol(s) x ${grid.methods.length} method(s) x ${grid.seeds.length} seed(s) x ${grid.splits.length} split(s))`);
  console.log(`run them: gradmix sweep run ${file} --adapters all   (or gradmix sweep slurm / k8s ${file}); then gradmix sweep report ${v.out}`);
}

/** The index a task runs: --index N, --index env, or (without --index) the scheduler's variable when set. */
export function taskIndex(given: string | undefined, env: NodeJS.ProcessEnv = process.env): number | null {
  const fromEnv = INDEX_ENV.find((n) => env[n] !== undefined && env[n] !== '');
  if (given === undefined && !fromEnv) return null;
  const [raw, source] = given === undefined || given === 'env' ? [fromEnv ? env[fromEnv]! : undefined, fromEnv ?? INDEX_ENV.join(' / ')] : [given, '--index'];
  if (raw === undefined) throw new UsageError(`--index env: neither ${INDEX_ENV.join(' nor ')} is set`);
  if (!/^\d+$/.test(raw)) throw new UsageError(`${source} must be a run index (a non-negative integer), got '${raw}'`);
  return Number(raw);
}

async function adapterSlots(adapters: string | undefined, workers: number | undefined): Promise<WorkerSlot[]> {
  let names: (string | undefined)[] = [undefined];
  if (adapters !== undefined) {
    const listed = await listAdapters();
    names =
      adapters === 'all'
        ? allAdapters(listed)
        : adapters.split(',').map((p) => {
            const i = /^\d+$/.test(p.trim()) ? Number(p) : NaN;
            if (!(i >= 0 && i < listed.length))
              throw new UsageError(`--adapters: '${p}' is not 'all' or an adapter number 0..${listed.length - 1}; the adapters: ${listed.map((a, n) => `${n}: ${a.name} (${a.backend})`).join(', ')}`);
            return listed[i].name;
          });
    // Dawn picks an adapter by its name: identical cards (one name, one backend) are one to it.
    const keys = listed.map((a) => `${a.backend}\u0000${a.name}`);
    const shared = [...new Set(listed.filter((a, i) => keys.indexOf(keys[i]) !== i && names.includes(a.name)).map((a) => a.name))];
    if (shared.length)
      console.error(
        `note: adapters named ${shared.map((n) => `'${n}'`).join(', ')} appear more than once; Dawn picks adapters by name, so their workers all run on the first of them (on a cluster, the scheduler's GPU binding gives each task its own card)`,
      );
  }
  const count = workers ?? names.length;
  return Array.from({ length: count }, (_, i) => ({ name: String(i), adapter: names[i % names.length] }));
}

async function runCommand(v: Record<string, string | boolean | undefined>, [path]: string[]): Promise<void> {
  const planFile = resolve(planFileOf(path));
  const runs = readPlan(planFile);
  const pool = v.adapters !== undefined || v.workers !== undefined;
  const index = pool && v.index === undefined ? null : taskIndex(v.index as string | undefined);
  const stride = numberFlag(v, 'stride');
  if (index !== null) {
    if (pool) throw new UsageError('--index runs one run in this process; --adapters and --workers start a pool for all of them: give one or the other');
    if (!runs[index]) throw new UsageError(`--index ${index}: the plan ${planFile} has runs 0..${runs.length - 1}`);
    // The scheduler's own index makes this a task of the job in GRADMIX_SWEEP_JOB, which may take
    // over that job's stale locks (a pool's children lose the scheduler's variables: pool.ts).
    const schedulerTask = INDEX_ENV.some((n) => process.env[n] === String(index));
    const indices = stride ? Array.from({ length: Math.ceil((runs.length - index) / stride) }, (_, i) => index + i * stride) : [index];
    return runIndices(planFile, runs, indices, schedulerTask);
  }
  if (stride !== undefined) throw new UsageError('--stride needs --index (or a scheduler index): it runs every N-th run from there');
  const slots = await adapterSlots(v.adapters as string | undefined, numberFlag(v, 'workers'));
  console.log(`sweep: ${runs.length} run(s) of ${planFile}, ${slots.length} worker(s)${slots[0].adapter ? ` on ${[...new Set(slots.map((s) => s.adapter))].join(', ')}` : ''}`);
  const r = await runPool(planFile, runs, slots);
  console.log(
    `sweep: ${r.finished.length} finished, ${r.skipped.length} already finished, ${r.elsewhere.length} held by other processes, ${r.failed.length} failed${r.interrupted ? '; interrupted (run the same command to continue)' : ''}`,
  );
  if (r.failed.length) throw new Error(`${r.failed.length} run(s) failed: ${r.failed.map((f) => `run ${f.index}, ${f.reason}`).join('; ')}`);
  // Stopped by Ctrl-C: exit 130 as a single run does, so `sweep run ... && sweep report ...` stops too.
  if (r.interrupted) throw Object.assign(new Error('interrupted; run the same command to continue'), { exitStatus: 130 });
}

/** Runs `indices` in turn in this process; a run held elsewhere or failed does not stop the others. */
async function runIndices(planFile: string, runs: PlannedRun[], indices: number[], schedulerTask: boolean): Promise<void> {
  const statusOf = (e: unknown) => (e instanceof RunClaimedError ? CLAIMED_EXIT : e instanceof OtherSettingsError ? OTHER_SETTINGS_EXIT : undefined);
  const errors: { index: number; error: Error }[] = [];
  let skipped = 0;
  for (const i of indices) {
    try {
      const outcome = await runPlanned(planFile, runs[i], schedulerTask);
      if (outcome === 'interrupted') {
        // Its checkpoint saved: main exits 130 (a stop, not a failure), the rest wait for the next
        // task; runs that failed before it are named again, as the status no longer says so.
        if (errors.length) console.error(`interrupted after ${errors.length} run(s) not done: ${errors.map((f) => `run ${f.index}: ${f.error.message}`).join('; ')}`);
        return;
      }
      if (outcome === 'skipped') skipped++;
    } catch (e) {
      if (indices.length === 1) {
        const exitStatus = statusOf(e);
        throw exitStatus === undefined ? e : Object.assign(e as Error, { exitStatus });
      }
      console.error(`${describeRun(runs[i])}: ${(e as Error).message}`);
      errors.push({ index: i, error: e as Error });
    }
  }
  if (errors.length) {
    const failed = errors.filter((f) => statusOf(f.error) !== CLAIMED_EXIT);
    const all = errors.map((f) => `run ${f.index}: ${f.error.message}`).join('; ');
    // Runs only held by other live processes are theirs: the task says so (75), as for one run.
    throw Object.assign(new Error(`${errors.length} of ${indices.length} run(s) not done: ${all}`), { exitStatus: failed.length ? 1 : CLAIMED_EXIT });
  }
  // A pool's child says it trained nothing, so the pool counts the run as already finished.
  if (skipped === indices.length && indices.length === 1 && process.env[WORKER_ENV] !== undefined) {
    throw Object.assign(new Error(`${describeRun(runs[indices[0]])} was finished already: nothing trained`), { exitStatus: SKIPPED_EXIT });
  }
}

async function reportCommand(v: Record<string, string | boolean | undefined>, [path]: string[]): Promise<void> {
  const isFolder = statSync(path, { throwIfNoEntry: false })?.isDirectory();
  let planFile: string | null = null;
  try {
    planFile = planFileOf(path);
  } catch (e) {
    if (!isFolder) throw e; // a folder without plan.jsonl: every results.json under it
  }
  const report = planFile ? await reportFromPlan(planFile) : await reportFromFolder(path);
  const out = (v.out as string | undefined) ?? (planFile ? dirname(planFile) : path);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(out, 'report.csv'), reportCsv(report));
  writeFileSync(join(out, 'report.svg'), aurocChartSvg(report.groups));
  console.log(reportMarkdown(report));
  console.log(`wrote ${join(out, 'report.json')}, report.csv and report.svg`);
}

function planAndRuns(path: string): { planFile: string; runs: PlannedRun[] } {
  const planFile = resolve(planFileOf(path));
  return { planFile, runs: readPlan(planFile) };
}

async function slurmCommand(v: Record<string, string | boolean | undefined>, [path]: string[]): Promise<void> {
  const { planFile, runs } = planAndRuns(path);
  const time = (v.time as string | undefined) ?? '04:00:00';
  try {
    slurmSeconds(time);
  } catch {
    throw new UsageError(`--time must be [days-]hours:minutes:seconds, e.g. 04:00:00 or 1-00:00:00, got '${time}'`);
  }
  const dir = dirname(planFile);
  const arrayLimit = numberFlag(v, 'array-limit') ?? SLURM_ARRAY_LIMIT;
  const script = slurmScript(planFile, dir, runs.length, {
    arrayLimit,
    gpusPerTask: numberFlag(v, 'gpus-per-task') ?? 1,
    time,
    partition: v.partition as string | undefined,
    cpusPerTask: numberFlag(v, 'cpus-per-task'),
    parallel: numberFlag(v, 'parallel'),
    gradmix: (v.gradmix as string | undefined) ?? [process.execPath, gradmixBin()].map(shellQuote).join(' '),
  });
  mkdirSync(join(dir, 'slurm-logs'), { recursive: true });
  const file = join(dir, 'sweep.sbatch');
  writeFileSync(file, script, { mode: 0o755 });
  const tasks = Math.min(runs.length, arrayLimit);
  if (runs.length > tasks) {
    console.error(
      `note: ${runs.length} runs are more than --array-limit ${arrayLimit} array tasks (sbatch refuses arrays beyond the cluster's MaxArraySize, 1001 by default): each of the ${tasks} tasks runs every ${tasks}-th run in turn, with --time ${time} per run (check the partition's MaxTime: sinfo -o '%P %l'); where MaxArraySize is larger (scontrol show config | grep MaxArraySize), raise --array-limit to it minus 1`,
    );
  }
  console.log(`wrote ${file}: a job array of ${tasks} task(s) for ${runs.length} run(s); submit it with sbatch ${file}, then gradmix sweep report ${dir}`);
}

async function k8sCommand(v: Record<string, string | boolean | undefined>, [path]: string[]): Promise<void> {
  const { planFile, runs } = planAndRuns(path);
  if (typeof v.image !== 'string') throw new UsageError('sweep k8s: --image <container image> is required (an image with gradmix installed)');
  const mount = (v.mount as string | undefined) ?? '/sweep';
  if (!mount.startsWith('/')) throw new UsageError(`--mount must be an absolute path in the container, got '${mount}'`);
  const name = (v.name as string | undefined) ?? 'gradmix-sweep';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new UsageError(`--name must be a Kubernetes name (lower-case letters, digits, '-'), got '${name}'`);
  // The sweep folder is the volume: the plan sits at its root in every pod.
  const job = k8sJob(posix.join(mount, basename(planFile)), runs.length, {
    image: v.image,
    gpus: numberFlag(v, 'gpus') ?? 1,
    parallelism: numberFlag(v, 'parallelism') ?? runs.length,
    claim: (v.claim as string | undefined) ?? 'gradmix-sweep',
    mountPath: mount,
    name,
  });
  const file = join(dirname(planFile), 'sweep-job.yaml');
  writeFileSync(
    file,
    `# gradmix sweep: ${runs.length} run(s); copy this folder to the volume ${(v.claim as string | undefined) ?? 'gradmix-sweep'}, then kubectl apply -f sweep-job.yaml\n${toYaml(job)}`,
  );
  console.log(`wrote ${file}: an Indexed Job of ${runs.length} completion(s); kubectl apply -f ${file}, then gradmix sweep report on the volume's folder`);
}
