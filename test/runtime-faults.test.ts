// The GPU layer's bookkeeping at its edges: the pooled memory freed while commands are recorded,
// the uniform arena across a flush forced by the profiler, dispatches of zero workgroups, a kernel
// that does not compile, and autotune timing with the wait pacer on.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../runtime/gpu.js';
import { CAPACITY } from '../runtime/profiler.js';
import { registerKernelSource } from '../runtime/kernel-spec.js';
import { measureCost } from '../runtime/run-cost.js';
import { releasePooledMemory } from '../src/browser/gpu.js';
import * as ops from '../src/ops/index.js';
import { setupGpu, upload } from './helpers.js';

const test = suite('runtime-faults');
test.before(setupGpu);

const KERNELS = `
struct P { v: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> sink: array<f32>;
@compute @workgroup_size(1) fn put() { out[0] = p.v; }
@compute @workgroup_size(1) fn nop() { sink[0] = sink[0] + 1.0; }
`;

const readFloat = async (b: GPUBuffer) => new Float32Array(await gpu().read(b, 4))[0];

test('releasePooledMemory(): a pooled buffer that recorded commands still use is destroyed only after they are submitted', async () => {
  const x = upload([1, 2, 3], [3]);
  await gpu().sync();
  const y = ops.neg(x); // recorded, not submitted
  const z = ops.neg(y);
  y.dispose(); // its buffer goes back to the pool
  releasePooledMemory();
  assert.is(gpu().memory().buffersPooled, 0);
  assert.equal(Array.from(await z.data()), [1, 2, 3]);
});

test('profiling: the dispatch whose timed pass needs a new batch keeps its own parameters', async () => {
  const g = gpu();
  if (!g.hasTimestamps) return; // adapters without timestamp queries cannot profile
  await registerKernelSource('rtfaults', KERNELS);
  const [a, b, sink] = [g.pool.acquire(4), g.pool.acquire(4), g.pool.acquire(4)];
  await g.startProfiling();
  try {
    // Dispatches without parameters fill the profiler's batch (one pass, two queries each) while
    // 5 uniform slots are used; the next dispatch starts a new batch, whose uniforms restart at 0.
    for (let i = 0; i < CAPACITY / 2 - 5; i++) g.dispatch('rtfaults.nop', { bindings: { sink }, workgroups: [1] });
    for (let i = 0; i < 5; i++) g.dispatch('rtfaults.put', { bindings: { out: b }, params: { v: 7 }, workgroups: [1] });
    g.dispatch('rtfaults.put', { bindings: { out: a }, params: { v: 42 }, workgroups: [1] });
    for (let i = 0; i < 10; i++) g.dispatch('rtfaults.put', { bindings: { out: b }, params: { v: 7 }, workgroups: [1] });
    assert.is(await readFloat(a), 42);
  } finally {
    await g.stopProfiling();
    for (const buf of [a, b, sink]) g.pool.release(buf);
  }
});

test('stopProfiling() that fails still destroys the query set', async () => {
  const g = gpu();
  if (!g.hasTimestamps) return;
  await g.startProfiling();
  const profiler = (g as unknown as { profiler: { report: () => Promise<unknown>; destroy: () => void } }).profiler;
  const destroy = profiler.destroy.bind(profiler);
  let destroyed = false;
  profiler.report = () => Promise.reject(new Error('timestamps unreadable'));
  profiler.destroy = () => {
    destroyed = true;
    destroy();
  };
  let message = '';
  await g.stopProfiling().catch((e: Error) => (message = e.message));
  assert.is(message, 'timestamps unreadable');
  assert.ok(destroyed);
});

test('dispatches of zero workgroups are checked but take no uniform slot', async () => {
  const g = gpu();
  const x = upload([1, 2], [2]);
  await g.sync(); // no batch open: nothing would flush the slots they took
  const params = { n: 2, a_size: 1, b_size: 1, s: 0 };
  for (let i = 0; i < 1100; i++) g.dispatch('elementwise.unary', { bindings: { x: x.buffer, out: x.buffer }, params, workgroups: [0] });
  assert.throws(() => g.dispatch('elementwise.unary', { bindings: { x: x.buffer, out: x.buffer }, params: { n: 2 }, workgroups: [0] }), /missing parameter 'a_size'/);
  assert.equal(Array.from(await ops.neg(x).data()), [-1, -2]);
});

test('a kernel that does not compile is named with its overrides and the compiler message at every use; later pipelines keep their own bind groups', async () => {
  await registerKernelSource(
    'rtfaultsbad',
    `override K: u32 = 1u;
struct P { v: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn put() { out[0] = p.v + K; }`,
  );
  // Two kernels that bind the same buffers through different layouts (read-only, then read-write
  // first): a bind group cached for one must never serve the other.
  const copy = (name: string, from: string, to: string) => `struct P { v: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, ${from}> a: array<f32>;
@group(0) @binding(2) var<storage, ${to}> b: array<f32>;
@compute @workgroup_size(1) fn ${name}() { ${from === 'read' ? 'b[0] = a[0]' : 'a[0] = b[0]'} + p.v; }`;
  await registerKernelSource('rtfaultsab', copy('ab', 'read', 'read_write'));
  await registerKernelSource('rtfaultsba', copy('ba', 'read_write', 'read'));
  const g = gpu();
  const [out, u, w] = [g.pool.acquire(4), g.pool.acquire(4), g.pool.acquire(4)];
  try {
    for (let use = 0; use < 2; use++) {
      let message = '';
      try {
        g.dispatch('rtfaultsbad.put', { bindings: { out }, params: { v: 1 }, workgroups: [1], overrides: { K: 2 } });
        if (use === 0) g.dispatch('rtfaultsab.ab', { bindings: { a: u, b: w }, params: { v: 1 }, workgroups: [1] }); // compiled while the failure is unknown
        await g.sync();
      } catch (e) {
        message = (e as Error).message;
      }
      assert.match(message, /^kernel 'rtfaultsbad\.put\[K=2\]': failed to compile: .*no matching overload/s, `use ${use + 1}: ${message}`);
    }
    g.write(u, new Float32Array([5]));
    g.write(w, new Float32Array([1]));
    g.dispatch('rtfaultsba.ba', { bindings: { a: u, b: w }, params: { v: 2 }, workgroups: [1] }); // u = w + 2
    assert.is(await readFloat(u), 3);
  } finally {
    for (const buf of [out, u, w]) g.pool.release(buf);
  }
  assert.equal(Array.from(await ops.neg(upload([1, 2], [2])).data()), [-1, -2], 'the device stays usable');
});

test('measureCost times without the wait pacer (its sleeps follow other candidates), then restores it', async () => {
  const g = gpu();
  const x = upload([1, 2], [2]);
  await g.sync();
  const pacer = g.pacer as unknown as { enabled: boolean; estimate: () => number };
  const enabled = pacer.enabled;
  pacer.enabled = true;
  pacer.estimate = () => 500; // what a slower candidate before this one would have taught it
  const slept = g.pacer.sleptMs;
  try {
    await measureCost(() => ops.neg(x).dispose());
    assert.is(g.pacer.sleptMs, slept, 'slept while timing');
    assert.ok(pacer.enabled, 'pacer left off');
    await measureCost(() => {
      throw new Error('run failed');
    }).catch(() => undefined);
    assert.ok(pacer.enabled, 'pacer left off after a failed run');
  } finally {
    delete (pacer as { estimate?: unknown }).estimate;
    pacer.enabled = enabled;
  }
});

test.run();
