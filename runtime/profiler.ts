// Per-kernel GPU time from timestamp queries: while profiling, every dispatch gets its own compute
// pass with begin/end timestamps; each submitted batch resolves its queries and the durations are
// summed per kernel name (with its overrides). Used by `GRADMIX_PROFILE=1` and the benchmarks.
// Beside the sums, the union of every dispatch's [begin, end] interval: dispatches that overlap on
// the GPU (independent passes may) count twice in a sum, which can then exceed the time the GPU
// was busy, even the whole span.

export interface KernelTime {
  kernel: string;
  count: number;
  /** Total GPU time in milliseconds. */
  ms: number;
}

/** The GPU's busy time over the profiled dispatches (ProfileReport.busy). */
export interface GpuBusy {
  /** Every dispatch's end - begin, summed (what the per-kernel `ms` add up to). */
  sumMs: number;
  /** The union of the dispatches' intervals: never more than the span. */
  unionMs: number;
  /** From the first dispatch's begin to the last one's end. */
  spanMs: number;
  dispatches: number;
  /** Dispatches whose timestamps the GPU did not write (left out of every figure above). */
  unwritten: number;
}

/** Per-kernel totals, slowest first, with the busy time of all of them together. */
export type ProfileReport = KernelTime[] & { busy: GpuBusy };

/** The busy time of a profile (gpu().stopProfiling() returns a ProfileReport), if it has one. */
export function profileBusy(times: readonly KernelTime[]): GpuBusy | undefined {
  return (times as Partial<ProfileReport>).busy;
}

/**
 * The union of intervals added batch by batch in submission order. Intervals of later batches never
 * begin before the current batch's earliest begin (a queue starts its work in order), so merged
 * intervals ending before it are final: they are summed and dropped, which bounds the memory of a
 * long profiled run (GRADMIX_PROFILE=1 over a whole training).
 */
export class IntervalUnion {
  private closed = 0;
  /** Disjoint, sorted by begin. */
  private open: [number, number][] = [];
  private first = Infinity;
  private last = -Infinity;
  private sum = 0;
  private count = 0;

  /** One batch's [begin, end] pairs (any unit; ends before begins, an invalid timestamp, are left out of the union). */
  add(batch: readonly (readonly [number, number])[]): void {
    let floor = Infinity;
    for (const [b, e] of batch) {
      this.sum += e - b;
      this.count++;
      if (!(e >= b)) continue;
      this.first = Math.min(this.first, b);
      this.last = Math.max(this.last, e);
      floor = Math.min(floor, b);
      this.open.push([b, e]);
    }
    this.open.sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const [b, e] of this.open) {
      const top = merged[merged.length - 1];
      if (top && b <= top[1]) top[1] = Math.max(top[1], e);
      else merged.push([b, e]);
    }
    while (merged.length > 1 && merged[0][1] < floor) {
      const [b, e] = merged.shift()!;
      this.closed += e - b;
    }
    this.open = merged;
  }

  get summary(): { sum: number; union: number; span: number; count: number } {
    const union = this.closed + this.open.reduce((s, [b, e]) => s + e - b, 0);
    return { sum: this.sum, union, span: this.count && this.last >= this.first ? this.last - this.first : 0, count: this.count };
  }
}

/** Timestamp queries per batch: two per dispatch. */
export const CAPACITY = 2048;

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private names: string[] = [];
  private readonly totals = new Map<string, KernelTime>();
  private union = new IntervalUnion();
  /** Timestamps are taken relative to the first one (nanoseconds since the epoch exceed 2^53). */
  private origin: bigint | null = null;
  /** Batches are read back in submission order (the union relies on it); the last one's promise. */
  private chain: Promise<void> = Promise.resolve();
  private unwritten = 0;
  /** The first batch whose timestamps could not be read (a lost device aborts the readback). */
  private failure: Error | null = null;

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
      const mapped = readback.mapAsync(GPUMapMode.READ);
      this.chain = Promise.all([mapped, this.chain]).then(() => {
        const t = new BigUint64Array(readback.getMappedRange());
        // A query the GPU did not write reads 0: such a pass is left out (its begin, taken from
        // an origin far later, would stretch the busy union past the wall time).
        const written = (i: number) => t[2 * i] > 0n && t[2 * i + 1] >= t[2 * i];
        const firstWritten = names.findIndex((_, i) => written(i));
        if (firstWritten >= 0) this.origin ??= t[2 * firstWritten];
        const intervals: [number, number][] = [];
        names.forEach((name, i) => {
          if (!written(i)) return void this.unwritten++;
          const begin = Number(t[2 * i] - this.origin!);
          const end = Number(t[2 * i + 1] - this.origin!);
          intervals.push([begin, end]);
          const entry = this.totals.get(name) ?? { kernel: name, count: 0, ms: 0 };
          entry.count++;
          entry.ms += (end - begin) / 1e6;
          this.totals.set(name, entry);
        });
        this.union.add(intervals);
        readback.unmap();
        readback.destroy();
        resolved.destroy();
      });
      // Caught here, not left for report(): until then it would be an unhandled rejection, which
      // ends a Node process (after the device-lost error the engine throws was printed).
      this.chain = this.chain.catch((e: unknown) => {
        this.failure ??= e instanceof Error ? e : new Error(String(e));
      });
    };
  }

  /** Per-kernel totals so far, slowest first. */
  async report(): Promise<ProfileReport> {
    await this.chain; // every batch read so far: each waits for the one before
    if (this.failure) throw new Error(`profiler: the GPU timestamps of a batch could not be read (${this.failure.name}${this.failure.message ? `: ${this.failure.message}` : ''})`);
    const { sum, union, span, count } = this.union.summary;
    const times = [...this.totals.values()].sort((a, b) => b.ms - a.ms);
    return Object.assign(times, { busy: { sumMs: sum / 1e6, unionMs: union / 1e6, spanMs: span / 1e6, dispatches: count, unwritten: this.unwritten } });
  }

  reset(): void {
    this.totals.clear();
    this.union = new IntervalUnion();
    this.origin = null;
    this.unwritten = 0;
    this.failure = null;
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
