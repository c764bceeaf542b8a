// softmax, logSoftmax over one axis and cross-entropy on class logits, each a fused kernel per
// row (max, sum of exponentials and outputs in one invocation). Kernels: kernels/softmax.wgsl.
import { record } from '../autograd.js';
import { Tensor, formatShape } from '../tensor.js';
import { WG, grid, launch, normAxis, requireFloat, splitAt } from './launch.js';
import { meanAll, sumAll } from './reduce.js';

/** Uniform parameters of kernels/softmax.wgsl. */
function params(outer: number, len: number, inner: number, scale = 1, gStride = 0) {
  return { outer, len, inner, scale, g_stride: gStride };
}

function softmaxFamily(op: 'softmax' | 'logSoftmax', x: Tensor, axis: number): Tensor {
  requireFloat(op, x);
  const a = normAxis(op, axis, x.rank);
  const [outer, len, inner] = splitAt(x.shape, a);
  const overrides = { WG, LOG: op === 'logSoftmax' ? 1 : 0 };
  const rows = grid(outer * inner, WG);
  const y = Tensor.empty(x.shape);
  launch('softmax.softmax', { tensors: { x, out: y }, params: params(outer, len, inner), workgroups: rows, overrides });
  return record(y, op, [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launch('softmax.softmax_backward', { tensors: { y, g, out: dx }, params: params(outer, len, inner), workgroups: rows, overrides });
    return [dx];
  });
}

/** exp(x) / sum(exp(x)) along `axis`, computed as exp(x - max) / sum(exp(x - max)). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxFamily('softmax', x, axis);
}

/** x - logsumexp(x) along `axis`; finite wherever x is, even where softmax underflows to 0. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxFamily('logSoftmax', x, axis);
}

export type CrossEntropyReduction = 'mean' | 'sum' | 'none';

/**
 * Cross-entropy of logits [N, C] against int32 class labels [N]: per row
 * logsumexp(logits[i]) - logits[i, labels[i]], then averaged (default), summed, or returned
 * per row ('none', shape [N]). Labels are not checked on the host (that would need a readback):
 * a label outside [0, C) makes its row's loss and gradient NaN, so the loss shows the mistake.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, reduction: CrossEntropyReduction = 'mean'): Tensor {
  requireFloat('crossEntropy', logits);
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [N, C], got shape ${formatShape(logits.shape)}`);
  if (labels.dtype !== 'int32') throw new Error(`crossEntropy: labels must be an int32 tensor, got ${labels.dtype}`);
  const [n, c] = logits.shape;
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new Error(`crossEntropy: labels of shape ${formatShape(labels.shape)} do not match logits ${formatShape(logits.shape)}; expected [${n}]`);
  }
  if (!['mean', 'sum', 'none'].includes(reduction)) throw new Error(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  if (c === 0) throw new Error(`crossEntropy: logits ${formatShape(logits.shape)} have no classes`);
  const rows = grid(n, WG);
  const perRow = Tensor.empty([n]);
  launch('softmax.cross_entropy', { tensors: { x: logits, labels, out: perRow }, params: params(n, c, 1), workgroups: rows, overrides: { WG } });
  let loss = perRow;
  if (reduction !== 'none') {
    loss = reduction === 'mean' ? meanAll(perRow) : sumAll(perRow);
    perRow.dispose();
  }
  // The backward pass recomputes each row's softmax from the logits, so nothing else is saved.
  const scale = reduction === 'mean' ? 1 / n : 1;
  const gStride = reduction === 'none' ? 1 : 0;
  return record(loss, 'crossEntropy', [logits], (g) => {
    const dx = Tensor.empty(logits.shape);
    launch('softmax.cross_entropy_backward', { tensors: { x: logits, labels, g, out: dx }, params: params(n, c, 1, scale, gStride), workgroups: rows, overrides: { WG } });
    return [dx];
  });
}
