// The GPU ops here make parameter tensors and outputs before their launches; a launch can throw (a
// disposed input, a lost device) where no scope is open to free them.
import type { Tensor } from '../tensor.js';

/** Runs `fn` (an op's launches); frees `temps` afterwards, and `outputs` too when it throws. */
export function launching<T>(temps: readonly Tensor[], outputs: readonly Tensor[], fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    for (const t of outputs) t.dispose();
    throw err;
  } finally {
    for (const t of temps) t.dispose();
  }
}
