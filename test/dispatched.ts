// Which kernels an op dispatches: for tests that check a variant option or a tuned choice picks the
// kernel it names.
import { gpu, type Dispatch } from '../runtime/gpu.js';
import { scope } from '../src/scope.js';

/** Kernels dispatched while `fn` runs (in a scope, so its tensors are freed), each as `name` gives it. */
export function dispatched(fn: () => void, name: (kernel: string, d: Dispatch) => string = (kernel) => kernel): string[] {
  const g = gpu();
  const seen: string[] = [];
  const original = g.dispatch;
  g.dispatch = (kernel, d) => {
    seen.push(name(kernel, d));
    original.call(g, kernel, d);
  };
  try {
    scope(fn);
  } finally {
    g.dispatch = original;
  }
  return seen;
}
