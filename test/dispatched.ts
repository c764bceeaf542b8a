// Which kernels an op dispatches: for tests that check a variant option or a tuned choice picks the
// kernel it names.
import { gpu } from '../runtime/gpu.js';
import { scope } from '../src/scope.js';

/** Kernels dispatched while `fn` runs (in a scope, so its tensors are freed). */
export function dispatched(fn: () => void): string[] {
  const g = gpu();
  const seen: string[] = [];
  const original = g.dispatch;
  g.dispatch = (kernel, d) => {
    seen.push(kernel);
    original.call(g, kernel, d);
  };
  try {
    scope(fn);
  } finally {
    g.dispatch = original;
  }
  return seen;
}
