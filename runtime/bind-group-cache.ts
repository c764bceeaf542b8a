// Bind groups kept for reuse. Creating one is most of a dispatch's CPU cost in Dawn (bench/NOTES.md,
// issue 12 item 3), and a training step binds the same pooled buffers to the same kernels every
// step. So they are cached by pipeline and storage buffers; the uniform, whose offset in the arena
// changes every dispatch, is bound with a dynamic offset and is not part of the key. Buffers are
// named by ids that are never reused, so a destroyed buffer's entries can only match a dispatch
// that binds the destroyed buffer, which is an error with or without the cache.
import { KernelError, type KernelSpec } from './kernel-spec.js';

export interface BufferBinding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** Storage buffers by their WGSL variable name. */
export type Bindings = Record<string, GPUBuffer | BufferBinding>;

/** Bind groups kept for reuse; past this the cache starts over (a step binds a few thousand). */
const MAX_BIND_GROUPS = 16384;

export class BindGroupCache {
  /** Bind groups created and reused since start (a warm training step reuses nearly all). */
  readonly stats = { created: 0, reused: 0 };
  private groups = new Map<string, GPUBindGroup>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Bound (with a dynamic offset) wherever a kernel has a uniform. */
    private readonly uniformArena: GPUBuffer,
  ) {}

  /** The cache key of a dispatch of `pipelineId`; throws on a missing binding. */
  key(kernel: string, spec: KernelSpec, pipelineId: number, bindings: Bindings): string {
    let key = String(pipelineId);
    for (const b of spec.bindings) {
      if (b.kind === 'uniform') continue;
      const given = bindings[b.name];
      if (!given) throw new KernelError(kernel, `missing binding '${b.name}'`);
      key += 'buffer' in given ? ` ${this.bufferId(given.buffer)}@${given.offset ?? 0}+${given.size ?? ''}` : ` ${this.bufferId(given)}`;
    }
    return key;
  }

  /** The bind group under `key`, created on its first use. */
  get(key: string, spec: KernelSpec, layout: GPUBindGroupLayout, bindings: Bindings): GPUBindGroup {
    const hit = this.groups.get(key);
    if (hit) {
      this.stats.reused++;
      return hit;
    }
    const entries: GPUBindGroupEntry[] = spec.bindings.map((b) => {
      if (b.kind === 'uniform') return { binding: b.binding, resource: { buffer: this.uniformArena, offset: 0, size: spec.uniform!.size } };
      const given = bindings[b.name];
      return { binding: b.binding, resource: 'buffer' in given ? given : { buffer: given } };
    });
    const group = this.device.createBindGroup({ layout, entries, label: spec.name });
    if (this.groups.size >= MAX_BIND_GROUPS) this.groups.clear();
    this.groups.set(key, group);
    this.stats.created++;
    return group;
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = this.nextBufferId++));
    return id;
  }
}
