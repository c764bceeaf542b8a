// The intrinsic-dimension estimate, loaded on first call: browser pages rarely need it, so its code
// stays out of the module a page loads (test/bundle-size.test.ts) and arrives with the optional code
// (src/optional-code.ts).
import type { Tensor } from '../tensor.js';
import type { IntrinsicDim, IntrinsicDimOptions } from './intrinsic-dim.js';

/** The TwoNN intrinsic dimension of features [N, D] (src/osr/intrinsic-dim.ts has the method). */
export async function intrinsicDimension(features: Tensor, options: IntrinsicDimOptions = {}): Promise<IntrinsicDim> {
  const estimate = await import('../optional-code.js');
  return estimate.intrinsicDimension(features, options);
}
