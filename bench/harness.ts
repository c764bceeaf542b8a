// Timing: warm-up runs, then the median of repeats. GPU work (ours, and TF.js's on its own
// device) is timed with timestamp queries where the device has 'timestamp-query' (two empty
// compute passes bracket the measured work on the queue, so the figure is queue time from the
// first command of the work to the end of its last; browsers round timestamps, Node asks Dawn not
// to), else by the wall clock around a flushed, drained queue. Wall clock and process CPU
// time are recorded in every case: CPU time / wall time shows how many cores a CPU rasteriser
// such as lavapipe kept busy. Nothing of the harness's own runs between the bracket's markers
// (the GPU would idle through it and every figure, ours and the peer's, would carry it), and the
// per-thread CPU clocks are read outside the wall clock too, but for one file read that overlaps
// the GPU's work.
import { gpu } from '../runtime/gpu.js';
import { threadCpuClock, type ThreadCpu } from '../runtime/run-cost.js';
import { scope } from '../src/scope.js';
import { median, quantile } from './stats.js';

export interface TimeOptions {
  /** Untimed runs first (pipeline compilation, buffer pool warm-up). */
  warmup: number;
  /** Timed runs; fewer once `budgetMs` of timed work has been spent (never fewer than `minRepeats`). */
  repeats: number;
  minRepeats: number;
  budgetMs: number;
  /**
   * Whether the engine's wait pacer (runtime/wait-pacer.ts) may sleep while our rows are timed.
   * Default: on CPU adapters only. On a GPU its sleeps end on a ~1 ms timer grain, which would
   * land in wallMs (the PyTorch ratio's figure); on a CPU adapter the spin it avoids would take a
   * core from the rasteriser's workers.
   */
  pace?: boolean;
}

export type TimingMethod = 'gpu-timestamp' | 'wall';

export interface Measurement {
  /** Median of the primary method (GPU timestamps where available). */
  ms: number;
  method: TimingMethod;
  /** Median wall-clock time, recording included. */
  wallMs: number;
  minMs: number;
  /** Half the interquartile range of the primary method's samples: the noise bench:compare weighs. */
  spreadMs: number;
  repeats: number;
  /** Process CPU time / wall time during the timed runs (about the number of busy cores). */
  cores: number;
  /**
   * Median CPU milliseconds of work per run, where per-thread CPU time can be read (Linux): the
   * main thread while it records the work plus every other thread (a CPU adapter's rasteriser
   * workers) until the queue drains. Other processes' load does not inflate it, unlike `ms`; the
   * main thread's time spent waiting (Dawn polls while a promise is pending) is left out.
   */
  cpuWorkMs?: number;
  /** Whether our wait pacer could sleep during the timed runs (false for another engine's queue). */
  paced: boolean;
}

export { median, quantile };

/** Two timestamps written by empty passes around the measured work, resolved and read back. */
class TimestampBracket {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2, label: 'bench-timestamps' });
    this.resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'bench-resolve' });
    this.readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'bench-readback' });
  }

  private marker(index: 0 | 1): GPUCommandEncoder {
    const encoder = this.device.createCommandEncoder({ label: `bench-marker-${index}` });
    const pass = encoder.beginComputePass({
      label: `bench-marker-${index}`,
      timestampWrites: index === 0 ? { querySet: this.querySet, beginningOfPassWriteIndex: 0 } : { querySet: this.querySet, endOfPassWriteIndex: 1 },
    });
    pass.end();
    return encoder;
  }

  begin(): void {
    this.device.queue.submit([this.marker(0).finish()]);
  }

  end(): void {
    const encoder = this.marker(1);
    encoder.resolveQuerySet(this.querySet, 0, 2, this.resolve, 0);
    encoder.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 16);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Milliseconds between the two timestamps (after end() and a drained queue). */
  async read(): Promise<number> {
    await this.readback.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigUint64Array(this.readback.getMappedRange().slice(0));
    this.readback.unmap();
    return Number(t1 - t0) / 1e6;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
    this.readback.destroy();
  }
}

/** One bracket per device (ours, and TF.js's own device on the same adapter). */
const brackets = new Map<GPUDevice, TimestampBracket>();

function bracketFor(device: GPUDevice): TimestampBracket {
  let b = brackets.get(device);
  if (!b) brackets.set(device, (b = new TimestampBracket(device)));
  return b;
}

/** A device queue to time work on: `submit` sends what was recorded, `drain` waits for all of it. */
export interface QueueTarget {
  device: GPUDevice;
  submit: () => void;
  drain: () => Promise<void>;
  /** The engine's wait pacer (our queue), and whether timing leaves it on unless TimeOptions.pace says. */
  pacing?: Pacing;
}

interface Pacing {
  pacer: { enabled: boolean };
  byDefault: boolean;
}

/** The method timeQueue() uses on a device (GRADMIX_BENCH_WALL=1 forces the wall clock). */
export function timingMethod(device: GPUDevice = gpu().device): TimingMethod {
  return device.features.has('timestamp-query') && nodeProcess?.env.GRADMIX_BENCH_WALL !== '1' ? 'gpu-timestamp' : 'wall';
}

/** Whether our rows are timed with the wait pacer on, by default (TimeOptions.pace): on CPU adapters. */
export function pacedTiming(): boolean {
  const g = gpu();
  return g.pacer.enabled && g.cpuAdapter;
}

interface Sample {
  primary: number;
  wall: number;
  cpu: number;
  cpuWork?: number;
}

function summarise(samples: Sample[], method: TimingMethod, paced: boolean): Measurement {
  const wall = samples.reduce((s, x) => s + x.wall, 0);
  const cpu = samples.reduce((s, x) => s + x.cpu, 0);
  return {
    ms: median(samples.map((s) => s.primary)),
    method,
    wallMs: median(samples.map((s) => s.wall)),
    minMs: Math.min(...samples.map((s) => s.primary)),
    spreadMs:
      (quantile(
        samples.map((s) => s.primary),
        0.75,
      ) -
        quantile(
          samples.map((s) => s.primary),
          0.25,
        )) /
      2,
    repeats: samples.length,
    cores: wall > 0 ? cpu / wall : 0,
    ...(samples.every((s) => s.cpuWork !== undefined) ? { cpuWorkMs: median(samples.map((s) => s.cpuWork!)) } : {}),
    paced,
  };
}

async function repeat(opts: TimeOptions, once: () => Promise<Sample>, method: TimingMethod, paced: boolean): Promise<Measurement> {
  for (let i = 0; i < opts.warmup; i++) await once();
  const samples: Sample[] = [];
  let spent = 0;
  while (samples.length < opts.repeats && (samples.length < opts.minRepeats || spent < opts.budgetMs)) {
    const s = await once();
    samples.push(s);
    spent += s.wall;
  }
  return summarise(samples, method, paced);
}

/**
 * Runs `f` with the pacer on or off as `pace` (else the queue's default) says, and restores it;
 * `f` learns whether it ran paced. A queue without a pacer (TF.js's) always runs unpaced.
 */
async function withPacing<T>(pacing: Pacing | undefined, pace: boolean | undefined, f: (paced: boolean) => Promise<T>): Promise<T> {
  if (!pacing) return f(false);
  const was = pacing.pacer.enabled;
  pacing.pacer.enabled = was && (pace ?? pacing.byDefault);
  try {
    return await f(pacing.pacer.enabled);
  } finally {
    pacing.pacer.enabled = was;
  }
}

// Node's process where there is one: the benchmark page runs this module too, without CPU time
// (its `cores` reads 0 there).
const nodeProcess = (globalThis as { process?: NodeJS.Process }).process;
const NO_CPU = { user: 0, system: 0 };

function cpuNow(): NodeJS.CpuUsage {
  return nodeProcess?.cpuUsage ? nodeProcess.cpuUsage() : NO_CPU;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = nodeProcess?.cpuUsage ? nodeProcess.cpuUsage(start) : NO_CPU;
  return (d.user + d.system) / 1000;
}

/** The clocks a timed run reads besides the wall clock (a test gives stand-ins to see when each is read). */
export interface SampleClocks {
  /** The timestamp bracket on the target's queue, or null (wall clock). */
  bracket: { begin(): void; end(): void; read(): Promise<number> } | null;
  /**
   * Per-thread CPU time (Linux): `snapshot` reads every thread (~13 us each: a Dawn process on a
   * 16-core GPU machine has dozens), `main` only the main thread's; `since` diffs them.
   */
  threads: {
    snapshot(): Map<string, number>;
    main(): Map<string, number>;
    since(before: Map<string, number>, after?: Map<string, number>): ThreadCpu;
  } | null;
}

/**
 * Times `run`, which records GPU work on `target`'s device, by the device's timestamps where it
 * has them; the queue is drained between runs, so runs never overlap. `clocks` is for tests.
 */
export async function timeQueue(target: QueueTarget, run: () => unknown, opts: TimeOptions, clocks?: SampleClocks): Promise<Measurement> {
  const method = clocks ? (clocks.bracket ? 'gpu-timestamp' : 'wall') : timingMethod(target.device);
  const bracket = clocks ? clocks.bracket : method === 'gpu-timestamp' ? bracketFor(target.device) : null;
  const threads = clocks ? clocks.threads : await threadCpuClock();
  await target.drain();
  return withPacing(target.pacing, opts.pace, (paced) =>
    repeat(
      opts,
      async () => {
        const s0 = threads?.snapshot(); // before the wall clock starts
        const c0 = cpuNow();
        const t0 = performance.now();
        target.submit(); // nothing recorded before the bracket may land inside it
        bracket?.begin();
        run();
        target.submit();
        bracket?.end();
        // The main thread's recording (flushes included): one file read, while the GPU works.
        const recorded = s0 && threads!.main();
        await target.drain();
        const wall = performance.now() - t0;
        const cpu = cpuMs(c0);
        const cpuWork = s0 && threads!.since(s0, recorded!).mainMs + threads!.since(s0).othersMs;
        return { primary: bracket ? await bracket.read() : wall, wall, cpu, cpuWork };
      },
      method,
      paced,
    ),
  );
}

/** Our engine's queue: flush the batch; drain also surfaces GPU errors. */
export function ourQueue(): QueueTarget {
  const g = gpu();
  return { device: g.device, submit: () => g.flush(), drain: () => g.sync(), pacing: ourPacing() };
}

/** Our wait pacer, left on while timing by default on CPU adapters only (TimeOptions.pace). */
export function ourPacing(): Pacing {
  const g = gpu();
  return { pacer: g.pacer, byDefault: g.cpuAdapter };
}

/** Times `run` on our engine; tensors it creates are disposed after each run. */
export function timeOurs(run: () => unknown, opts: TimeOptions): Promise<Measurement> {
  return timeQueue(ourQueue(), () => scope(() => void run()), opts);
}

/**
 * Times work whose completion only `finish` can tell (an async op that reads back, or another
 * engine's queue): the wall clock from the start of `run` to the end of `finish`. With `pacing`
 * (our engine's), the pacer is set as for timeQueue.
 */
export async function timeWall(run: () => unknown, finish: () => Promise<void>, opts: TimeOptions, pacing?: Pacing): Promise<Measurement> {
  await finish();
  return withPacing(pacing, opts.pace, (paced) =>
    repeat(
      opts,
      async () => {
        const c0 = cpuNow();
        const t0 = performance.now();
        await run();
        await finish();
        const wall = performance.now() - t0;
        return { primary: wall, wall, cpu: cpuMs(c0) };
      },
      'wall',
      paced,
    ),
  );
}

/** Runs `f` with our pacer as timing sets it (for work timed outside timeQueue, e.g. a profiled run). */
export function withOurPacing<T>(opts: Pick<TimeOptions, 'pace'>, f: (paced: boolean) => Promise<T>): Promise<T> {
  return withPacing(ourPacing(), opts.pace, f);
}

export function releaseTimers(): void {
  for (const b of brackets.values()) b.destroy();
  brackets.clear();
}
