// A tensor is a shape over a reference-counted GPU buffer (views such as reshape share it),
// plus the autograd fields: requiresGrad, grad, and the node that produced it.
import { currentGpu, gpu, type Gpu } from '../runtime/gpu.js';
import type { GraphNode } from './autograd.js';
import { track } from './scope.js';

export type DType = 'float32' | 'int32';
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Throws unless every dimension is a non-negative integer (`op` prefixes the message). */
export function checkShape(shape: Shape, op?: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op ? `${op}: ` : ''}invalid shape ${formatShape(shape)}: dimensions must be non-negative integers`);
  }
}

/** A GPU buffer shared by a tensor and its views; returned to the pool when the last one lets go. */
export class Storage {
  private refs = 1;
  /** The GPU the buffer belongs to: a buffer cannot move to another device. */
  readonly owner: Gpu = gpu();
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    // A destroyed or lost device took its buffers with it; the current pool must not get them.
    if (--this.refs === 0 && !this.owner.isLost) this.owner.pool.release(this.buffer);
  }
}

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  private storage_: Storage | null;
  requiresGrad: boolean;
  /** Accumulated gradient (leaf tensors with requiresGrad only); owned: dispose() frees it too. */
  grad: Tensor | null = null;
  /** Keep this non-leaf tensor's gradient in .grad during backward (as PyTorch's retain_grad()). */
  retainGrad = false;
  /** How this tensor was computed; null for leaves and outside autograd. */
  node: GraphNode | null = null;
  /** Set when backward() freed this tensor's node: a second backward through it is an error. */
  graphFreed = false;
  /** Set when the tensor was disposed while still a node of a graph: a backward through it is an error (it would stop there). */
  disposedInGraph = false;
  /** Optional name, shown in errors (parameters carry theirs). */
  name?: string;

  constructor(shape: Shape, storage: Storage, dtype: DType = 'float32', requiresGrad = false) {
    checkShape(shape);
    this.shape = Object.freeze([...shape]);
    this.storage_ = storage;
    this.dtype = dtype;
    this.requiresGrad = requiresGrad;
    track(this);
  }

  /** A new, uninitialised tensor from the buffer pool. */
  static empty(shape: Shape, dtype: DType = 'float32'): Tensor {
    checkShape(shape); // before the buffer is taken, which a throw here would leak
    const bytes = sizeOf(shape) * 4;
    const t = new Tensor(shape, new Storage(gpu().pool.acquire(bytes), bytes), dtype);
    if (poisonNew && dtype === 'float32') poisonFill(t);
    return t;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage_ === null;
  }

  get storage(): Storage {
    if (!this.storage_) throw new Error(`tensor${this.name ? ` '${this.name}'` : ''} ${formatShape(this.shape)} was used after dispose()`);
    return this.storage_;
  }

  /** The GPU buffer, for a kernel binding: an error here names a tensor of a gone or other device at the op that uses it. */
  get buffer(): GPUBuffer {
    const s = this.storage;
    if (s.owner !== currentGpu()) {
      const what = `tensor${this.name ? ` '${this.name}'` : ''} ${formatShape(this.shape)}`;
      throw new Error(
        s.owner.isLost
          ? `${what} belongs to a GPU device that was destroyed or lost; tensors do not survive their device: make it again (or reload it from a checkpoint) on the current GPU`
          : `${what} belongs to another GPU device than the current one; tensors cannot be mixed across devices`,
      );
    }
    return s.buffer;
  }

  /** The values, read back asynchronously (flushes pending GPU work). */
  async data(): Promise<Float32Array | Int32Array> {
    const raw = await gpu().read(this.buffer, this.size * 4);
    return this.dtype === 'int32' ? new Int32Array(raw) : new Float32Array(raw);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got shape ${formatShape(this.shape)}`);
    return (await this.data())[0];
  }

  /** Frees the tensor now (its buffer returns to the pool once no view uses it). */
  dispose(): void {
    if (!this.storage_) return;
    this.storage_.release();
    this.storage_ = null;
    if (this.node) this.disposedInGraph = true;
    // A gradient (a leaf's, or a retained one) lives outside every scope: it goes with its tensor.
    this.grad?.dispose();
    this.grad = null;
    this.node = null;
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

// Tests set this so that any element an op forgets to write stays NaN and fails the comparison.
let poisonNew = false;
let poisonFill: (t: Tensor) => void = () => {};

export function setPoisonNewTensors(on: boolean, fill?: (t: Tensor) => void): void {
  poisonNew = on;
  if (fill) poisonFill = fill;
}
