// The CPU side of a training step (issue 12 item 3): how many dispatches one step records, what
// encoding them costs the main thread, and what the main thread burns while it waits for the GPU
// with the wait pacer on and off. Per-thread CPU time (/proc/self/task/*/stat), not the wall
// clock, is the figure to read on a shared machine: other processes' load does not inflate it.
//
//   node --import tsx bench/encode-cost.ts [--width 8] [--batch 32] [--steps 4] [--methods none,gradmix]
//                                           [--compare pace|submit|none] [--phases] [--micro N] [--json FILE]
//
// Each measured step: wall ms; main-thread CPU ms while recording (autograd, ops, encoding) and
// while waiting for the loss readback; the other threads' CPU ms (a CPU adapter's rasteriser
// workers); dispatches, submits and dispatch() time (gpu().encodeMs). --compare alternates two
// settings step by step in the same process, so both see the same load: pace (the wait pacer on
// and off, GRADMIX_PACE=0) or submit (a submit every 64 dispatches while recording, as on GPUs, or
// the whole step in one batch, as on CPU adapters). --phases also
// times Dawn's calls inside dispatch() (createBindGroup, the pass's setPipeline/setBindGroup/
// dispatchWorkgroups) by wrapping them, which adds a little to every figure. Encoding is timed by
// the wall clock inside dispatch(); "encode cpu" scales it by the main thread's CPU/wall ratio
// while recording, which removes the time it was descheduled by other processes.
// --micro N first records N one-workgroup dispatches of one small kernel in a loop, without the
// autograd around them: the main thread's CPU per dispatch, whole and in Dawn's calls.
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { initGpu, destroyGpu } from '../runtime/gpu.js';
import { threadCpuClock } from '../runtime/run-cost.js';
import { backward } from '../src/autograd.js';
import { scope } from '../src/scope.js';
import { SupConResNet } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import { resolveOptions, type Method } from '../src/train/options.js';
import { TrainStep } from '../src/train/step.js';
import { median } from './stats.js';

const { values: flags } = parseArgs({
  options: {
    width: { type: 'string', default: '8' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '4' },
    methods: { type: 'string', default: 'none,gradmix' },
    compare: { type: 'string', default: 'pace' },
    phases: { type: 'boolean', default: false },
    micro: { type: 'string', default: '0' },
    json: { type: 'string' },
  },
});
const int = (name: 'width' | 'batch' | 'steps') => {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${flags[name]}'`);
  return n;
};
const [width, batch, steps] = [int('width'), int('batch'), int('steps')];
const methods = flags.methods!.split(',') as Method[];
for (const m of methods) if (m !== 'none' && m !== 'gradmix') throw new Error(`--methods: '${m}' is not none or gradmix`);
interface Setting {
  label: string;
  pace: boolean;
  submitEvery?: number;
}
const comparisons: Record<string, Setting[]> = {
  pace: [
    { label: 'pace on', pace: true },
    { label: 'pace off', pace: false },
  ],
  submit: [
    { label: 'submit/64', pace: true, submitEvery: 64 },
    { label: 'one batch', pace: true, submitEvery: Infinity },
  ],
  none: [{ label: 'default', pace: true }],
};
const settings = comparisons[flags.compare!];
if (!settings) throw new Error(`--compare must be pace, submit or none, got '${flags.compare}'`);

await import('../scripts/embed-kernels.mjs' as string);
const g = await initGpu();
const clock = await threadCpuClock();
if (!clock) throw new Error('bench/encode-cost.ts needs per-thread CPU times (/proc/self/task, Linux)');

/** Milliseconds spent in Dawn's encoding calls, accumulated by the --phases wrappers. */
const phases = { createBindGroup: 0, passCalls: 0, writeBuffer: 0, submit: 0 };
if (flags.phases) wrapDawnCalls();

function timed<A extends unknown[], R>(fn: (...a: A) => R, key: keyof typeof phases): (...a: A) => R {
  return function (this: unknown, ...a: A): R {
    const t0 = performance.now();
    try {
      return fn.apply(this, a);
    } finally {
      phases[key] += performance.now() - t0;
    }
  };
}

function wrapDawnCalls(): void {
  const device = g.device as unknown as Record<string, (...a: unknown[]) => unknown>;
  device.createBindGroup = timed(g.device.createBindGroup.bind(g.device) as (...a: unknown[]) => unknown, 'createBindGroup');
  const queue = g.device.queue as unknown as Record<string, (...a: unknown[]) => unknown>;
  queue.writeBuffer = timed(g.device.queue.writeBuffer.bind(g.device.queue) as (...a: unknown[]) => unknown, 'writeBuffer');
  queue.submit = timed(g.device.queue.submit.bind(g.device.queue) as (...a: unknown[]) => unknown, 'submit');
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: Record<string, (...a: unknown[]) => unknown> } }).GPUComputePassEncoder.prototype;
  for (const name of ['setPipeline', 'setBindGroup', 'dispatchWorkgroups']) proto[name] = timed(proto[name], 'passCalls');
}

interface StepSample {
  method: Method;
  setting: string;
  wallMs: number;
  recordWallMs: number;
  recordMainMs: number;
  waitMainMs: number;
  workersMs: number;
  encodeMs: number;
  dispatches: number;
  submits: number;
  /** Bind groups created (not found in the cache) during the step. */
  bindGroupsCreated: number;
  /** Share of the step's dispatches already submitted (the GPU on them) when recording ended. */
  submittedWhileRecording: number;
  phases: typeof phases;
}

const rng = new Rng(1);
const images = Float32Array.from({ length: batch * 32 * 32 }, () => (rng.uniform() < 0.25 ? rng.uniform() : 0));
const labels = Int32Array.from({ length: batch }, (_, i) => i % 6);

async function measureMethod(method: Method): Promise<StepSample[]> {
  const o = resolveOptions({ width, batchSize: batch, method, progress: false });
  const model = new SupConResNet(new Rng(0), { width, inChannels: 1 });
  const step = new TrainStep(model, o, 'mnist', { channels: 1, height: 32, width: 32 });
  const optimizer = new Adam(model.parameters());
  await step.run(images, labels, optimizer, new Rng(0)); // warm-up: pipelines, buffer pool, pacer estimate
  const samples: StepSample[] = [];
  const defaultSubmitEvery = g.submitEvery;
  for (let i = 0; i < steps * settings.length; i++) {
    const setting = settings[i % settings.length];
    g.pacer.enabled = setting.pace;
    g.submitEvery = setting.submitEvery ?? defaultSubmitEvery;
    await g.sync();
    for (const k of Object.keys(phases) as (keyof typeof phases)[]) phases[k] = 0;
    const [d0, s0, e0, b0] = [g.dispatchCount, g.submitCount, g.encodeMs, g.bindGroupStats.created];
    const cpu0 = clock!.snapshot();
    const t0 = performance.now();
    // TrainStep.run, split where the recording ends and the wait for the loss begins.
    const loss = scope(() => {
      const l = step.loss(images, labels, new Rng(100 + i));
      backward(l);
      optimizer.step();
      optimizer.zeroGrad();
      return l;
    });
    const cpu1 = clock!.snapshot();
    const recorded = g.dispatchCount - d0;
    const submittedWhileRecording = (recorded - g.pendingDispatches) / recorded;
    const recordWallMs = performance.now() - t0;
    await loss.item();
    const wallMs = performance.now() - t0;
    loss.dispose();
    const recording = clock!.since(cpu0, cpu1);
    const whole = clock!.since(cpu0);
    samples.push({
      method,
      setting: setting.label,
      wallMs,
      recordWallMs,
      recordMainMs: recording.mainMs,
      waitMainMs: whole.mainMs - recording.mainMs,
      workersMs: whole.othersMs,
      encodeMs: g.encodeMs - e0,
      dispatches: g.dispatchCount - d0,
      submits: g.submitCount - s0,
      bindGroupsCreated: g.bindGroupStats.created - b0,
      submittedWhileRecording,
      phases: { ...phases },
    });
  }
  g.submitEvery = defaultSubmitEvery;
  optimizer.dispose();
  model.dispose();
  return samples;
}

/** The main thread's CPU per dispatch of `elementwise.unary` on 256 floats, recorded `n` times. */
async function micro(n: number): Promise<void> {
  const x = g.pool.acquire(1024);
  const out = g.pool.acquire(1024);
  const record = () => g.dispatch('elementwise.unary', { bindings: { x, out }, params: { n: 256, a_size: 1, b_size: 1, s: 0 }, workgroups: [4], overrides: { OP: 1, WG: 64 } });
  record();
  await g.sync(); // pipeline compiled
  for (let rep = 0; rep < 3; rep++) {
    for (const k of Object.keys(phases) as (keyof typeof phases)[]) phases[k] = 0;
    const [e0, t0, cpu0] = [g.encodeMs, performance.now(), clock!.snapshot()];
    for (let i = 0; i < n; i++) record();
    g.flush();
    const cpu = clock!.since(cpu0);
    const wall = performance.now() - t0;
    await g.sync();
    const perUs = (ms: number) => ((1000 * ms * cpu.mainMs) / wall / n).toFixed(1);
    console.log(
      `micro: ${n} dispatches, main thread ${((1000 * cpu.mainMs) / n).toFixed(1)} us CPU each (dispatch() ${perUs(g.encodeMs - e0)}` +
        (flags.phases ? `, createBindGroup ${perUs(phases.createBindGroup)}, pass calls ${perUs(phases.passCalls)}, writeBuffer+submit ${perUs(phases.writeBuffer + phases.submit)}` : '') +
        `), CPU/wall ${(cpu.mainMs / wall).toFixed(2)}`,
    );
  }
  g.pool.release(x);
  g.pool.release(out);
}

/** dispatch()'s wall time scaled by the main thread's CPU/wall ratio while it recorded. */
const encodeCpu = (x: StepSample) => (x.encodeMs * x.recordMainMs) / x.recordWallMs;
const f1 = (x: number) => x.toFixed(1).padStart(8);

const load0 = loadavg()[0];
const all: StepSample[] = [];
if (Number(flags.micro) > 0) await micro(Number(flags.micro));
console.log(`adapter: ${g.describe()} (kernel variant ${g.kernelVariant}); ResNet18 width ${width}, batch ${batch} per view, ${steps} steps per setting`);
console.log(
  'method   setting     wall ms  main record  main wait  workers   encode  encode cpu  dispatches submits  new bind groups  submitted early  us/dispatch' +
    (flags.phases ? '  bindgroup  pass  writeBuf  submit' : ''),
);
for (const method of methods) {
  const samples = await measureMethod(method);
  all.push(...samples);
  for (const setting of settings) {
    const s = samples.filter((x) => x.setting === setting.label);
    const m = (f: (x: StepSample) => number) => median(s.map(f));
    const line = `${method.padEnd(8)} ${setting.label.padEnd(10)} ${f1(m((x) => x.wallMs))} ${f1(m((x) => x.recordMainMs))}    ${f1(m((x) => x.waitMainMs))} ${f1(m((x) => x.workersMs))} ${f1(m((x) => x.encodeMs))}    ${f1(m(encodeCpu))} ${String(m((x) => x.dispatches)).padStart(10)} ${String(m((x) => x.submits)).padStart(7)} ${String(m((x) => x.bindGroupsCreated)).padStart(16)} ${`${(100 * m((x) => x.submittedWhileRecording)).toFixed(0)}%`.padStart(15)} ${f1((1000 * m(encodeCpu)) / m((x) => x.dispatches))}`;
    const ph = flags.phases ? ` ${f1(m((x) => x.phases.createBindGroup))} ${f1(m((x) => x.phases.passCalls))} ${f1(m((x) => x.phases.writeBuffer))} ${f1(m((x) => x.phases.submit))}` : '';
    console.log(line + ph);
  }
}
const load1 = loadavg()[0];
console.log(`medians of ${steps} steps per row; load average ${load0.toFixed(2)} -> ${load1.toFixed(2)}`);
if (flags.json) writeFileSync(flags.json, JSON.stringify({ adapter: g.describe(), width, batch, steps, loadAverage: [load0, load1], samples: all }, null, 1));
destroyGpu();
