// Per-kernel GPU time from timestamp queries: while profiling, every dispatch gets its own compute
// pass with begin/end timestamps; each submitted batch resolves its queries and the durations are
// summed per kernel name (with its overrides). Used by `GRADMIX_PROFILE=1` and the benchmarks.

export interface KernelTime {
  kernel: string;
  count: number;
  /** Total GPU time in milliseconds. */
  ms: number;
}

const CAPACITY = 2048; // queries per batch: two per dispatch

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private names: string[] = [];
  private pending: Promise<void>[] = [];
  private readonly totals = new Map<string, KernelTime>();

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: CAPACITY, label: 'profiler' });
  }

  /** False when the batch is full and must be flushed first. */
  get hasRoom(): boolean {
    return 2 * (this.names.length + 1) <= CAPACITY;
  }

  /** The pass descriptor that times the next dispatch. */
  passFor(kernel: string): GPUComputePassDescriptor {
    const k = this.names.length;
    this.names.push(kernel);
    return { label: kernel, timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } };
  }

  /** Encodes the resolve of this batch's timestamps; call before the encoder is finished. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const n = this.names.length;
    if (n === 0) return null;
    const bytes = 16 * n;
    const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
    const names = this.names;
    this.names = [];
    // Mapped only after the submit, which the caller does next.
    return () => {
      this.pending.push(
        readback.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigUint64Array(readback.getMappedRange());
          names.forEach((name, i) => {
            const entry = this.totals.get(name) ?? { kernel: name, count: 0, ms: 0 };
            entry.count++;
            entry.ms += Number(t[2 * i + 1] - t[2 * i]) / 1e6;
            this.totals.set(name, entry);
          });
          readback.unmap();
          readback.destroy();
          resolved.destroy();
        }),
      );
    };
  }

  /** Per-kernel totals so far, slowest first. */
  async report(): Promise<KernelTime[]> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    return [...this.totals.values()].sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }

  destroy(): void {
    this.querySet.destroy();
  }
}

export function formatProfile(times: readonly KernelTime[]): string {
  const total = times.reduce((s, t) => s + t.ms, 0);
  const rows = times.map((t) => `${t.ms.toFixed(2).padStart(10)} ms ${((100 * t.ms) / Math.max(total, 1e-9)).toFixed(1).padStart(5)}% ${String(t.count).padStart(6)}x  ${t.kernel}`);
  return [`${total.toFixed(2).padStart(10)} ms total GPU time`, ...rows].join('\n');
}
