// Global average pooling: [B, C, H, W] -> [B, C], the mean over each channel's H*W plane. It is a
// mean over the last axis of the [B, C, H*W] view, so it reuses the reduction kernels (and their
// backward) rather than a kernel of its own.
import { Tensor, formatShape } from '../tensor.js';
import { requireFloat } from './launch.js';
import { mean } from './reduce.js';
import { reshape } from './shape.js';

export function globalAvgPool(x: Tensor): Tensor {
  requireFloat('globalAvgPool', x);
  if (x.rank !== 4) throw new Error(`globalAvgPool: expected input of shape [B, C, H, W], got ${formatShape(x.shape)}`);
  const [B, C, H, W] = x.shape;
  if (H * W === 0) throw new Error(`globalAvgPool: input ${formatShape(x.shape)} has no spatial extent`);
  // The view stays alive: it is a node of the graph (dispose() would cut it off).
  return mean(reshape(x, [B, C, H * W]), 2);
}
