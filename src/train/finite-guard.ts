// The finite-state guard: after each training step, one small GPU kernel per tensor of the model's
// state (kernels/finite.wgsl) marks the first one holding NaN or Inf, and the step's scalars (the
// loss and its terms) are copied beside the mark, so a step costs one readback, as before. A loss
// can stay finite while the weights diverge (ReLU maps NaN to 0 on some adapters), so the loss
// alone does not tell.
import { gpu, grid } from '../../runtime/gpu.js';
import { launch, WG } from '../ops/launch.js';
import { Tensor } from '../tensor.js';

/** The most scalars one readback carries beside the mark. */
export const MAX_SCALARS = 15;
const NONE = 0xffffffff;

export interface GuardReading {
  /** The scalars' values, in the order given. */
  values: number[];
  /** The name of the first non-finite tensor of the state, or null when all are finite. */
  bad: string | null;
}

export class FiniteGuard {
  private flags: Tensor | null = null;

  /**
   * Records the checks of every float tensor of `state` (name to live tensor, e.g.
   * model.stateDict(), read each step: the tensors may change) after the work already recorded,
   * and reads them back with `scalars` (one-element tensors) in one readback.
   */
  async read(state: ReadonlyMap<string, Tensor>, scalars: readonly Tensor[] = []): Promise<GuardReading> {
    if (scalars.length > MAX_SCALARS) throw new Error(`FiniteGuard: at most ${MAX_SCALARS} scalars, got ${scalars.length}`);
    if (!this.flags || this.flags.disposed) this.flags = Tensor.empty([1 + MAX_SCALARS], 'int32');
    const flags = this.flags;
    const names: string[] = [];
    launch('finite.reset', { tensors: { flags }, workgroups: [1] });
    for (const [name, t] of state) {
      if (t.dtype !== 'float32' || t.size === 0) continue;
      launch('finite.check', { tensors: { x: t, flags }, params: { n: t.size, slot: names.length }, workgroups: grid(t.size, WG), overrides: { WG } });
      names.push(name);
    }
    scalars.forEach((s, k) => {
      if (s.size !== 1) throw new Error(`FiniteGuard: scalar ${k} has ${s.size} elements`);
      gpu().copy(s.buffer, 0, flags.buffer, 4 * (1 + k), 4);
    });
    const raw = await gpu().read(flags.buffer, 4 * (1 + scalars.length));
    const mark = new Uint32Array(raw, 0, 1)[0];
    return { values: Array.from(new Float32Array(raw, 4, scalars.length)), bad: mark === NONE ? null : (names[mark] ?? `tensor #${mark}`) };
  }

  dispose(): void {
    this.flags?.dispose();
    this.flags = null;
  }
}
