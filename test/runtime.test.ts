// The GPU layer's promises: clear errors before dispatch (reflected bindings and parameters),
// GPU validation errors that name the kernel, a clear error without an adapter, flat memory over
// repeated steps, and a Node process that exits once the device is destroyed.
import { suite } from 'uvu';
import type { ReadbackStages } from '../runtime/readback-stages.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { gpu } from '../runtime/gpu.js';
import { BufferPool, BufferTooLargeError, sizeClass } from '../runtime/buffer-pool.js';
import { CPU_ADAPTER_PACING, GPU_PACING, WaitPacer } from '../runtime/wait-pacer.js';
import * as ops from '../src/ops/index.js';
import { scope } from '../src/scope.js';
import { randomArray, seeded, setupGpu, upload } from './helpers.js';

const test = suite('runtime');
test.before(setupGpu);

const runScript = (code: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('a misnamed binding is a clear error before dispatch', () => {
  const x = upload([1, 2, 3], [3]);
  assert.throws(
    () => gpu().dispatch('elementwise.unary', { bindings: { input: x.buffer, out: x.buffer }, params: { n: 3, a_size: 1, b_size: 1, s: 0 }, workgroups: [1] }),
    /kernel 'elementwise.unary': unknown binding 'input'; the shader binds: x, out/,
  );
});

test('a missing binding, a missing or unknown parameter, a bad override, an unknown kernel', () => {
  const x = upload([1, 2, 3], [3]);
  const params = { n: 3, a_size: 1, b_size: 1, s: 0 };
  assert.throws(() => gpu().dispatch('elementwise.unary', { bindings: { x: x.buffer }, params, workgroups: [1] }), /missing binding 'out'/);
  assert.throws(() => gpu().dispatch('elementwise.unary', { bindings: { x: x.buffer, out: x.buffer }, params: { n: 3 }, workgroups: [1] }), /missing parameter 'a_size'/);
  assert.throws(() => gpu().dispatch('elementwise.unary', { bindings: { x: x.buffer, out: x.buffer }, params: { ...params, count: 1 }, workgroups: [1] }), /unknown parameter 'count'/);
  assert.throws(() => gpu().dispatch('elementwise.unary', { bindings: { x: x.buffer, out: x.buffer }, params: { ...params, n: -1 }, workgroups: [1] }), /'n' = -1 does not fit u32/);
  assert.throws(() => gpu().dispatch('elementwise.unary', { bindings: { x: x.buffer, out: x.buffer }, params, workgroups: [1], overrides: { TILE: 4 } }), /unknown override 'TILE'/);
  assert.throws(() => gpu().dispatch('no_such_kernel', { bindings: {}, workgroups: [1] }), /no such kernel file 'no_such_kernel.wgsl'/);
  assert.throws(() => gpu().dispatch('elementwise.nope', { bindings: {}, workgroups: [1] }), /no entry point 'nope' in elementwise.wgsl/);
});

test('a GPU validation error is thrown on sync and names the kernel', async () => {
  const x = upload([1, 2, 3], [3]);
  // The same buffer bound read-only and read-write in one dispatch: caught by WebGPU, not by us.
  gpu().dispatch('elementwise.unary', { bindings: { x: x.buffer, out: x.buffer }, params: { n: 3, a_size: 1, b_size: 1, s: 0 }, workgroups: [1], overrides: { OP: 1 } });
  let message = '';
  try {
    await gpu().sync();
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /elementwise\.unary/);
  // The device stays usable after the error has been reported.
  const y = ops.neg(upload([1, 2], [2]));
  assert.equal(Array.from(await y.data()), [-1, -2]);
});

test('no adapter: a clear error that says what to install', () => {
  const r = runScript("import { initGpu } from './runtime/gpu.ts'; try { await initGpu(); console.log('got an adapter'); } catch (e) { console.log(e.name + ': ' + e.message); }", {
    VK_ICD_FILENAMES: '/nonexistent/icd.json',
    VK_DRIVER_FILES: '/nonexistent/icd.json',
  });
  assert.match(r.stdout, /NoAdapterError: No WebGPU adapter found/, r.stdout + r.stderr);
  assert.match(r.stdout, /mesa-vulkan-drivers/);
  assert.match(r.stdout, /GRADMIX_BACKEND/);
});

test('a Node process exits by itself once the device is destroyed, and prints the adapter on request', () => {
  const r = runScript(
    "import { initGpu, destroyGpu } from './runtime/gpu.ts'; import { tensor } from './src/creation.ts'; import { exp } from './src/ops/index.ts';" +
      'await initGpu(); console.log(Array.from(await exp(tensor([0], [1])).data())); destroyGpu();',
    { GRADMIX_VERBOSE: '1' },
  );
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /gradmix: adapter .+/);
  assert.match(r.stdout, /\[ 1 \]/);
});

test('profiling reports GPU time per kernel', async () => {
  if (!gpu().hasTimestamps) return; // adapters without timestamp queries cannot profile
  await gpu().startProfiling();
  const x = upload([1, 2, 3, 4], [4]);
  const y = ops.exp(ops.neg(x));
  await y.data();
  const times = await gpu().stopProfiling();
  const names = times.map((t) => t.kernel);
  assert.ok(
    names.some((n) => n.startsWith('elementwise.unary')),
    names.join(', '),
  );
  for (const t of times) assert.ok(t.ms >= 0 && t.count >= 1, JSON.stringify(t));
  // Timestamps are not rounded to Dawn's 65.5 us grain in Node (timestamp_quantization off).
  const grain = 65536e-6;
  assert.ok(
    times.some((t) => t.ms > 0 && Math.abs(t.ms / grain - Math.round(t.ms / grain)) > 1e-6),
    `every time a multiple of 65.5 us: ${times.map((t) => t.ms).join(', ')}`,
  );
  // Profiling off again: dispatches share one pass and nothing more is recorded.
  assert.equal(await gpu().stopProfiling(), []);
});

test('profiling when the device is lost: stopProfiling() names the loss, and no unhandled rejection ends the process', () => {
  const r = runScript(
    "import { initGpu } from './runtime/gpu.ts'; import { tensor } from './src/creation.ts'; import { neg } from './src/ops/index.ts';" +
      'const g = await initGpu(); if (!g.hasTimestamps) { console.log("no timestamps"); process.exit(0); }' +
      'await g.startProfiling(); const y = neg(tensor([1, 2], [2])); g.flush(); g.device.destroy(); await new Promise((r) => setTimeout(r, 200));' +
      'try { await g.stopProfiling(); console.log("no error"); } catch (e) { console.log("stopProfiling: " + e.message); }' +
      'await new Promise((r) => setTimeout(r, 100)); console.log("still running");',
  );
  assert.is(r.status, 0, r.stderr);
  if (r.stdout.includes('no timestamps')) return;
  assert.match(r.stdout, /stopProfiling: the GPU device was lost/, r.stdout);
  assert.match(r.stdout, /still running/);
});

/** A clock the pacer reads and sleeps on, moved by hand: the pacer's arithmetic without timers. */
function simulatedClock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), advance: (ms: number) => void (t += ms) };
}

/** One round of `dispatches` that completes `gpuMs` after its first submit (the sleep counts toward it). */
async function round(pacer: WaitPacer, clock: ReturnType<typeof simulatedClock>, dispatches: number, gpuMs: number): Promise<number> {
  const start = clock.now();
  const slept = pacer.sleptMs;
  pacer.submitted(dispatches);
  await pacer.beforeWait();
  clock.advance(Math.max(0, gpuMs - (clock.now() - start)));
  pacer.completed();
  return pacer.sleptMs - slept;
}

test('the wait pacer: per kind of wait, the shortest of recent rounds, paced once a kind was seen twice', async () => {
  const clock = simulatedClock();
  const pacer = new WaitPacer(true, GPU_PACING, clock);
  await pacer.beforeWait();
  assert.is(pacer.sleptMs, 0, 'nothing pending: no sleep');
  assert.is(await round(pacer, clock, 1000, 500), 0, 'first round of its kind (pipelines compiling): no estimate yet');
  assert.is(await round(pacer, clock, 1000, 200), 0, 'one round seen: still no sleep');
  // Estimate: min(500, 200) = 200 ms; sleep 80% of it less what passed since the first submit.
  pacer.submitted(1000);
  clock.advance(20);
  await pacer.beforeWait();
  assert.is(pacer.sleptMs, 140);
  clock.advance(40); // done 40 ms after the wake-up: the wake-up came first, the round is exact
  pacer.completed();
  assert.is(await round(pacer, clock, 3, 1), 0, "a small read does not borrow the step readback's estimate");
  assert.is(await round(pacer, clock, 600, 120), 0.8 * 200 * 0.6, 'fewer dispatches of the same kind: scaled down');
  // A CPU adapter's pacer goes by the median round and sleeps longer: its spin takes the workers' CPU.
  const cpu = new WaitPacer(true, CPU_ADAPTER_PACING, clock);
  for (const ms of [900, 200]) assert.is(await round(cpu, clock, 1000, ms), 0);
  assert.is(await round(cpu, clock, 1000, 300), 0.95 * 200, 'median of two: the shorter');
  assert.is(await round(cpu, clock, 1000, 300), 0.95 * 300, 'median of 900, 200 and 300');
  // A width-64 step on lavapipe takes minutes: one sleep covers up to two of them.
  const long = new WaitPacer(true, CPU_ADAPTER_PACING, clock);
  for (let i = 0; i < 2; i++) await round(long, clock, 1000, 300_000);
  assert.is(await round(long, clock, 1000, 300_000), 120_000);
});

test('the wait pacer: a round done before the wake-up shrinks the estimate until the wake-up comes first', async () => {
  const clock = simulatedClock();
  const pacer = new WaitPacer(true, GPU_PACING, clock);
  for (const ms of [300, 300]) await round(pacer, clock, 1000, ms);
  // The work got faster (a warm cache, a quieter machine): 100 ms where 300 were expected.
  const slept: number[] = [];
  for (let i = 0; i < 6; i++) slept.push(await round(pacer, clock, 1000, 100));
  assert.is(slept[0], 240);
  assert.ok(slept[1] < 0.8 * slept[0] && slept[2] < slept[1], `shrinks: ${slept.join(', ')}`);
  assert.ok(slept[5] <= 80 && slept[5] >= 0.8 * 100 * 0.75 * 0.75, `settles under the true 100 ms: ${slept.join(', ')}`);
  const off = new WaitPacer(false, GPU_PACING, clock);
  for (let i = 0; i < 3; i++) await round(off, clock, 1000, 100);
  assert.is(off.sleptMs, 0, 'disabled (GRADMIX_PACE=0): no sleep');
});

test('bind groups are reused across dispatches of the same buffers; each dispatch keeps its own parameters and offsets', async () => {
  const g = gpu();
  const x = upload(
    Array.from({ length: 64 }, (_, i) => i),
    [64],
  );
  const [out1, out2] = [g.pool.acquire(256), g.pool.acquire(256)];
  const halves = g.pool.acquire(512);
  const add = (out: GPUBuffer | { buffer: GPUBuffer; offset: number; size: number }, s: number) =>
    g.dispatch('elementwise.unary', { bindings: { x: x.buffer, out }, params: { n: 64, a_size: 1, b_size: 1, s }, workgroups: [1], overrides: { OP: 5, WG: 64 } });
  const before = { ...g.bindGroupStats };
  // One batch: the third dispatch binds the first one's buffers with another parameter.
  add(out1, 1);
  add(out2, 2);
  add(out1, 3);
  add({ buffer: halves, offset: 0, size: 256 }, 4);
  add({ buffer: halves, offset: 256, size: 256 }, 5);
  const read = async (b: GPUBuffer, bytes: number) => Array.from(new Float32Array(await g.read(b, bytes)));
  const xs = Array.from({ length: 64 }, (_, i) => i);
  assert.equal(
    await read(out1, 256),
    xs.map((v) => v + 3),
  );
  assert.equal(
    await read(out2, 256),
    xs.map((v) => v + 2),
  );
  assert.equal(await read(halves, 512), [...xs.map((v) => v + 4), ...xs.map((v) => v + 5)]);
  assert.ok(g.bindGroupStats.reused - before.reused >= 1, "the third dispatch reuses the first one's bind group");
  assert.ok(g.bindGroupStats.created + g.bindGroupStats.reused - before.created - before.reused === 5);
  for (const b of [out1, out2, halves]) g.pool.release(b);
});

test('a long recording is submitted in batches while it records, in order', async () => {
  const g = gpu();
  const x = upload([1, 2, 3, 4], [4]);
  await g.sync();
  const every = g.submitEvery; // one batch on CPU adapters: the GPUs' setting here
  g.submitEvery = 64;
  const s0 = g.submitCount;
  const y = scope(() => {
    let t = x;
    for (let i = 0; i < 200; i++) t = ops.addScalar(t, 1); // 200 dispatches, each reading the last
    return t;
  });
  assert.ok(g.submitCount - s0 >= 3, `submitted ${g.submitCount - s0} times while recording 200 dispatches`);
  assert.ok(g.pendingDispatches < 64);
  g.submitEvery = every;
  assert.equal(Array.from(await y.data()), [201, 202, 203, 204]);
});

test('submitting while recording: each dispatch keeps its own uniform, and buffers freed mid-recording are reused safely', async () => {
  // The GPUs' path (CPU adapters record one batch): each submit uploads the uniform arena from
  // offset 0 again, and each step's input buffer goes back to the pool for the next step's output.
  const g = gpu();
  const every = g.submitEvery;
  g.submitEvery = 64;
  let t = upload([1, 2, 3, 4], [4]);
  try {
    for (let i = 0; i < 200; i++) {
      const next = ops.addScalar(t, i); // a distinct parameter per dispatch: a stale one changes the sum
      t.dispose();
      t = next;
    }
    assert.ok(g.pendingDispatches < 64);
  } finally {
    g.submitEvery = every;
  }
  assert.equal(
    Array.from(await t.data()),
    [1, 2, 3, 4].map((v) => v + 19900),
  );
  t.dispose();
});

test('the buffer pool hands out the oldest free buffer of a class, whatever the release order', () => {
  const pool = new BufferPool(gpu().device, 1 << 20);
  const [a, b, c] = [pool.acquire(1000), pool.acquire(1000), pool.acquire(1000)];
  const name = new Map([
    [a, 'a'],
    [b, 'b'],
    [c, 'c'],
  ]); // GPUBuffers compare deeply equal: compare by name
  for (const order of [
    [c, a, b],
    [a, b, c],
    [b, c, a],
  ]) {
    for (const buf of order) pool.release(buf);
    assert.equal(
      [pool.acquire(1000), pool.acquire(1000), pool.acquire(1000)].map((x) => name.get(x)),
      ['a', 'b', 'c'],
    );
  }
  for (const buf of [a, b, c]) pool.release(buf);
  assert.is(pool.memory().allocations, 3);
  pool.trim();
});

test("a buffer whose size class passes the limit, but not its bytes, gets the limit's size; more bytes are refused", () => {
  const limit = 5000 - 4; // 4990 bytes fit; their size class (5120) would not
  const pool = new BufferPool(gpu().device, limit);
  const near = pool.acquire(4990);
  assert.is(near.size, limit);
  const classed = pool.acquire(3000);
  assert.is(classed.size, sizeClass(3000));
  pool.release(classed);
  assert.throws(
    () => pool.acquire(limit + 1),
    (e: Error) => e instanceof BufferTooLargeError && /a buffer of .* exceeds this adapter's limit/.test(e.message),
  );
  pool.release(near);
  assert.is(pool.acquire(4995), near, 'reused at its size');
  pool.trim();
});

test('readbacks: exact bytes at awkward sizes; a large stage is not kept after its read', async () => {
  const staged = () => (gpu() as unknown as { stages: ReadbackStages }).stages.keptSizes();
  for (const n of [1, 3, 65, 1000, (5 << 20) / 4 + 3]) {
    const values = Float32Array.from({ length: n }, (_, i) => i * 0.5);
    const t = upload(values, [n]);
    assert.equal(new Float32Array(await gpu().read(t.buffer, 4 * n)), values, `${n} floats`);
    t.dispose();
  }
  assert.ok(
    staged().every((size) => size <= 4 << 20),
    `kept stages: ${staged().join(', ')}`,
  );
});

test("the browser build's pacer twin has the Node pacer's surface (exports, methods, fields gpu.ts reads)", async () => {
  const node = await import('../runtime/wait-pacer.js');
  const page = await import('../runtime/wait-pacer.browser.js');
  for (const name of ['GPU_PACING', 'CPU_ADAPTER_PACING', 'WaitPacer']) assert.ok(name in page, `wait-pacer.browser.ts exports ${name}`);
  assert.equal(page.GPU_PACING, node.GPU_PACING);
  assert.equal(page.CPU_ADAPTER_PACING, node.CPU_ADAPTER_PACING);
  const methods = (proto: object) => Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor');
  const used = ['submitted', 'beforeWait', 'completed'];
  for (const m of used) assert.ok(methods(node.WaitPacer.prototype).includes(m) && methods(page.WaitPacer.prototype).includes(m), m);
  const twin = new page.WaitPacer(false);
  await twin.beforeWait();
  assert.equal([twin.enabled, twin.sleptMs], [false, 0]);
});

test('buffer size classes waste at most a quarter', () => {
  for (const n of [1, 255, 256, 257, 1000, 4096, 5000, 123457, 1 << 20]) {
    const c = sizeClass(n);
    assert.ok(c >= n && (c <= 256 || c <= n * 1.25 + 4), `${n} -> ${c}`);
  }
});

test('memory stays flat over 50 forward+backward steps', async () => {
  const { rng } = seeded();
  const w = upload(randomArray(rng, 64), [64], true);
  const step = () =>
    scope(() => {
      const x = upload(randomArray(rng, 8 * 64), [8, 64]);
      const h = ops.relu(ops.mul(x, w));
      const loss = ops.meanAll(ops.square(ops.sub(h, ops.addScalar(x, 0.5))));
      ops.backward(loss);
      w.grad!.dispose();
      w.grad = null;
    });
  step();
  await gpu().sync();
  const warm = gpu().memory();
  for (let i = 0; i < 50; i++) step();
  await gpu().sync();
  const after = gpu().memory();
  assert.is(after.bytesLive, warm.bytesLive, 'bytes live');
  assert.is(after.allocations, warm.allocations, 'no new GPU buffers once the pool is warm');
  assert.is(after.bytesLive + after.bytesPooled, warm.bytesLive + warm.bytesPooled, 'bytes held');
});

test('after destroyGpu(): ops say the GPU was destroyed, and old tensors fail at the op that uses them', async () => {
  const { destroyGpu, initGpu, gpu: current } = await import('../runtime/gpu.js');
  const { tensor } = await import('../src/creation.js');
  const old = tensor(new Float32Array([1, 2]), [2]);
  old.name = 'old';
  destroyGpu();
  try {
    assert.throws(() => current(), /the GPU was destroyed/);
    assert.throws(() => tensor(new Float32Array([1]), [1]), /the GPU was destroyed/);
  } finally {
    await initGpu();
  }
  const fresh = tensor(new Float32Array([3, 4]), [2]);
  assert.throws(() => ops.add(fresh, old), /tensor 'old' \[2\] belongs to a GPU device that was destroyed or lost/);
  // The failed call left nothing behind: the next valid op works.
  assert.equal(Array.from(await ops.add(fresh, fresh).data()), [6, 8]);
  old.dispose(); // its buffer died with its device and does not enter the new pool
  assert.ok(!current().isLost);
});

test('a lost device is named at the next op, and initGpu() starts a new one', async () => {
  const { initGpu, gpu: current } = await import('../runtime/gpu.js');
  const { tensor } = await import('../src/creation.js');
  const x = tensor(new Float32Array([1]), [1]);
  await ops.neg(x).data(); // submitted and done: the batch before the loss
  current().device.destroy(); // what a driver reset looks like to the engine
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(current().isLost);
  assert.throws(() => ops.exp(x), /was lost.*; last kernels submitted: (.+, )?elementwise\.unary, copy$/);
  await initGpu();
  assert.ok(!current().isLost, 'a new device');
  assert.equal(Array.from(await ops.exp(tensor(new Float32Array([0]), [1])).data()), [1]);
});

test.run();
