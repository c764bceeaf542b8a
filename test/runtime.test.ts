// The GPU layer's promises: clear errors before dispatch (reflected bindings and parameters),
// GPU validation errors that name the kernel, a clear error without an adapter, flat memory over
// repeated steps, and a Node process that exits once the device is destroyed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { gpu } from '../runtime/gpu.js';
import { sizeClass } from '../runtime/buffer-pool.js';
import { WaitPacer } from '../runtime/wait-pacer.js';
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
  const r = runScript(
    "import { initGpu } from './runtime/gpu.ts'; try { await initGpu(); console.log('got an adapter'); } catch (e) { console.log(e.name + ': ' + e.message); }",
    { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' },
  );
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
  gpu().startProfiling();
  const x = upload([1, 2, 3, 4], [4]);
  const y = ops.exp(ops.neg(x));
  await y.data();
  const times = await gpu().stopProfiling();
  const names = times.map((t) => t.kernel);
  assert.ok(names.some((n) => n.startsWith('elementwise.unary')), names.join(', '));
  for (const t of times) assert.ok(t.ms >= 0 && t.count >= 1, JSON.stringify(t));
  // Profiling off again: dispatches share one pass and nothing more is recorded.
  assert.equal(await gpu().stopProfiling(), []);
});

test('the wait pacer sleeps through most of the expected GPU time, scaled to the pending work', async () => {
  const pacer = new WaitPacer(true);
  const elapsed = async () => {
    const t0 = performance.now();
    await pacer.beforeWait();
    return performance.now() - t0;
  };
  assert.ok((await elapsed()) < 2, 'nothing pending: no sleep');
  pacer.submitted(100);
  await new Promise((r) => setTimeout(r, 100));
  pacer.completed(); // a round of 100 dispatches took ~100 ms
  pacer.submitted(50);
  const half = await elapsed();
  assert.ok(half >= 30 && half < 60, `half the work: slept ${half.toFixed(1)} ms, expected ~40`);
  pacer.completed();
  const off = new WaitPacer(false);
  off.submitted(100);
  const t0 = performance.now();
  await off.beforeWait();
  assert.ok(performance.now() - t0 < 2, 'disabled: no sleep');
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
  current().device.destroy(); // what a driver reset looks like to the engine
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(current().isLost);
  assert.throws(() => ops.exp(x), /was lost|destroyed/);
  await initGpu();
  assert.ok(!current().isLost, 'a new device');
  assert.equal(Array.from(await ops.exp(tensor(new Float32Array([0]), [1])).data()), [1]);
});

test.run();
