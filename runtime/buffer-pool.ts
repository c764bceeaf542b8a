// Storage buffers recycled by size class, so a training loop that frees what it allocates
// reaches a steady state with no new GPU allocations per step. Of the free buffers of a class,
// the oldest is handed out: which buffer a tensor gets then depends on which buffers are free,
// not on the order they were released in, so a training step's tensors get the same buffers
// every step and the GPU layer's cached bind groups match (with a last-in-first-out list the
// buffers changed roles from step to step for dozens of steps: a third of a GradMix step's bind
// groups were created anew).

export interface MemoryStats {
  /** Bytes held by buffers handed out and not yet released. */
  bytesLive: number;
  /** The most bytesLive has reached since the pool was made or resetPeak() was last called. */
  peakBytesLive: number;
  /** Bytes held by released buffers waiting in the pool. */
  bytesPooled: number;
  buffersLive: number;
  buffersPooled: number;
  /** GPU buffers created since start: flat from step to step once the pool is warm. */
  allocations: number;
}

const MIN_BYTES = 256;

/** Size classes: 4 per power of two (x1, x1.25, x1.5, x1.75), so at most 25% is wasted. */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const quarter = pow / 4;
  return Math.ceil(bytes / quarter) * quarter;
}

/**
 * The size of a buffer for `bytes` under a per-buffer `limit`: its size class, or the limit itself
 * where the class passes it but the bytes do not (a 1.9 GiB tensor under a 2 GiB - 4 limit).
 * More bytes than the limit is a BufferTooLargeError.
 */
export function sizeWithin(bytes: number, limit: number): number {
  if (bytes > limit) throw new BufferTooLargeError(bytes, limit);
  return Math.min(sizeClass(Math.max(bytes, 4)), Math.floor(limit / 4) * 4);
}

/** A buffer over the adapter's per-buffer limit: thrown when it is asked for, before any GPU work. */
export class BufferTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`a buffer of ${mib(bytes)} exceeds this adapter's limit of ${mib(limit)} per storage buffer (maxStorageBufferBindingSize / maxBufferSize); use smaller tiles or batches`);
    this.name = 'BufferTooLargeError';
  }
}

export function mib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export const STORAGE_USAGE = 0x0080 /* STORAGE */ | 0x0004 /* COPY_SRC */ | 0x0008; /* COPY_DST */

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Creation order of every buffer made here. */
  private age = new WeakMap<GPUBuffer, number>();
  private stats: MemoryStats = { bytesLive: 0, peakBytesLive: 0, bytesPooled: 0, buffersLive: 0, buffersPooled: 0, allocations: 0 };

  constructor(
    private device: GPUDevice,
    /** The most bytes one buffer may hold on this device (what a binding may see). */
    readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, label = 'tensor'): GPUBuffer {
    const size = sizeWithin(bytes, this.maxBufferSize);
    let buffer = this.takeOldest(this.free.get(size));
    if (buffer) {
      this.stats.bytesPooled -= size;
      this.stats.buffersPooled--;
    } else {
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.age.set(buffer, this.stats.allocations);
      this.stats.allocations++;
    }
    this.stats.bytesLive += size;
    this.stats.peakBytesLive = Math.max(this.stats.peakBytesLive, this.stats.bytesLive);
    this.stats.buffersLive++;
    return buffer;
  }

  private takeOldest(list: GPUBuffer[] | undefined): GPUBuffer | undefined {
    if (!list?.length) return undefined;
    let best = list.length - 1;
    for (let i = 0; i < list.length - 1; i++) if ((this.age.get(list[i]) ?? 0) < (this.age.get(list[best]) ?? 0)) best = i;
    const buffer = list[best];
    list[best] = list[list.length - 1];
    list.pop();
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.stats.bytesLive -= size;
    this.stats.buffersLive--;
    this.stats.bytesPooled += size;
    this.stats.buffersPooled++;
  }

  /** Destroys every pooled buffer (live ones are untouched). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.bytesPooled = 0;
    this.stats.buffersPooled = 0;
  }

  /** Starts a new peak from the bytes live now (e.g. before one training step). */
  resetPeak(): void {
    this.stats.peakBytesLive = this.stats.bytesLive;
  }

  memory(): MemoryStats {
    return { ...this.stats };
  }
}
