// The GPU layer: one device, a pipeline cache, a buffer pool, and a command batcher that
// records dispatches into one compute pass until something needs their results (a readback)
// or an upload must not overtake them. Knows nothing of tensors or autograd.
import { acquireDevice, formatAdapter, type AcquiredDevice, type DeviceOptions, type AdapterDescription } from './device.js';
import { BufferPool, type MemoryStats } from './buffer-pool.js';
import { BindGroupCache, type Bindings } from './bind-group-cache.js';
import { ReadbackStages } from './readback-stages.js';
import type { KernelTime, Profiler } from './profiler.js';
import { CPU_ADAPTER_PACING, GPU_PACING, WaitPacer } from './wait-pacer.js';
import { KernelError, kernelSpec, packUniform, type KernelSpec, type ParamValue } from './kernel-spec.js';

export type { BufferBinding } from './bind-group-cache.js';
import { env, isNode } from './platform.js';

export type Overrides = Record<string, number>;

export interface Dispatch {
  /** Storage buffers by their WGSL variable name. */
  bindings: Bindings;
  /** Uniform struct fields by name. */
  params?: Record<string, ParamValue>;
  /** Workgroup counts; use `grid()` for 1-D problems larger than 65535 groups. */
  workgroups: readonly [number, number?, number?];
  /** Pipeline-overridable constants: each distinct set compiles (once) to its own pipeline. */
  overrides?: Overrides;
}

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Names the pipeline in bind-group cache keys. */
  id: number;
}

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment on every adapter seen
const UNIFORM_ARENA_BYTES = 256 * 1024;
const MAX_WORKGROUPS = 65535;
/**
 * Dispatches per submit while recording, on GPUs: the GPU starts on the first ones while the CPU
 * records the rest of a step (autograd and encoding take 8-25 ms of main-thread CPU per ResNet18
 * step on lavapipe; recorded into one batch, all of it is GPU idle time). A submit costs tens of
 * us. Not on CPU adapters: there the "GPU" is the same cores the recording runs on, so overlap
 * gains nothing, and ResNet18 w8 B32 plain steps measured 9-12% slower with it (bench/NOTES.md).
 */
const SUBMIT_EVERY = 64;

/** Workgroups for `items` independent items, `perGroup` per workgroup, folded into 2-D past the limit. */
export function grid(items: number, perGroup: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(items / perGroup));
  if (groups <= MAX_WORKGROUPS) return [groups, 1, 1];
  return [MAX_WORKGROUPS, Math.ceil(groups / MAX_WORKGROUPS), 1];
}

export class Gpu {
  readonly instance: GPU;
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly description: AdapterDescription;
  readonly hasTimestamps: boolean;
  /** The `subgroups` feature is on (runtime/device.ts; GRADMIX_SUBGROUPS=0 leaves it off). */
  readonly hasSubgroups: boolean;
  readonly pool: BufferPool;
  /** Print every dispatch and check each one in its own error scope (env GRADMIX_DEBUG=1). */
  debug: boolean;

  private pipelines = new Map<string, CachedPipeline>();
  /** Not the map's size: a pipeline that failed to compile leaves it, and ids must stay unique. */
  private nextPipelineId = 0;
  private pipelinesBySignature = new Map<string, CachedPipeline>();
  private readonly bindGroups: BindGroupCache;
  /** Bind groups created and reused since start (a warm training step reuses nearly all). */
  get bindGroupStats(): { created: number; reused: number } {
    return this.bindGroups.stats;
  }
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchKernels: string[] = [];
  /** The kernels of the last submitted batch: what ran last when the device is lost (the recording one has not run). */
  private submittedKernels: string[] = [];
  private uniformArena: GPUBuffer;
  private uniformStaging = new ArrayBuffer(UNIFORM_ARENA_BYTES);
  private uniformView = new DataView(this.uniformStaging);
  private uniformUsed = 0;
  private pendingChecks: Promise<void>[] = [];
  private asyncError: Error | null = null;
  private readonly stages: ReadbackStages;
  private lost = false;
  /** Why the device is gone: destroyed on purpose (destroyGpu) or lost (driver reset, ...). */
  private goneReason: string | null = null;
  private profiler: Profiler | null = null;
  readonly pacer: WaitPacer;
  dispatchCount = 0;
  submitCount = 0;
  /** Dispatches recorded since the last submit. */
  pendingDispatches = 0;
  /** Dispatches per submit while recording (Infinity: one batch until something needs it). */
  submitEvery: number;
  /** Main-thread milliseconds spent in dispatch() (validation, uniforms, bind group, encoding). */
  encodeMs = 0;

  constructor(acquired: AcquiredDevice) {
    this.instance = acquired.instance;
    this.device = acquired.device;
    this.adapter = acquired.adapter;
    this.description = acquired.description;
    this.hasTimestamps = acquired.hasTimestamps;
    this.hasSubgroups = acquired.hasSubgroups;
    this.debug = env('GRADMIX_DEBUG') === '1';
    // Every pooled buffer is bound as a whole storage buffer, so the smaller limit applies.
    this.pool = new BufferPool(this.device, Math.min(this.device.limits.maxBufferSize, this.device.limits.maxStorageBufferBindingSize));
    // On every adapter in Node, where Dawn's binding spins while it waits (runtime/wait-pacer.ts).
    this.submitEvery = this.cpuAdapter ? Infinity : SUBMIT_EVERY;
    this.pacer = new WaitPacer(isNode() && env('GRADMIX_PACE') !== '0', this.cpuAdapter ? CPU_ADAPTER_PACING : GPU_PACING);
    this.uniformArena = this.device.createBuffer({
      size: UNIFORM_ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform-arena',
    });
    this.bindGroups = new BindGroupCache(this.device, this.uniformArena);
    this.stages = new ReadbackStages(this.device);
    this.device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.asyncError ??= new GpuError(`WebGPU error: ${err.message}`);
    });
    void this.device.lost.then((info) => {
      this.lost = true;
      if (this.goneReason) return; // destroyed on purpose
      this.goneReason = `the GPU device was lost (${info.reason || 'unknown'}${info.message ? `: ${info.message}` : ''}); last kernels submitted: ${[...new Set(this.submittedKernels)].join(', ') || 'none'}`;
      this.asyncError ??= new GpuError(this.goneReason);
    });
  }

  /**
   * Which family of kernel variants suits this adapter: 'register' (register-blocked, no
   * workgroup memory or barriers) on CPU rasterisers such as lavapipe and SwiftShader, where
   * barriers cost several times more than they save; 'tiled' (workgroup-memory tiles) on GPUs.
   * GRADMIX_KERNEL_VARIANT=register|tiled overrides the choice.
   */
  get kernelVariant(): 'register' | 'tiled' {
    const forced = env('GRADMIX_KERNEL_VARIANT');
    if (forced === 'register' || forced === 'tiled') return forced;
    return this.cpuAdapter ? 'register' : 'tiled';
  }

  /** True for adapters that run compute shaders on the CPU (lavapipe/llvmpipe, SwiftShader). */
  get cpuAdapter(): boolean {
    const d = this.description;
    const text = `${d.vendor} ${d.architecture} ${d.device} ${d.description}`.toLowerCase();
    return /llvmpipe|lavapipe|swiftshader|software/.test(text);
  }

  /** True once the device is destroyed or lost: nothing more can run on it. */
  get isLost(): boolean {
    return this.lost;
  }

  describe(): string {
    return formatAdapter(this.description);
  }

  memory(): MemoryStats {
    return this.pool.memory();
  }

  private pipelineFor(spec: KernelSpec, overrides: Overrides): CachedPipeline {
    // Every dispatch looks its pipeline up: by the overrides in the caller's order first, without
    // the sorted key's arrays (the largest share of dispatch()'s own JavaScript time, with the
    // garbage they made); the first use of an order checks the names and finds the pipeline.
    let signature = `${spec.name}#${spec.uid}`;
    for (const k in overrides) signature += ` ${k}=${overrides[k]}`;
    let cached = this.pipelinesBySignature.get(signature);
    if (!cached) this.pipelinesBySignature.set(signature, (cached = this.compiledPipeline(spec, overrides)));
    return cached;
  }

  private compiledPipeline(spec: KernelSpec, overrides: Overrides): CachedPipeline {
    const keys = Object.keys(overrides).sort();
    for (const k of keys) {
      if (!spec.overrides.has(k)) {
        throw new KernelError(spec.name, `unknown override '${k}'; the shader declares: ${[...spec.overrides].join(', ') || 'none'}`);
      }
    }
    const key = `${spec.name}#${spec.uid}|` + keys.map((k) => `${k}=${overrides[k]}`).join(',');
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const label = keys.length ? `${spec.name}[${keys.map((k) => `${k}=${overrides[k]}`).join(',')}]` : spec.name;
    const layout = this.device.createBindGroupLayout({
      label,
      entries: spec.bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.kind, hasDynamicOffset: b.kind === 'uniform' },
      })),
    });
    // In a scope of its own (once per pipeline): a failed compile is reported with the compiler's
    // message and dropped, so that each later use compiles and reports it again rather than
    // failing as "[Invalid ComputePipeline] is invalid due to a previous error".
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: spec.source, label });
    const pipeline = this.device.createComputePipeline({
      label,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout], label }),
      compute: { module, entryPoint: spec.entryPoint, constants: overrides },
    });
    const cached = { pipeline, layout, id: this.nextPipelineId++ };
    this.pipelines.set(key, cached);
    const check = this.device.popErrorScope().then((err) => {
      if (!err) return;
      this.pipelines.delete(key);
      for (const [signature, c] of this.pipelinesBySignature) if (c === cached) this.pipelinesBySignature.delete(signature);
      this.asyncError ??= new KernelError(label, `failed to compile: ${err.message}`);
    });
    this.pendingChecks.push(check);
    return cached;
  }

  /** Records one dispatch of a kernel; it runs when the batch is flushed. */
  dispatch(kernel: string, d: Dispatch): void {
    const t0 = performance.now();
    try {
      this.record(kernel, d);
    } finally {
      this.encodeMs += performance.now() - t0;
    }
  }

  private record(kernel: string, d: Dispatch): void {
    this.throwIfFailed();
    const spec = kernelSpec(kernel);
    for (const name of Object.keys(d.bindings)) {
      if (!spec.bindings.some((b) => b.name === name && b.kind !== 'uniform')) {
        throw new KernelError(
          kernel,
          `unknown binding '${name}'; the shader binds: ${spec.bindings
            .filter((b) => b.kind !== 'uniform')
            .map((b) => b.name)
            .join(', ')}`,
        );
      }
    }
    const [x, y = 1, z = 1] = d.workgroups;
    for (const n of [x, y, z]) {
      if (!Number.isInteger(n) || n < 0 || n > MAX_WORKGROUPS) throw new KernelError(kernel, `bad workgroup count ${n} in [${x}, ${y}, ${z}]`);
    }
    const empty = x * y * z === 0;
    // Any flush comes before the uniform offset is taken: a flush starts the arena again at 0.
    if (!empty && this.profiler && !this.profiler.hasRoom) this.flush();
    if (spec.uniform && this.uniformUsed + spec.uniform.size > UNIFORM_ARENA_BYTES) this.flush();
    const uniformOffset = this.uniformUsed;
    packUniform(spec, d.params ?? {}, this.uniformView, uniformOffset);
    const cached = this.pipelineFor(spec, d.overrides ?? {});
    const key = this.bindGroups.key(kernel, spec, cached.id, d.bindings);
    // Checked like any other, but nothing runs: it takes no uniform slot (with no batch open, no flush would free one).
    if (empty) return;
    if (spec.uniform) this.uniformUsed += Math.ceil(spec.uniform.size / UNIFORM_SLOT) * UNIFORM_SLOT;
    if (this.debug) {
      console.log(`gradmix: dispatch ${kernel} ${JSON.stringify(d.overrides ?? {})} [${x},${y},${z}] ${JSON.stringify(d.params ?? {})}`);
      // Inside the batch's scopes (opened with its encoder), so this one pops first.
      this.ensureEncoder();
      this.device.pushErrorScope('validation');
    }
    const bindGroup = this.bindGroups.get(key, spec, cached.layout, d.bindings);
    if (this.profiler) {
      // One timed pass per dispatch.
      this.endPass();
      const label = d.overrides && Object.keys(d.overrides).length ? `${kernel} ${JSON.stringify(d.overrides)}` : kernel;
      this.pass = this.ensureEncoder().beginComputePass(this.profiler.passFor(label));
    } else if (!this.pass) {
      this.pass = this.ensureEncoder().beginComputePass({ label: 'batch' });
    }
    this.pass.setPipeline(cached.pipeline);
    if (spec.uniform) this.pass.setBindGroup(0, bindGroup, [uniformOffset]);
    else this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) this.endPass();
    this.batchKernels.push(kernel);
    this.dispatchCount++;
    if (this.debug) {
      const scope = this.device.popErrorScope();
      this.trackScope(scope, () => `kernel '${kernel}'`);
    }
    if (++this.pendingDispatches >= this.submitEvery) this.flush();
  }

  private trackScope(scope: Promise<GPUError | null>, what: () => string): void {
    const check = scope.then((err) => {
      if (err) this.asyncError ??= new GpuError(`WebGPU ${err.constructor.name} in ${what()}: ${err.message}`);
    });
    this.pendingChecks.push(check);
  }

  /** Encodes a buffer-to-buffer copy in order with the batch's dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.batchKernels.push('copy');
  }

  /** The batch's command encoder; opening one also opens the batch's error scopes. */
  private ensureEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      this.encoder = this.device.createCommandEncoder({ label: 'batch' });
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
    }
    return this.encoder;
  }

  /**
   * Starts timing every dispatch with GPU timestamp queries (one pass per dispatch, so batches
   * run a little slower). Needs the adapter's 'timestamp-query' feature.
   */
  async startProfiling(): Promise<void> {
    if (!this.hasTimestamps) throw new GpuError(`profiling needs the 'timestamp-query' feature, which ${this.describe()} does not offer`);
    this.flush();
    // Loaded on first use: pages that never profile do not download it (the bundle's size budget).
    this.profiler ??= new (await import('./profiler.js')).Profiler(this.device);
    this.profiler.reset();
  }

  /** Stops timing and returns the per-kernel GPU time since startProfiling(). */
  async stopProfiling(): Promise<KernelTime[]> {
    const p = this.profiler;
    if (!p) return [];
    this.flush();
    this.profiler = null;
    try {
      return await p.report();
    } catch (e) {
      this.throwIfFailed(); // a lost device: its reason, not the readback it aborted
      throw e;
    } finally {
      p.destroy();
    }
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.uniformUsed > 0) this.device.queue.writeBuffer(this.uniformArena, 0, this.uniformStaging, 0, this.uniformUsed);
    const afterSubmit = this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    afterSubmit?.();
    // Copies are memcpys next to a kernel's cost: counting them would have the pacer oversleep a
    // batch of many copies (the finite guard's, a readback's).
    this.pacer.submitted(this.batchKernels.filter((k) => k !== 'copy').length);
    this.submitCount++;
    this.pendingDispatches = 0;
    this.encoder = null;
    const kernels = this.batchKernels;
    this.submittedKernels = kernels;
    this.batchKernels = [];
    this.uniformUsed = 0;
    const names = () => `a batch of ${kernels.length} commands (kernels: ${[...new Set(kernels)].join(', ')})`;
    this.trackScope(this.device.popErrorScope(), names);
    this.trackScope(this.device.popErrorScope(), names);
  }

  /**
   * Destroys the pooled (free) buffers. Recorded commands may still use one (a tensor disposed
   * before its batch ran): they are submitted first, since WebGPU lets submitted work finish on a
   * destroyed buffer but refuses to submit it.
   */
  trimPool(): void {
    this.flush();
    this.pool.trim();
  }

  /** Throws a pending asynchronous GPU error once (the device stays usable after validation errors). */
  private throwIfFailed(): void {
    const err = this.asyncError;
    if (err) {
      this.asyncError = null;
      throw err;
    }
    if (this.lost) throw new GpuError(`${this.goneReason ?? 'the GPU device was lost'}; call initGpu() again`);
  }

  /** Waits for errors of everything submitted; throws the first one. */
  async sync(): Promise<void> {
    this.flush();
    const checks = this.pendingChecks;
    this.pendingChecks = [];
    await this.pacer.beforeWait();
    await Promise.all(checks);
    await this.device.queue.onSubmittedWorkDone();
    this.pacer.completed();
    this.throwIfFailed();
  }

  /** Writes host data into a buffer, after (never before) the commands already recorded. */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.throwIfFailed();
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Reads `bytes` from a buffer once every recorded command has run. */
  async read(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    this.throwIfFailed();
    const copyBytes = Math.ceil(bytes / 4) * 4;
    const stage = this.stages.acquire(copyBytes);
    this.copy(buffer, offset, stage, 0, copyBytes);
    this.flush();
    const checks = this.pendingChecks;
    this.pendingChecks = [];
    try {
      await this.pacer.beforeWait();
      await Promise.all(checks);
      this.throwIfFailed();
      await stage.mapAsync(GPUMapMode.READ, 0, copyBytes);
      this.pacer.completed();
      const out = stage.getMappedRange(0, copyBytes).slice(0, bytes);
      stage.unmap();
      return out;
    } catch (e) {
      this.throwIfFailed();
      throw e;
    } finally {
      this.stages.release(stage);
    }
  }

  destroy(): void {
    if (this.lost) return;
    this.pool.trim(); // no flush first (trimPool): the device and what was recorded for it go now
    this.stages.destroy();
    this.uniformArena.destroy();
    this.lost = true;
    this.goneReason = 'the GPU was destroyed (destroyGpu())';
    this.device.destroy();
  }
}

let current: Gpu | null = null;
let starting: Promise<Gpu> | null = null;
let destroyed = false;

/** The process-wide GPU, created on first use (and again after destroyGpu() or a lost device). */
export async function initGpu(options: DeviceOptions = {}): Promise<Gpu> {
  if (current && !current.isLost) return current;
  if (current) current = null; // a lost device: start a new one
  starting ??= acquireDevice(options).then((d) => {
    destroyed = false;
    return (current = new Gpu(d));
  });
  try {
    return await starting;
  } finally {
    starting = null;
  }
}

/** The GPU made by initGpu(); throws if there is none (yet, or any more). */
export function gpu(): Gpu {
  if (!current) throw new GpuError(destroyed ? 'the GPU was destroyed (destroyGpu()); await initGpu() to start a new one' : 'no GPU yet: await initGpu() first');
  return current;
}

/** The GPU made by initGpu(), or null: for checks that must not throw (which device a tensor belongs to). */
export function currentGpu(): Gpu | null {
  return current;
}

/** Destroys the device so a Node process can exit (Dawn keeps the event loop alive otherwise). */
export function destroyGpu(): void {
  if (current) destroyed = true;
  current?.destroy();
  current = null;
}
