// Shape ops. reshape is a view on the same storage; the rest copy (kernels/layout.wgsl).
import { record } from '../autograd.js';
import { Tensor, formatShape, sizeOf, type Shape } from '../tensor.js';

/** A view with a new shape over the same buffer; one dimension may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const holes = shape.filter((d) => d === -1).length;
  let resolved = [...shape];
  if (holes > 1) throw new Error(`reshape: at most one -1 in ${formatShape(shape)}`);
  if (holes === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`);
    resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (sizeOf(resolved) !== x.size) throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)}`);
  const out = new Tensor(resolved, x.storage.retain(), x.dtype);
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}
