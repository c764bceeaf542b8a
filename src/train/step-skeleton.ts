// The skeleton every training step shares (supervised TrainStep, self-supervised SslStep): the
// forward, backward, the optimiser's update and any follow-up work recorded in one scope, so that
// only the scalars to read outlive it, then one readback of the loss and its terms; with a
// FiniteGuard that same readback also says whether every state tensor is still finite.
import { scope } from '../scope.js';
import { backward } from '../autograd.js';
import type { Optimizer } from '../optim/index.js';
import type { Tensor } from '../tensor.js';
import type { FiniteGuard } from './finite-guard.js';

/** A step's outcome as the epoch loop logs it. */
export interface StepResult {
  loss: number;
  /** The loss's terms, unweighted: supcon and simclr (supcon+ssl), objective (other objectives), mixed (mixing methods). */
  terms: Record<string, number>;
  /** The first state tensor (the model's, or the optimiser's: `optimizer.<parameter>.<slot>`) that is NaN or Inf after the update, or null (always null without a guard). */
  bad: string | null;
}

/** What a step's forward builds: the loss to backpropagate, and scalars read back beside it. */
export interface StepGraph {
  loss: Tensor;
  terms?: Record<string, Tensor>;
}

export interface StepSkeletonOptions<G extends StepGraph> {
  /** Work after the update, inside the step's scope (MoCo enqueues its keys). */
  afterUpdate?: (graph: G) => void;
  /**
   * Check the finiteness of these tensors (taken after the update, e.g. model.stateDict()) in the
   * same readback, and of the optimiser's state (`optimizer.<parameter>.<slot>`): an Inf in Adam's
   * second moment leaves the weights finite (m / Inf = 0) but freezes its parameter for good.
   */
  check?: { guard: FiniteGuard; state: () => ReadonlyMap<string, Tensor> };
}

/** `state` and the optimiser's state tensors, named `optimizer.<parameter>.<slot>`. */
function withOptimizerState(state: ReadonlyMap<string, Tensor>, optimizer: Optimizer<{ lr: number }>): Map<string, Tensor> {
  const slots = Object.entries(optimizer.stateDict().tensors).map(([k, t]) => [`optimizer.${k}`, t] as const);
  return new Map([...state, ...slots]);
}

/**
 * One whole step: forward, backward, optimiser step (and afterUpdate) in one scope, then the loss
 * and terms read back (awaited, so a NaN shows at once) and freed.
 */
export async function optimizerStep<G extends StepGraph>(optimizer: Optimizer<{ lr: number }>, forward: () => G, options: StepSkeletonOptions<G> = {}): Promise<StepResult> {
  const { loss, terms } = scope(() => {
    const graph = forward();
    backward(graph.loss);
    optimizer.step();
    optimizer.zeroGrad();
    options.afterUpdate?.(graph);
    return { loss: graph.loss, terms: graph.terms ?? {} };
  });
  const names = Object.keys(terms);
  const scalars = [loss, ...names.map((n) => terms[n])];
  try {
    const { check } = options;
    const { values, bad } = check ? await check.guard.read(withOptimizerState(check.state(), optimizer), scalars) : { values: await Promise.all(scalars.map((s) => s.item())), bad: null };
    return { loss: values[0], terms: Object.fromEntries(names.map((n, i) => [n, values[i + 1]])), bad };
  } finally {
    for (const t of scalars) t.dispose();
  }
}
