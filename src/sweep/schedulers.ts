// Scripts for the schedulers researchers already run grids on: a Slurm job array (one array task
// per run, or every N-th run per task for grids over the array limit) and a Kubernetes Indexed Job
// (one completion index per run). Each task runs
// `gradmix sweep run <plan> --index <its index>`; the plan's folder, on storage every node sees, is
// all that is shared (runs lock and finish there, the report reads it).
export interface SlurmOptions {
  gpusPerTask: number;
  /** Time limit of one run, in Slurm's format; a task running several runs gets that many times it. */
  time: string;
  partition?: string;
  cpusPerTask?: number;
  /** Array tasks running at once (%N), unlimited when absent. */
  parallel?: number;
  /** The command that runs gradmix on the nodes. */
  gradmix: string;
  /** Most array tasks (SLURM_ARRAY_LIMIT when absent); a larger plan gives each task every N-th run. */
  arrayLimit?: number;
}

/** Slurm's default MaxArraySize is 1001 (indices 0..1000): sbatch refuses a larger array. */
export const SLURM_ARRAY_LIMIT = 1000;

/** Seconds of a Slurm time limit: minutes, minutes:seconds, hours:minutes:seconds, or days-hours[:minutes[:seconds]]. */
export function slurmSeconds(time: string): number {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d\d))?(?::(\d\d))?$/.exec(time);
  if (!m) throw new Error(`not a Slurm time limit: '${time}'`);
  const [days, a, b, c] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)));
  if (days !== undefined) return ((days * 24 + a!) * 60 + (b ?? 0)) * 60 + (c ?? 0);
  if (c !== undefined) return (a! * 60 + b!) * 60 + c;
  return b !== undefined ? a! * 60 + b : a! * 60;
}

/** A Slurm time limit of `seconds`, as days-hours:minutes:seconds. */
export function slurmTime(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(seconds / 86400);
  const rest = seconds % 86400;
  return `${days}-${pad(Math.floor(rest / 3600))}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
}

export const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** An sbatch script; logs per task in <plan folder>/slurm-logs/%A_%a.out. */
export function slurmScript(planFile: string, planDir: string, runs: number, o: SlurmOptions): string {
  const tasks = Math.min(runs, o.arrayLimit ?? SLURM_ARRAY_LIMIT);
  // Over the limit, task t runs t, t+tasks, t+2*tasks, ... in turn.
  const each = tasks < runs ? `every ${tasks}-th run from its own index` : 'one run each';
  // A task running several runs in turn needs the time of that many: Slurm ends it at its limit.
  const perTask = Math.ceil(runs / tasks);
  // (0 is Slurm's "no limit", which stays so.)
  const time = perTask > 1 && slurmSeconds(o.time) > 0 ? slurmTime(perTask * slurmSeconds(o.time)) : o.time;
  const lines = [
    '#!/bin/bash',
    `# gradmix sweep: ${runs} run(s) of ${planFile}, ${tasks} array task(s), ${each}. Submit with: sbatch ${planDir}/sweep.sbatch`,
    '#SBATCH --job-name=gradmix-sweep',
    `#SBATCH --array=0-${tasks - 1}${o.parallel ? `%${o.parallel}` : ''}`,
    `#SBATCH --time=${time}`,
    // sbatch reads #SBATCH lines unquoted; a path with spaces or % does not survive them.
    `#SBATCH --output=${planDir.replace(/%/g, '%%')}/slurm-logs/%A_%a.out`,
    // One task per array element: Slurm 23.11 refuses --gpus-per-task without a task count.
    '#SBATCH --ntasks=1',
    ...(o.gpusPerTask > 0 ? [`#SBATCH --gpus-per-task=${o.gpusPerTask}`] : []),
    ...(o.cpusPerTask ? [`#SBATCH --cpus-per-task=${o.cpusPerTask}`] : []),
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    'set -euo pipefail',
    // The job's tasks take over only their own job's stale locks (src/sweep/run-one.ts).
    'export GRADMIX_SWEEP_JOB="slurm:$SLURM_ARRAY_JOB_ID"',
    `exec ${o.gradmix} sweep run ${shellQuote(planFile)} --index "$SLURM_ARRAY_TASK_ID"${tasks < runs ? ` --stride ${tasks}` : ''}`,
  ];
  return lines.join('\n') + '\n';
}

export interface K8sOptions {
  image: string;
  gpus: number;
  /** Pods running at once. */
  parallelism: number;
  /** The PersistentVolumeClaim holding the plan's folder, mounted at `mountPath`. */
  claim: string;
  mountPath: string;
  name: string;
}

/** The Indexed Job as an object (checked by the tests), written as YAML by `toYaml`. */
export function k8sJob(planFile: string, runs: number, o: K8sOptions): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: o.name },
    spec: {
      completionMode: 'Indexed',
      completions: runs,
      parallelism: Math.min(o.parallelism, runs),
      backoffLimitPerIndex: 1, // a crashed run is retried once, then its index is failed
      // A pod stopped from outside (preempted, evicted, drained: the DisruptionTarget condition) or
      // by SIGTERM (gradmix exits 130 when the epoch loop saved a checkpoint, 143 when the signal came
      // before or after training) is no crash of its run: its retry is not counted against it.
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
          { action: 'Ignore', onExitCodes: { containerName: 'gradmix', operator: 'In', values: [130, 143] } },
        ],
      },
      podReplacementPolicy: 'Failed', // a retry starts once the failed pod is gone: one pod per index at a time
      maxFailedIndexes: runs,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'gradmix',
              image: o.image,
              workingDir: o.mountPath,
              // Kubernetes sets JOB_COMPLETION_INDEX in every pod of an Indexed Job; sweep run reads it.
              command: ['gradmix', 'sweep', 'run', planFile, '--index', 'env'],
              // Dawn reaches the GPU through Vulkan, which the NVIDIA container runtime mounts only
              // with the graphics capability (its default is compute and utility).
              env: [
                { name: 'NVIDIA_DRIVER_CAPABILITIES', value: 'all' },
                // The job's pods take over only their own job's stale locks (src/sweep/run-one.ts). The
                // Job's uid, not its name: a Job deleted and applied again under the same name is
                // another submission, whose pods must not take over the live locks of the old one's.
                { name: 'GRADMIX_JOB_UID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']" } } },
                { name: 'GRADMIX_SWEEP_JOB', value: 'k8s:$(GRADMIX_JOB_UID)' },
              ],
              ...(o.gpus > 0 ? { resources: { limits: { 'nvidia.com/gpu': o.gpus } } } : {}),
              volumeMounts: [{ name: 'sweep', mountPath: o.mountPath }],
            },
          ],
          volumes: [{ name: 'sweep', persistentVolumeClaim: { claimName: o.claim } }],
        },
      },
    },
  };
}

/** YAML of plain data (objects, arrays, strings, numbers, booleans); strings JSON-quoted where needed. */
export function toYaml(value: unknown, indent = ''): string {
  const plain = (v: string) => /^[A-Za-z_/][\w./-]*$/.test(v) && !/^(true|false|yes|no|on|off|null|~)$/i.test(v);
  const scalar = (v: unknown) => (typeof v === 'string' && !plain(v) ? JSON.stringify(v) : String(v));
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        if (item && typeof item === 'object') return `${indent}- ${toYaml(item, `${indent}  `).trimStart()}`;
        return `${indent}- ${scalar(item)}\n`;
      })
      .join('');
  }
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => {
        if (v && typeof v === 'object') return `${indent}${k}:\n${toYaml(v, `${indent}  `)}`;
        return `${indent}${k}: ${scalar(v)}\n`;
      })
      .join('');
  }
  return `${indent}${scalar(value)}\n`;
}
