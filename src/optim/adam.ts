// Adam exactly as torch.optim.Adam (amsgrad off): L2 weight decay added to the gradient, bias
// corrections from each parameter's own step count, computed in float64 on the host.
// Kernel: kernels/optim.wgsl (adam), one dispatch per parameter tensor.
import { Tensor } from '../tensor.js';
import { zerosLike } from '../ops/elementwise.js';
import { WG, grid, launch } from '../ops/launch.js';
import { Optimizer, type ParamState } from './optimizer.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the bias-corrected sqrt of the second moment (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient, as torch.optim.Adam (not AdamW's decoupled decay); default 0. */
  weightDecay: number;
}

export class Adam extends Optimizer<AdamOptions> {
  constructor(params: readonly Tensor[], options: Partial<AdamOptions> = {}) {
    super('Adam', ['exp_avg', 'exp_avg_sq'], params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ? [options.betas[0], options.betas[1]] : [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
    });
  }

  protected override validate(o: AdamOptions): void {
    super.validate(o);
    const [b1, b2] = o.betas;
    if (!(b1 >= 0 && b1 < 1)) throw new Error(`Adam: invalid beta1 ${b1} (must be in [0, 1))`);
    if (!(b2 >= 0 && b2 < 1)) throw new Error(`Adam: invalid beta2 ${b2} (must be in [0, 1))`);
    if (!(o.eps >= 0)) throw new Error(`Adam: invalid eps ${o.eps}`);
    if (!(o.weightDecay >= 0)) throw new Error(`Adam: invalid weight decay ${o.weightDecay}`);
  }

  protected update(param: Tensor, grad: Tensor, state: ParamState | null): ParamState {
    const s = state ?? { step: 0, slots: { exp_avg: zerosLike(param), exp_avg_sq: zerosLike(param) } };
    const t = s.step + 1;
    const { lr, betas, eps, weightDecay } = this.options;
    const [beta1, beta2] = betas;
    launch('optim.adam', {
      tensors: { param, grad, m: s.slots.exp_avg, v: s.slots.exp_avg_sq },
      params: {
        n: param.size,
        beta1,
        one_minus_beta1: 1 - beta1,
        beta2,
        one_minus_beta2: 1 - beta2,
        eps,
        weight_decay: weightDecay,
        step_size: lr / (1 - beta1 ** t),
        bc2_sqrt: Math.sqrt(1 - beta2 ** t),
      },
      workgroups: grid(param.size, WG),
      overrides: { WG },
    });
    return s;
  }
}
