// Mappable buffers that readbacks copy into, by size class. Small ones are kept for the next read
// (a step's scalars every step); a large one (the features of a whole data set) is destroyed after
// its read rather than held for the life of the process.
import { sizeWithin } from './buffer-pool.js';

/** Stages up to this size are kept for reuse. */
const KEPT_STAGE_BYTES = 4 << 20;

export class ReadbackStages {
  private free = new Map<number, GPUBuffer[]>();

  constructor(private readonly device: GPUDevice) {}

  /** A stage of at least `bytes` (a size class within the device's buffer limit). */
  acquire(bytes: number): GPUBuffer {
    const size = sizeWithin(bytes, this.device.limits.maxBufferSize);
    return this.free.get(size)?.pop() ?? this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
  }

  /** Takes a stage back after its read; one still mapped (a read that failed mid-way) is left alone. */
  release(stage: GPUBuffer): void {
    if (stage.mapState !== 'unmapped') return;
    if (stage.size > KEPT_STAGE_BYTES) return stage.destroy();
    let list = this.free.get(stage.size);
    if (!list) this.free.set(stage.size, (list = []));
    list.push(stage);
  }

  /** The size classes holding a kept stage. */
  keptSizes(): number[] {
    return [...this.free].filter(([, list]) => list.length > 0).map(([size]) => size);
  }

  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
  }
}
