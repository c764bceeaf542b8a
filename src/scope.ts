// Scopes free intermediates: every tensor created inside `scope(fn)` is disposed when fn
// returns, except the tensors it returns and those passed to keep().
import { Tensor } from './tensor.js';

const stack: Set<Tensor>[] = [];

/** Called by the Tensor constructor. */
export function track(t: Tensor): void {
  stack[stack.length - 1]?.add(t);
}

/** Removes tensors from every open scope, so they outlive it (parameters, results, grads). */
export function keep<T extends Tensor | Tensor[]>(t: T): T {
  const list: readonly Tensor[] = t instanceof Tensor ? [t] : t;
  for (const s of stack) for (const x of list) s.delete(x);
  return t;
}

function collect(value: unknown, out: Set<Tensor>): void {
  if (value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out);
}

function close(created: Set<Tensor>, result: unknown): void {
  const kept = new Set<Tensor>();
  collect(result, kept);
  for (const t of created) if (!kept.has(t)) t.dispose();
  // Returned tensors belong to the enclosing scope, if any.
  const outer = stack[stack.length - 1];
  if (outer) for (const t of kept) if (created.has(t)) outer.add(t);
}

/**
 * Runs fn and disposes every tensor it created that is not part of its result (tensors found in
 * a returned tensor, array or plain object). Async functions work too, as long as no other
 * tensor-creating work interleaves with them.
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Tensor>();
  stack.push(created);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    close(created, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    const pending: Promise<unknown> = result;
    return pending.then(
      (v) => {
        stack.splice(stack.indexOf(created), 1);
        close(created, v);
        return v;
      },
      (e) => {
        stack.splice(stack.indexOf(created), 1);
        close(created, undefined);
        throw e;
      },
    ) as T;
  }
  stack.pop();
  close(created, result);
  return result;
}
