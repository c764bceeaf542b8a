// SGD as torch.optim.SGD: L2 weight decay added to the gradient; with momentum, the buffer starts
// as the first gradient (no dampening on that step), then buf = momentum * buf + (1 - dampening) * g;
// Nesterov steps along g + momentum * buf. Kernels: kernels/optim.wgsl (sgd, sgd_momentum).
import { Tensor } from '../tensor.js';
import { WG, grid, launch } from '../ops/launch.js';
import { Optimizer, type ParamState } from './optimizer.js';

export interface SgdOptions {
  /** Learning rate (required, as in PyTorch). */
  lr: number;
  /** Momentum factor (default 0: plain SGD, no state). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
}

export class SGD extends Optimizer<SgdOptions> {
  constructor(params: readonly Tensor[], options: Partial<SgdOptions> & { lr: number }) {
    super('SGD', ['momentum_buffer'], params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
    });
  }

  protected override validate(o: SgdOptions): void {
    super.validate(o);
    if (!(o.momentum >= 0)) throw new Error(`SGD: invalid momentum ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new Error(`SGD: invalid weight decay ${o.weightDecay}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new Error('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
  }

  protected update(param: Tensor, grad: Tensor, state: ParamState | null): ParamState | null {
    const { lr, momentum, dampening, weightDecay, nesterov } = this.options;
    const common = { lr, weight_decay: weightDecay, momentum, one_minus_dampening: 1 - dampening, nesterov: nesterov ? 1 : 0 };
    const dims = { workgroups: grid(param.size, WG), overrides: { WG } };
    if (momentum === 0) {
      launch('optim.sgd', { tensors: { param, grad }, params: { n: param.size, ...common, first: 0 }, ...dims });
      return state;
    }
    // The kernel writes the whole buffer on a parameter's first step, so it starts uninitialised.
    const s = state ?? { step: 0, slots: { momentum_buffer: Tensor.empty(param.shape) } };
    launch('optim.sgd_momentum', {
      tensors: { param, grad, buf: s.slots.momentum_buffer },
      params: { n: param.size, ...common, first: state ? 0 : 1 },
      ...dims,
    });
    return s;
  }
}
