// What a piece of GPU work costs, for choosing between kernel variants (runtime/autotune.ts).
//
// On a CPU adapter (lavapipe, SwiftShader) in Node on Linux: the CPU time of the busiest
// rasteriser thread, from /proc/self/task/<tid>/schedstat. Other processes' load does not inflate
// it (on a shared 2-core machine the wall clock of the same work swings 2-4x), and with the
// work spread over the worker threads the busiest one's time is what an idle machine's wall clock
// would be; a variant that leaves a worker idle (too few workgroups) is charged for it. The main
// JS thread is left out: while a GPU promise is pending it spins in Dawn's event polling, which
// says nothing about the work. Elsewhere (GPUs, browsers): the wall clock around a drained queue.
import { gpu } from './gpu.js';
import { nodeModule, nodePlatform, processId } from './platform.js';

export type CostMethod = 'thread-cpu' | 'wall';

export interface Cost {
  /** Milliseconds per run. */
  ms: number;
  method: CostMethod;
}

interface ProcFs {
  readdirSync(path: string): string[];
  readFileSync(path: string, encoding: 'utf8'): string;
}

let procFs: ProcFs | null | undefined;

/** node:fs when /proc/self/task is readable (Linux), else null; looked up once. */
async function loadProcFs(): Promise<ProcFs | null> {
  if (procFs !== undefined) return procFs;
  procFs = null;
  if (nodePlatform() === 'linux') {
    try {
      const fs = (await nodeModule<ProcFs>('node:fs'))!;
      fs.readdirSync('/proc/self/task');
      procFs = fs;
    } catch {
      procFs = null;
    }
  }
  return procFs;
}

const mainTid = () => String(processId() ?? '');

/** Nanoseconds thread `tid` of this process has been on the CPU. */
const threadTime = (fs: ProcFs, tid: string) => Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);

/** Nanoseconds on the CPU so far, per thread (the main one too when `withMain`). */
function threadTimes(fs: ProcFs, withMain = false): Map<string, number> {
  const main = mainTid();
  const times = new Map<string, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    if (tid === main && !withMain) continue;
    try {
      times.set(tid, threadTime(fs, tid));
    } catch {
      // the thread ended meanwhile
    }
  }
  return times;
}

/** CPU time per thread between two snapshots, in milliseconds. */
export interface ThreadCpu {
  /** The main JS thread. */
  mainMs: number;
  /** Every other thread together (a CPU adapter's rasteriser workers, Dawn, V8's helpers). */
  othersMs: number;
  /** The busiest thread other than the main one. */
  busiestMs: number;
}

/**
 * Snapshots of per-thread CPU time (Linux, Node), or null where /proc is not there. For
 * load-independent benchmark figures: a snapshot taken around some work, diffed with `since`.
 * `snapshot` reads every thread (~13 us each), `main` only the main JS thread's.
 */
export async function threadCpuClock(): Promise<{
  snapshot: () => Map<string, number>;
  main: () => Map<string, number>;
  since: (before: Map<string, number>, after?: Map<string, number>) => ThreadCpu;
} | null> {
  const fs = await loadProcFs();
  if (!fs) return null;
  const snapshot = () => threadTimes(fs, true);
  return {
    snapshot,
    main: () => new Map([[mainTid(), threadTime(fs, mainTid())]]),
    since: (before, after = snapshot()) => {
      const main = mainTid();
      const cpu: ThreadCpu = { mainMs: 0, othersMs: 0, busiestMs: 0 };
      for (const [tid, ns] of after) {
        const ms = (ns - (before.get(tid) ?? ns)) / 1e6;
        if (tid === main) cpu.mainMs = ms;
        else {
          cpu.othersMs += ms;
          cpu.busiestMs = Math.max(cpu.busiestMs, ms);
        }
      }
      return cpu;
    },
  };
}

/** The cost method measureCost() uses on the current adapter. */
export async function costMethod(): Promise<CostMethod> {
  return gpu().cpuAdapter && (await loadProcFs()) ? 'thread-cpu' : 'wall';
}

/**
 * The cost of `run` (which records GPU work and frees what it creates), per run, over `reps`
 * runs submitted together. Whatever the caller recorded before is flushed and drained first, so
 * it is neither counted nor disturbed. The caller warms `run` up first (pipeline compilation).
 */
export async function measureCost(run: () => void, reps = 1): Promise<Cost> {
  const g = gpu();
  await g.sync();
  const method = await costMethod();
  const fs = method === 'thread-cpu' ? procFs! : null;
  // Timed with the wait pacer off: it sleeps through most of a recent round of as many dispatches,
  // here another candidate's, so a faster candidate would be timed as that sleep.
  const paced = g.pacer.enabled;
  g.pacer.enabled = false;
  let wall: number;
  const before = fs ? threadTimes(fs) : null;
  try {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    await g.sync();
    wall = performance.now() - t0;
  } finally {
    g.pacer.enabled = paced;
  }
  if (!fs || !before) return { ms: wall / reps, method };
  let busiest = 0;
  for (const [tid, ns] of threadTimes(fs)) busiest = Math.max(busiest, ns - (before.get(tid) ?? ns));
  return { ms: busiest / 1e6 / reps, method };
}
