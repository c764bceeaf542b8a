// The benchmark harness's measurements (bench/harness.ts, bench/measure-row.ts, runtime/profiler.ts,
// bench/peer-tfjs.ts, the conv2d family's shapes): what lands inside a timed bracket, the wait
// pacer while timing, the GPU's busy time as the union of the dispatches' intervals, the TF.js
// ratio like for like, and ResNet18's convolutions each with its count.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../runtime/gpu.js';
import { IntervalUnion, profileBusy } from '../runtime/profiler.js';
import { timeOurs, timeQueue, pacedTiming, type Measurement, type QueueTarget, type SampleClocks, type TimeOptions } from '../bench/harness.js';
import { measureRow } from '../bench/measure-row.js';
import { peerResult } from '../bench/peer-tfjs.js';
import { convOut, resnetConvs, type BenchConfig } from '../bench/family.js';
import { convFamily } from '../bench/families/conv2d.js';
import { Autotuner } from '../runtime/autotune.js';
import { SupConResNet } from '../src/nn/index.js';
import { Conv2d } from '../src/nn/layers.js';
import { Rng } from '../src/random.js';
import { randn } from '../src/creation.js';
import * as ops from '../src/ops/index.js';
import { setupGpu } from './helpers.js';

const test = suite('bench-harness');
test.before(setupGpu);

const OPTS: TimeOptions = { warmup: 1, repeats: 3, minRepeats: 3, budgetMs: 1e9 };

/** A queue and clocks that log every call, to see what runs between the bracket's markers. */
function logged(pacing?: QueueTarget['pacing']) {
  const events: string[] = [];
  const target: QueueTarget = {
    device: { features: new Set(['timestamp-query']) } as unknown as GPUDevice,
    submit: () => void events.push('submit'),
    drain: async () => void events.push('drain'),
    pacing,
  };
  const clocks: SampleClocks = {
    bracket: { begin: () => void events.push('begin'), end: () => void events.push('end'), read: async () => 1 },
    threads: {
      snapshot: () => (events.push('snapshot'), new Map([['1', 0]])),
      main: () => (events.push('main'), new Map([['1', 1e6]])),
      since: () => ({ mainMs: 1, othersMs: 2, busiestMs: 2 }),
    },
  };
  return { events, target, clocks };
}

test('no per-thread clock read lands between the timestamp markers', async () => {
  const { events, target, clocks } = logged();
  const m = await timeQueue(target, () => events.push('run'), OPTS, clocks);
  const runs = events.filter((e) => e === 'begin').length;
  assert.is(runs, OPTS.warmup + OPTS.repeats, events.join(' '));
  for (let i = events.indexOf('begin'); i >= 0; i = events.indexOf('begin', i + 1)) {
    const inside = events.slice(i + 1, events.indexOf('end', i));
    assert.equal(inside, ['run', 'submit'], `inside the bracket: ${inside.join(' ')}`);
    // The full snapshot before the sample's first submit (outside the wall clock too).
    assert.is(events[i - 2], 'snapshot', events.slice(i - 3, i + 1).join(' '));
    assert.is(events[events.indexOf('end', i) + 1], 'main', 'only the main thread is read before the drain');
  }
  assert.is(m.method, 'gpu-timestamp');
  assert.is(m.ms, 1);
  assert.is(m.cpuWorkMs, 3, 'recording (main thread) plus the other threads');
});

test('the wait pacer is off while a GPU row is timed (on by default on CPU adapters), restored after, and recorded', async () => {
  const pacer = { enabled: true };
  const seen: boolean[] = [];
  const gpuLike = logged({ pacer, byDefault: false });
  const m = await timeQueue(gpuLike.target, () => seen.push(pacer.enabled), OPTS, gpuLike.clocks);
  assert.ok(seen.length > 0 && seen.every((on) => !on), `pacer during the runs: ${seen.join(',')}`);
  assert.is(pacer.enabled, true, 'restored');
  assert.is(m.paced, false);
  seen.length = 0;
  const cpuLike = logged({ pacer, byDefault: true });
  assert.is((await timeQueue(cpuLike.target, () => seen.push(pacer.enabled), OPTS, cpuLike.clocks)).paced, true);
  assert.ok(seen.every((on) => on));
  // TimeOptions.pace overrides the default; a pacer turned off (GRADMIX_PACE=0) stays off.
  assert.is((await timeQueue(cpuLike.target, () => undefined, { ...OPTS, pace: false }, cpuLike.clocks)).paced, false);
  pacer.enabled = false;
  assert.is((await timeQueue(cpuLike.target, () => undefined, { ...OPTS, pace: true }, cpuLike.clocks)).paced, false);
  // Another engine's queue (TF.js) has no pacer of ours.
  assert.is((await timeQueue(logged().target, () => undefined, OPTS, logged().clocks)).paced, false);
});

test('our engine: the pacer as TimeOptions.pace says during timeOurs, and as before after', async () => {
  const g = gpu();
  const was = g.pacer.enabled;
  const x = randn([64], new Rng(1));
  const seen: boolean[] = [];
  const m = await timeOurs(() => (seen.push(g.pacer.enabled), ops.exp(x)), { ...OPTS, pace: false });
  assert.ok(seen.every((on) => !on));
  assert.is(m.paced, false);
  assert.is(g.pacer.enabled, was);
  assert.is((await timeOurs(() => ops.exp(x), OPTS)).paced, pacedTiming());
  assert.is(pacedTiming(), was && g.cpuAdapter, 'paced by default on CPU adapters only');
  x.dispose();
});

test('TF.js against ours like for like: wall time on both sides when the methods differ', () => {
  const m = (method: Measurement['method'], ms: number, wallMs: number): Measurement => ({ ms, method, wallMs, minMs: ms, spreadMs: 0, repeats: 3, cores: 1, paced: false });
  assert.equal(peerResult(m('gpu-timestamp', 1, 3), m('gpu-timestamp', 8, 10)), { ms: 8, ratio: 1 / 8, method: 'gpu-timestamp' });
  // Ours by the wall clock, TF.js by timestamps: our wall over theirs, not over their GPU time.
  assert.equal(peerResult(m('wall', 3, 3), m('gpu-timestamp', 8, 10)), { ms: 10, ratio: 0.3, method: 'wall' });
  assert.equal(peerResult(m('gpu-timestamp', 1, 3), m('wall', 10, 10)), { ms: 10, ratio: 0.3, method: 'wall' });
});

test('the union of dispatch intervals: overlaps count once, never more than the span', () => {
  const u = new IntervalUnion();
  u.add([
    [0, 10],
    [5, 15],
    [20, 30],
  ]);
  u.add([
    [25, 40], // overlaps the previous batch's last interval
    [50, 55],
    [7, 3], // an invalid pair: in the sum (as the per-kernel sums have it), not in the union
  ]);
  assert.equal(u.summary, { sum: 10 + 10 + 10 + 15 + 5 - 4, union: 15 + 20 + 5, span: 55, count: 6 });
});

test('a profile reports its busy time: the union of the dispatches, at most their sum and the span', async () => {
  if (!gpu().hasTimestamps) return;
  const x = randn([4, 8, 16, 16], new Rng(2));
  const w = randn([8, 8, 3, 3], new Rng(3));
  await gpu().startProfiling();
  const y = ops.relu(ops.conv2d(ops.conv2d(x, w, null, { padding: 1 }), w, null, { padding: 1 }));
  await y.data();
  const times = await gpu().stopProfiling();
  const busy = profileBusy(times)!;
  assert.ok(busy, 'stopProfiling returns the busy time');
  const sum = times.reduce((s, t) => s + t.ms, 0);
  assert.ok(Math.abs(busy.sumMs - sum) < 1e-9, `${busy.sumMs} vs ${sum}`);
  assert.is(
    busy.dispatches,
    times.reduce((s, t) => s + t.count, 0),
  );
  assert.ok(busy.unionMs > 0 && busy.unionMs <= busy.sumMs + 1e-9 && busy.unionMs <= busy.spanMs + 1e-9, JSON.stringify(busy));
  [x, w, y].forEach((t) => t.dispose());
});

test('a kernel-timed row reports the union over the median of 3 profiled runs', async () => {
  if (!gpu().hasTimestamps) return;
  const x = randn([256], new Rng(4));
  const { m, kernel } = await measureRow(
    { family: 't', name: 'exp', shape: '[256]', bound: 'memory', kernelTime: true, setup: () => ({ run: () => ops.exp(ops.exp(x)), dispose: () => undefined }) },
    { ...OPTS, pace: false },
  );
  assert.is(m.paced, false);
  assert.ok(kernel, 'kernel figures');
  assert.is(kernel!.kernelRuns, 3);
  assert.ok(kernel!.kernelBusyMs > 0 && kernel!.kernelBusyMs <= kernel!.kernelMs + 1e-9, JSON.stringify(kernel));
  x.dispose();
});

test("resnetConvs lists every convolution of the model's ResNet18 with its count", async () => {
  const size = 8;
  const model = new SupConResNet(new Rng(5), { width: 2 });
  const convs = [...model.modules()].filter(([, mod]) => mod instanceof Conv2d) as [string, Conv2d][];
  assert.is(convs.length, 20);
  const seen = new Map<string, number>();
  const keyOf = (cin: number, cout: number, side: number, k: number, stride: number, pad: number) => `${cin}->${cout} @${side} k${k} s${stride} p${pad}`;
  const byPath = new Map(convs);
  const remove = model.addForwardHook(
    convs.map(([p]) => p),
    (path, out) => {
      const c = byPath.get(path)!;
      const [cout, cin, k] = c.weight.shape;
      const side = out.shape[2] * c.stride; // the input side (even sides, padding k // 2)
      const key = keyOf(cin, cout, side, k, c.stride, c.padding);
      seen.set(key, (seen.get(key) ?? 0) + 1);
    },
  );
  const x = randn([2, 3, size, size], new Rng(6)); // 2 images: batch norm needs more than one value per channel
  const f = model.call(x);
  remove();
  [x, f].forEach((t) => t.dispose());
  const listed = new Map(resnetConvs(2, size).map((c) => [keyOf(c.cin, c.cout, c.size, c.k, c.stride, c.pad), c.count]));
  assert.equal(Object.fromEntries(listed), Object.fromEntries(seen));
  for (const c of resnetConvs(2, size)) assert.ok(convOut(c) >= 1, c.layer);
});

test('conv2d rows carry their count; the stem has no input-gradient row (training never computes it)', async () => {
  const cfg: BenchConfig = { quick: true, batches: [2], widths: [2], fromFlags: { batches: true, widths: true }, imageSize: 8, timing: OPTS, autotuner: new Autotuner('test', null) };
  const rows = await convFamily.rows(cfg);
  if ('skipped' in rows) throw new Error(rows.skipped);
  const total = (pass: string) => rows.filter((r) => r.name.startsWith(`${pass} `)).reduce((s, r) => s + r.count!, 0);
  assert.is(total('forward'), 20);
  assert.is(total('weight-grad'), 20);
  assert.is(total('input-grad'), 19);
  assert.not.ok(rows.some((r) => r.name.startsWith('input-grad conv1 ')));
  assert.is(rows.find((r) => r.name.startsWith('forward layer1.0.conv1 '))!.count, 4);
});

test.run();
