// MoCo v1 (He et al., "Momentum Contrast for Unsupervised Visual Representation Learning", 2020):
// a query encoder trained by backprop, a key encoder that follows it by an exponential moving
// average of its parameters, and a queue of the most recent keys as negatives.
//   InfoNCE per query q_i:  L_i = -log( exp(q_i.k_i / tau) / (exp(q_i.k_i / tau) + sum_j exp(q_i.n_j / tau)) )
// with k_i the key of the other view of image i and n_j the K queued keys; i.e. cross-entropy of the
// logits [q.k, q.n_1 .. q.n_K] / tau with class 0. MoCo v1's settings are the defaults: momentum
// 0.999, K = 4096, 128-d features, tau = 0.07.
// Departures, both for one device: no shuffling BN (MoCo shuffles the key batch across GPUs so
// that a query and its key are not normalised with the same batch statistics; on one device the
// key encoder simply normalises the view-2 batch with its own statistics), and the projection
// head is SupConResNet's MLP (MoCo v1 has a single fc layer), so that SSL checkpoints are the same
// state dicts as every other model here. Kernels: kernels/ssl.wgsl (ema, enqueue).
import { gpu } from '../../runtime/gpu.js';
import { noGrad } from '../autograd.js';
import { randn, tensor } from '../creation.js';
import * as ops from '../ops/index.js';
import { WG, grid, launch, requireFloat, sameShape } from '../ops/launch.js';
import { Linear, SupConResNet, type SupConResNetOptions } from '../nn/index.js';
import type { Rng } from '../random.js';
import { keep } from '../scope.js';
import { Tensor, formatShape } from '../tensor.js';
import type { MixingTarget } from '../train/mixing.js';

export interface MocoOptions {
  /** Key encoder momentum m: key = m * key + (1 - m) * query (0.999). */
  momentum: number;
  /** Queued negatives K (4096). */
  queueSize: number;
}

export const MOCO_V1: Readonly<MocoOptions & { tau: number }> = { momentum: 0.999, queueSize: 4096, tau: 0.07 };

/** Copies src's values into dst (same shape and dtype), in order with the recorded GPU work. */
export function copyInto(dst: Tensor, src: Tensor): void {
  if (!sameShape(dst.shape, src.shape) || dst.dtype !== src.dtype) {
    throw new Error(`copyInto: source ${formatShape(src.shape)} ${src.dtype} does not match destination ${formatShape(dst.shape)} ${dst.dtype}`);
  }
  if (dst.size > 0) gpu().copy(src.buffer, 0, dst.buffer, 0, dst.size * 4);
}

/** The momentum update key <- m * key + (1 - m) * query of each pair, in place (one dispatch per tensor). */
export function emaUpdate(keys: readonly Tensor[], queries: readonly Tensor[], momentum: number): void {
  if (keys.length !== queries.length) throw new Error(`emaUpdate: ${keys.length} key tensors but ${queries.length} query tensors`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`emaUpdate: momentum must be in [0, 1], got ${momentum}`);
  keys.forEach((key, i) => {
    const query = queries[i];
    requireFloat('emaUpdate', key, query);
    if (!sameShape(key.shape, query.shape)) throw new Error(`emaUpdate: key tensor ${i} has shape ${formatShape(key.shape)}, its query tensor ${formatShape(query.shape)}`);
    if (key.size === 0) return;
    launch('ssl.ema', {
      tensors: { key, query },
      params: { n: key.size, momentum, one_minus_momentum: 1 - momentum },
      workgroups: grid(key.size, WG),
      overrides: { WG },
    });
  });
}

/**
 * MoCo's dictionary: K keys of D floats in a ring buffer. enqueue() writes a batch of keys over
 * the oldest ones (from row `ptr`, wrapping past the end), which is MoCo's enqueue + dequeue.
 */
export class KeyQueue {
  readonly keys: Tensor;
  /** The row the next enqueued key goes to (the oldest key). */
  ptr = 0;

  /** Filled with random unit vectors, as MoCo initialises its queue. */
  constructor(
    readonly capacity: number,
    readonly dim: number,
    rng: Rng,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`KeyQueue: capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`KeyQueue: dim must be a positive integer, got ${dim}`);
    this.keys = keep(
      noGrad(() => {
        const r = randn([capacity, dim], rng);
        const unit = ops.l2Normalize(r);
        r.dispose();
        return unit;
      }),
    );
  }

  enqueue(batch: Tensor): void {
    requireFloat('KeyQueue.enqueue', batch);
    if (batch.rank !== 2 || batch.shape[1] !== this.dim) throw new Error(`KeyQueue.enqueue: keys must be [B, ${this.dim}], got ${formatShape(batch.shape)}`);
    const rows = batch.shape[0];
    if (rows > this.capacity) throw new Error(`KeyQueue.enqueue: a batch of ${rows} keys does not fit a queue of ${this.capacity}`);
    if (rows === 0) return;
    launch('ssl.enqueue', {
      tensors: { keys: batch, queue: this.keys },
      params: { rows, dim: this.dim, capacity: this.capacity, ptr: this.ptr },
      workgroups: grid(rows * this.dim, WG),
      overrides: { WG },
    });
    this.ptr = (this.ptr + rows) % this.capacity;
  }

  dispose(): void {
    this.keys.dispose();
  }
}

export interface InfoNceOptions {
  tau?: number;
  /** 'mean' (default) over the queries, or per-query losses [N] with 'none'. */
  reduction?: 'mean' | 'none';
}

/**
 * MoCo's InfoNCE of queries q [N, D] against their positive keys k [N, D] and the queued
 * negatives [K, D]: cross-entropy of [q.k, q.queue^T] / tau with class 0. Keys and queue are
 * constants of the step (no gradient reaches them unless they require one).
 */
export function infoNce(q: Tensor, k: Tensor, queue: Tensor, options: InfoNceOptions = {}): Tensor {
  const tau = options.tau ?? MOCO_V1.tau;
  const reduction = options.reduction ?? 'mean';
  requireFloat('infoNce', q, k, queue);
  if (q.rank !== 2 || q.shape[0] === 0 || q.shape[1] === 0) throw new Error(`infoNce: queries must be [N, D] with N, D >= 1, got ${formatShape(q.shape)}`);
  if (!sameShape(k.shape, q.shape)) throw new Error(`infoNce: keys have shape ${formatShape(k.shape)}, queries ${formatShape(q.shape)}; they must match`);
  if (queue.rank !== 2 || queue.shape[1] !== q.shape[1]) throw new Error(`infoNce: the queue must be [K, ${q.shape[1]}], got ${formatShape(queue.shape)}`);
  if (!(Number.isFinite(tau) && tau > 0)) throw new Error(`infoNce: tau must be a finite number > 0, got ${tau}`);
  if (reduction !== 'mean' && reduction !== 'none') throw new Error(`infoNce: reduction must be 'mean' or 'none', got '${String(reduction)}'`);
  const n = q.shape[0];
  const positive = ops.sum(ops.mul(q, k), 1, true); // [N, 1]
  const negative = ops.matmul(q, queue, { transB: true }); // [N, K]
  const logits = ops.mulScalar(ops.concat([positive, negative], 1), 1 / tau);
  return ops.crossEntropy(logits, tensor(new Int32Array(n), [n], { dtype: 'int32' }), reduction);
}

/**
 * MoCo's state beside the query model: the key encoder (a copy of the query model, never given
 * gradients) and the queue of its past keys.
 */
export class MomentumEncoder {
  readonly key: SupConResNet;
  readonly queue: KeyQueue;

  constructor(
    readonly query: SupConResNet,
    modelOptions: SupConResNetOptions,
    readonly options: MocoOptions,
    rng: Rng,
  ) {
    if (!(options.momentum >= 0 && options.momentum <= 1)) throw new Error(`MoCo: momentum must be in [0, 1], got ${options.momentum}`);
    this.key = new SupConResNet(rng, modelOptions);
    try {
      this.key.loadStateDict(query.stateDict(), copyInto);
      for (const p of this.key.parameters()) p.requiresGrad = false;
      this.key.train(query.training);
      this.queue = new KeyQueue(options.queueSize, projectionDim(query), rng);
    } catch (e) {
      this.key.dispose(); // the caller gets no encoder to free
      throw e;
    }
  }

  /** Momentum-updates the key encoder, then encodes x into keys (no graph), as MoCo's forward does. */
  keys(x: Tensor): Tensor {
    emaUpdate(this.key.parameters(), this.query.parameters(), this.options.momentum);
    return noGrad(() => this.key.call(x));
  }

  /** InfoNCE of queries against their keys and the current queue. */
  loss(q: Tensor, keys: Tensor, tau: number, reduction: InfoNceOptions['reduction'] = 'mean'): Tensor {
    return infoNce(q, keys, this.queue.keys, { tau, reduction });
  }

  /**
   * MoCo's answers to the mixed term: the mixed images are queries against the batch's keys and
   * the queue; GradMix attributes the batch's InfoNCE loss `batchLoss`.
   */
  mixingTarget(batchLoss: Tensor, keys: Tensor, tau: number): MixingTarget {
    return {
      attributionLoss: () => batchLoss,
      mixedLoss: (mixed) => this.loss(this.query.call(mixed), keys, tau, 'none'),
    };
  }

  /** The state a run saves: the key encoder (`key.*`) and the queue, by their names in the checkpoint after `__moco__.`. */
  stateTensors(): Map<string, Tensor> {
    return new Map([...[...this.key.stateDict()].map(([n, t]) => [`key.${n}`, t] as const), ['queue', this.queue.keys] as const]);
  }

  dispose(): void {
    this.key.dispose();
    this.queue.dispose();
  }
}

/** The projection size of a SupConResNet: the out-features of its head's last Linear. */
function projectionDim(model: SupConResNet): number {
  const last = model.head.layers[model.head.layers.length - 1];
  if (!(last instanceof Linear)) throw new Error("MoCo: the model's head does not end in a Linear layer");
  return last.weight.shape[0];
}
