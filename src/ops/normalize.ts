// L2 normalisation along the last axis with F.normalize semantics: y = x / max(||x||, eps).
// Kernels: kernels/normalize.wgsl (one fused pass forward, one backward).
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { WG, grid, launch, requireFloat } from './launch.js';

export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  requireFloat('l2Normalize', x);
  if (x.rank === 0) throw new Error('l2Normalize: expected a tensor with a feature axis, got a scalar');
  const dim = x.shape[x.rank - 1];
  const rows = dim === 0 ? 0 : x.size / dim;
  const params = { rows, dim, eps };
  const workgroups = grid(rows, WG);
  const out = Tensor.empty(x.shape);
  launch('normalize.forward', { tensors: { x, out }, params, workgroups, overrides: { WG } });
  return record(out, 'l2Normalize', [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launch('normalize.backward', { tensors: { x, g, out: dx }, params, workgroups, overrides: { WG } });
    return [dx];
  });
}
