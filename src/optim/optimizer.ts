// What Adam and SGD share: the parameter list, per-parameter state created on a parameter's first
// update (as in PyTorch, so parameters that never get a gradient hold no state), zeroGrad, and
// the state dict used to resume training exactly.
import { Tensor, formatShape } from '../tensor.js';
import { keep } from '../scope.js';
import { clone } from '../ops/elementwise.js';
import { sameShape } from '../ops/launch.js';

export type OptionValue = number | boolean | readonly number[];

/** One parameter's state: how many updates it has had, and its buffers (moments, momentum). */
export interface ParamState {
  step: number;
  slots: Record<string, Tensor>;
}

/**
 * An optimiser's resumable state, laid out like PyTorch's `optimizer.state_dict()`: per-parameter
 * entries keyed by the parameter's index in the list given to the constructor.
 */
export interface OptimizerState {
  /** 'adam' or 'sgd'; loading into another kind is an error. */
  kind: string;
  /** Number of step() calls so far. */
  steps: number;
  /** Hyper-parameters, lr included (PyTorch's param_groups). */
  options: Record<string, OptionValue>;
  /** Buffers keyed `${index}.${slot}`, e.g. '0.exp_avg', '3.momentum_buffer' (PyTorch's state[index][slot]). */
  tensors: Record<string, Tensor>;
  /** Per-parameter update counts keyed `${index}.step` (PyTorch's state[index]['step']). */
  counters: Record<string, number>;
}

export interface BaseOptions {
  lr: number;
}

export function paramLabel(params: readonly Tensor[], i: number): string {
  const name = params[i].name;
  return name ? `parameter ${i} ('${name}')` : `parameter ${i}`;
}

export abstract class Optimizer<O extends BaseOptions> {
  readonly params: readonly Tensor[];
  /** Hyper-parameters; may be changed between steps (lr by a schedule, for example). */
  readonly options: O;
  /** Number of step() calls so far. */
  steps = 0;
  /** 'adam' or 'sgd': what a state dict records and is checked against. */
  readonly kind: string;
  protected state: (ParamState | null)[];

  /**
   * @param label the class name used in errors ('Adam'); `kind` is its lower case
   * @param slotNames the buffers each parameter's state holds
   */
  constructor(
    protected readonly label: string,
    protected readonly slotNames: readonly string[],
    params: readonly Tensor[],
    options: O,
  ) {
    if (params.length === 0) throw new Error(`${label}: empty parameter list`);
    params.forEach((p, i) => {
      if (p.dtype !== 'float32') throw new Error(`${label}: ${paramLabel(params, i)} is ${p.dtype}; only float32 parameters can be optimised`);
      const j = params.indexOf(p);
      if (j !== i) throw new Error(`${label}: ${paramLabel(params, i)} appears twice in the list (also at index ${j})`);
    });
    this.kind = label.toLowerCase();
    this.params = [...params];
    this.validate(options);
    this.options = options;
    this.state = params.map(() => null);
  }

  /** Throws a clear error for an invalid hyper-parameter. */
  protected validate(options: O): void {
    checkRate(this.label, options.lr);
  }

  get lr(): number {
    return this.options.lr;
  }

  set lr(value: number) {
    checkRate(this.label, value);
    this.options.lr = value;
  }

  /**
   * Applies one fused update to each parameter from its `.grad` (one dispatch per parameter);
   * parameters whose grad is null are skipped and their state is left as it was.
   */
  step(): void {
    // Every grad is checked before any update: a bad one leaves all parameters and their step
    // counts as they were, so the step can be retried.
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g) return;
      if (!sameShape(g.shape, p.shape)) {
        throw new Error(`${this.label}.step: ${paramLabel(this.params, i)} has shape ${formatShape(p.shape)} but its grad has shape ${formatShape(g.shape)}`);
      }
      if (g.dtype !== 'float32') throw new Error(`${this.label}.step: the grad of ${paramLabel(this.params, i)} is ${g.dtype}`);
    });
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g) return;
      const s = this.update(p, g, this.state[i]);
      if (s) {
        s.step++;
        keep(Object.values(s.slots)); // state outlives any scope() the step runs in
      }
      this.state[i] = s;
    });
    this.steps++;
  }

  /** Updates one parameter in place and returns its state (created when `state` is null). */
  protected abstract update(param: Tensor, grad: Tensor, state: ParamState | null): ParamState | null;

  /** Disposes every parameter's gradient and sets it to null. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The current state; its tensors are the optimiser's own (live, not copies): do not dispose them. */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    const counters: Record<string, number> = {};
    this.state.forEach((s, i) => {
      if (!s) return;
      counters[`${i}.step`] = s.step;
      for (const [slot, t] of Object.entries(s.slots)) tensors[`${i}.${slot}`] = t;
    });
    return { kind: this.kind, steps: this.steps, options: copyOptions(this.options), tensors, counters };
  }

  /** Restores a state dict (tensors are copied, so the caller keeps ownership of its own). */
  loadStateDict(sd: OptimizerState): void {
    const who = `${this.label}.loadStateDict`;
    if (sd.kind !== this.kind) throw new Error(`${who}: the state is from a '${sd.kind}' optimiser, this is '${this.kind}'`);
    if (!Number.isInteger(sd.steps) || sd.steps < 0) throw new Error(`${who}: bad step count ${sd.steps}`);
    const incoming: (ParamState | null)[] = this.params.map(() => null);
    const counted = new Set<number>();
    const entry = (key: string, what: string): [number, string] => {
      const m = /^(\d+)\.([A-Za-z_]+)$/.exec(key);
      const i = m ? Number(m[1]) : -1;
      if (!m || i >= this.params.length) throw new Error(`${who}: unexpected ${what} '${key}' (there are ${this.params.length} parameters)`);
      incoming[i] ??= { step: 0, slots: {} };
      return [i, m[2]];
    };
    for (const [key, value] of Object.entries(sd.counters)) {
      const [i, name] = entry(key, 'counter');
      if (name !== 'step' || !Number.isInteger(value) || value < 0) throw new Error(`${who}: bad counter '${key}' = ${value}`);
      incoming[i]!.step = value;
      counted.add(i);
    }
    for (const [key, t] of Object.entries(sd.tensors)) {
      const [i, slot] = entry(key, 'tensor');
      if (!this.slotNames.includes(slot)) throw new Error(`${who}: unexpected tensor '${key}'; ${this.kind} keeps: ${this.slotNames.join(', ') || 'no buffers'}`);
      const p = this.params[i];
      if (!sameShape(t.shape, p.shape)) {
        throw new Error(`${who}: tensor '${key}' has shape ${formatShape(t.shape)}, ${paramLabel(this.params, i)} has shape ${formatShape(p.shape)}`);
      }
      if (t.dtype !== 'float32') throw new Error(`${who}: tensor '${key}' is ${t.dtype}, expected float32`);
      incoming[i]!.slots[slot] = t;
    }
    incoming.forEach((s, i) => {
      const missing = s ? this.slotNames.filter((n) => !(n in s.slots)) : [];
      if (missing.length) throw new Error(`${who}: missing tensor '${i}.${missing[0]}' for ${paramLabel(this.params, i)}`);
      // Without its count, moments would restart at step 0 (Adam's bias correction then scales them up).
      if (s && !counted.has(i)) throw new Error(`${who}: missing counter '${i}.step' for ${paramLabel(this.params, i)}`);
    });
    const options = copyOptions(this.options);
    for (const [key, value] of Object.entries(copyOptions(sd.options))) {
      if (!(key in options)) throw new Error(`${who}: unknown option '${key}' for ${this.kind}`);
      options[key] = value;
    }
    this.validate(options as unknown as O);
    Object.assign(this.options, options);
    this.disposeState();
    this.state = incoming.map((s) => s && { step: s.step, slots: Object.fromEntries(Object.entries(s.slots).map(([k, t]) => [k, keep(clone(t))])) });
    this.steps = sd.steps;
  }

  /** Frees the optimiser's buffers (parameters and grads are not touched). */
  dispose(): void {
    this.disposeState();
    this.state = this.params.map(() => null);
  }

  private disposeState(): void {
    for (const s of this.state) if (s) for (const t of Object.values(s.slots)) t.dispose();
  }
}

/** A copy of hyper-parameters that shares no arrays (betas) with the original. */
function copyOptions(o: object): Record<string, OptionValue> {
  return Object.fromEntries(Object.entries(o as Record<string, OptionValue>).map(([k, v]) => [k, typeof v === 'object' ? [...v] : v]));
}

function checkRate(who: string, lr: number): void {
  if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`${who}: invalid learning rate ${lr}`);
}
