// The finite-state guard: after each training step the model's state tensors are copied end to end
// into one buffer and one GPU kernel (kernels/finite.wgsl) marks the first one holding NaN or Inf;
// the step's scalars (the loss and its terms) are copied beside the mark, so a step costs one
// readback, as before. A loss can stay finite while the weights diverge (ReLU maps NaN to 0 on
// some adapters), so the loss alone does not tell.
import { gpu } from '../../runtime/gpu.js';
import { launch, WG } from '../ops/launch.js';
import { keep } from '../scope.js';
import { Tensor } from '../tensor.js';

/** The most scalars one readback carries beside the mark. */
export const MAX_SCALARS = 15;
const NONE = 0xffffffff;

export interface GuardReading {
  /** The scalars' values, in the order given. */
  values: number[];
  /** The name of the first non-finite tensor of the state, or null when all are finite. */
  bad: string | null;
}

/** A run of the checked tensors packed end to end into one buffer (under the adapter's per-buffer limit). */
interface Chunk {
  /** Index of its first tensor among all checked ones. */
  first: number;
  count: number;
  packed: Tensor;
  offsets: Tensor;
}

export class FiniteGuard {
  private flags: Tensor | null = null;
  /** The checked tensors in chunks; rebuilt when the sizes change. */
  private chunks: Chunk[] = [];
  private layout = '';

  /** `maxChunkBytes`: the most bytes one packed buffer holds (default: the adapter's per-buffer limit). */
  constructor(private readonly maxChunkBytes?: number) {}

  private buffers(sizes: number[]): { flags: Tensor; chunks: Chunk[] } {
    if (!this.flags || this.flags.disposed) this.flags = keep(Tensor.empty([1 + MAX_SCALARS], 'int32'));
    const layout = sizes.join();
    if (layout !== this.layout || this.chunks.some((c) => c.packed.disposed || c.offsets.disposed)) {
      this.disposeChunks();
      // Parameters and Adam's two moments of a standard ResNet18 are ~138 MB: over the 128 MiB a
      // binding may see on some adapters, though each tensor is far below it.
      const maxElements = Math.floor((this.maxChunkBytes ?? gpu().pool.maxBufferSize) / 4);
      for (let first = 0; first < sizes.length;) {
        let count = 0;
        let total = 0;
        while (first + count < sizes.length && (count === 0 || total + sizes[first + count] <= maxElements)) total += sizes[first + count++];
        const ends = Int32Array.from([0, ...sizes.slice(first, first + count)]);
        for (let i = 1; i < ends.length; i++) ends[i] += ends[i - 1];
        const chunk = { first, count, packed: keep(Tensor.empty([Math.max(total, 1)], 'int32')), offsets: keep(Tensor.empty([ends.length], 'int32')) };
        gpu().write(chunk.offsets.buffer, ends);
        this.chunks.push(chunk);
        first += count;
      }
      this.layout = layout;
    }
    return { flags: this.flags, chunks: this.chunks };
  }

  private disposeChunks(): void {
    for (const c of this.chunks) {
      c.packed.dispose();
      c.offsets.dispose();
    }
    this.chunks = [];
  }

  /**
   * Records the check of every float tensor of `state` (name to live tensor, e.g.
   * model.stateDict(), read each step: the tensors may change) after the work already recorded,
   * and reads it back with `scalars` (one-element tensors) in one readback.
   */
  async read(state: ReadonlyMap<string, Tensor>, scalars: readonly Tensor[] = []): Promise<GuardReading> {
    if (scalars.length > MAX_SCALARS) throw new Error(`FiniteGuard: at most ${MAX_SCALARS} scalars, got ${scalars.length}`);
    const checked = [...state].filter(([, t]) => t.dtype === 'float32' && t.size > 0);
    const { flags, chunks } = this.buffers(checked.map(([, t]) => t.size));
    const g = gpu();
    launch('finite.reset', { tensors: { flags }, workgroups: [1] });
    for (const { first, count, packed, offsets } of chunks) {
      let at = 0;
      for (const [, t] of checked.slice(first, first + count)) {
        g.copy(t.buffer, 0, packed.buffer, 4 * at, 4 * t.size);
        at += t.size;
      }
      launch('finite.check_all', { tensors: { x: packed, offsets, flags }, params: { count, first }, workgroups: [count], overrides: { WG } });
    }
    scalars.forEach((s, k) => {
      if (s.size !== 1) throw new Error(`FiniteGuard: scalar ${k} has ${s.size} elements`);
      g.copy(s.buffer, 0, flags.buffer, 4 * (1 + k), 4);
    });
    const raw = await g.read(flags.buffer, 4 * (1 + scalars.length));
    const mark = new Uint32Array(raw, 0, 1)[0];
    return { values: Array.from(new Float32Array(raw, 4, scalars.length)), bad: mark === NONE ? null : (checked[mark]?.[0] ?? `tensor #${mark}`) };
  }

  dispose(): void {
    this.flags?.dispose();
    this.flags = null;
    this.disposeChunks();
    this.layout = '';
  }
}
