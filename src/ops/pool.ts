// Pooling of [B, C, H, W]. Global average pooling ([B, C], the mean over each channel's H*W
// plane) is a mean over the last axis of the [B, C, H*W] view, so it reuses the reduction kernels
// (and their backward) rather than a kernel of its own; max pooling has its own (kernels/pool.wgsl).
import { record } from '../autograd.js';
import { Tensor, formatShape } from '../tensor.js';
import { WG, grid, launch, requireFloat } from './launch.js';
import { pair } from './conv.js';
import { mean } from './reduce.js';
import { reshape } from './shape.js';

export function globalAvgPool(x: Tensor): Tensor {
  requireFloat('globalAvgPool', x);
  if (x.rank !== 4) throw new Error(`globalAvgPool: expected input of shape [B, C, H, W], got ${formatShape(x.shape)}`);
  const [B, C, H, W] = x.shape;
  if (H * W === 0) throw new Error(`globalAvgPool: input ${formatShape(x.shape)} has no spatial extent`);
  const view = reshape(x, [B, C, H * W]);
  const out = mean(view, 2);
  // A recorded view is a node of the graph and stays (dispose() would cut it off); unrecorded
  // (noGrad, or no input needing a gradient) nothing holds it, and it would keep x's buffer.
  if (!out.node) view.dispose();
  return out;
}

export interface MaxPool2dOptions {
  /** Window step, one number or [h, w] (default: the kernel size, as in PyTorch). */
  stride?: number | readonly [number, number];
  /** Implicit -inf padding on each side, one number or [h, w], at most half the kernel (default 0). */
  padding?: number | readonly [number, number];
}

/**
 * PyTorch's max_pool2d (dilation 1, floor mode) on [B, C, H, W]. The gradient goes to one element
 * per window, the first maximum in row-major order, as PyTorch's does. Kernels: kernels/pool.wgsl.
 */
export function maxPool2d(x: Tensor, kernelSize: number | readonly [number, number], options: MaxPool2dOptions = {}): Tensor {
  const op = 'maxPool2d';
  requireFloat(op, x);
  if (x.rank !== 4) throw new Error(`${op}: expected input of shape [B, C, H, W], got ${formatShape(x.shape)}`);
  const [B, C, h, w] = x.shape;
  const [kh, kw] = pair(op, 'kernel size', kernelSize, 1);
  const [sh, sw] = pair(op, 'stride', options.stride ?? [kh, kw], 1);
  const [ph, pw] = pair(op, 'padding', options.padding ?? 0, 0);
  if (2 * ph > kh || 2 * pw > kw) throw new Error(`${op}: padding ${ph},${pw} must be at most half the ${kh}x${kw} kernel`);
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (oh < 1 || ow < 1) throw new Error(`${op}: a ${kh}x${kw} window with padding ${ph},${pw} does not fit a ${h}x${w} input`);
  const planes = B * C;
  const params = { planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw };
  const out = Tensor.empty([B, C, oh, ow]);
  const idx = Tensor.empty([B, C, oh, ow], 'int32');
  launch('pool.max_pool', { tensors: { x, idx, out }, params, workgroups: grid(planes * oh * ow, WG), overrides: { WG } });
  record(out, op, [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launch('pool.max_pool_backward', { tensors: { g, idx, out: dx }, params, workgroups: grid(planes * h * w, WG), overrides: { WG } });
    return [dx];
  });
  // The argmax lives on only for the backward rule.
  if (!out.node) idx.dispose();
  return out;
}
