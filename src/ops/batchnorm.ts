// BatchNorm2d with PyTorch semantics (biased batch variance to normalise, unbiased variance into
// running_var, running = (1 - momentum) * running + momentum * batch), optionally fused with the
// ReLU that follows it, or with a residual block's end, relu(bn(x) + shortcut). Kernels: kernels/batchnorm.wgsl (fused statistics, normalise and
// backward passes; see its header for the formulas), and kernels/batchnorm_subgroups.wgsl for the two
// partial passes where the device has subgroups.
import { record } from '../autograd.js';
import { Tensor, formatShape } from '../tensor.js';
import { gpu } from '../../runtime/gpu.js';
import { kernelNames } from '../../runtime/kernel-spec.js';
import { WG, assertShape, grid, launch, requireFloat } from './launch.js';

export interface BatchNormOptions {
  /** Batch statistics (and running-stat update) when true, running statistics when false. */
  training: boolean;
  momentum?: number;
  eps?: number;
  /** Apply ReLU to the output in the same pass (and gate the gradient by the output). */
  relu?: boolean;
  /**
   * Added to the normalised output (before the ReLU) in the same pass: a residual block's
   * shortcut. Its gradient comes out of the backward's first pass, beside the BN partial sums.
   */
  residual?: Tensor;
}

/**
 * Values per lane of the elementwise passes. Fewer, fuller workgroups suit CPU rasterisers: on
 * lavapipe the normalise pass takes half the CPU time of a one-value-per-invocation relu.
 */
const VALUES_PER_LANE = 16;

/** Workgroup counts per grid dimension (channels index the second). */
const MAX_GROUPS = 65535;

/** The [G, C] grid of a per-value pass: G workgroups per channel, ~perLane values per lane. */
function channelGrid(channels: number, count: number, perLane: number): [number, number] {
  return [Math.min(MAX_GROUPS, Math.max(1, Math.ceil(count / (WG * perLane)))), channels];
}

/**
 * Lanes per channel for the statistics reductions: about sqrt(count) values per lane when the
 * lanes are many, so the per-lane pass and the per-channel combine stay about equally short.
 */
function reductionGrid(channels: number, count: number): [number, number] {
  return channelGrid(channels, count, Math.max(1, Math.ceil(Math.sqrt(count / WG))));
}

/**
 * The subgroup partial passes' kernel file, named apart from its entries on purpose: a browser
 * bundle embeds only the kernel files its code names as '<file>.<entry>' (scripts/embed-kernels.mjs
 * kernelSubset), and this one stays out of the browser module (its 200 KiB budget), whose pages
 * then run the fallback. Node embeds every kernel file.
 */
const SUBGROUP_KERNELS = 'batchnorm_subgroups';

/** null: the subgroup partial passes wherever the device has subgroups; true/false forces (tests). */
let subgroupsChoice: boolean | null = null;

/**
 * Forces the statistics and gradient partial passes onto kernels/batchnorm_subgroups.wgsl (true)
 * or kernels/batchnorm.wgsl (false); null restores the choice by device feature. A test hook:
 * forced on where the device lacks the feature, the launch fails with the device's error.
 */
export function forceBatchNormSubgroups(choice: boolean | null): void {
  subgroupsChoice = choice;
}

/**
 * Whether batchNorm2d reduces each workgroup's lanes with subgroup operations (one partial per
 * workgroup, WG times fewer for the finalize passes to combine) or writes one partial per lane.
 */
export function batchNormUsesSubgroups(): boolean {
  return subgroupsChoice ?? (gpu().hasSubgroups && kernelNames().includes(SUBGROUP_KERNELS));
}

/**
 * Batch normalisation of x [B, C, H, W] with per-channel weight, bias [C]. In training mode the
 * running statistics (if given) are updated in place; in eval mode they are required and used.
 */
export function batchNorm2d(x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions): Tensor {
  const op = 'batchNorm2d';
  const { training, momentum = 0.1, eps = 1e-5, relu = false, residual } = options;
  if (x.rank !== 4) throw new Error(`${op}: expected input of shape [B, C, H, W], got ${formatShape(x.shape)}`);
  const [B, C, H, W] = x.shape;
  requireFloat(op, x, weight, bias);
  if (residual) {
    requireFloat(op, residual);
    assertShape(op, 'residual', residual.shape, x.shape);
  }
  assertShape(op, 'weight', weight.shape, [C]);
  assertShape(op, 'bias', bias.shape, [C]);
  if ((runningMean === null) !== (runningVar === null)) throw new Error(`${op}: give both running_mean and running_var, or neither`);
  if (runningMean && runningVar) {
    requireFloat(op, runningMean, runningVar);
    assertShape(op, 'running_mean', runningMean.shape, [C]);
    assertShape(op, 'running_var', runningVar.shape, [C]);
  } else if (!training) throw new Error(`${op}: eval mode needs running_mean and running_var`);
  const hw = H * W;
  const count = B * hw;
  if (training && count <= 1) {
    throw new Error(`${op}: expected more than 1 value per channel when training, got input of shape ${formatShape(x.shape)}`);
  }
  if (C > MAX_GROUPS) throw new Error(`${op}: ${C} channels; at most ${MAX_GROUPS} are supported`);
  const reduceGrid = reductionGrid(C, count);
  const valueGrid = channelGrid(C, count, VALUES_PER_LANE);
  const grouped = batchNormUsesSubgroups();
  // The partial passes' kernel file, and how many partials per channel they write (params.lanes).
  const partials = grouped ? SUBGROUP_KERNELS : 'batchnorm';
  const params = { channels: C, hw, count, lanes: reduceGrid[0] * (grouped ? 1 : WG), momentum, eps };
  const perChannel = grid(C, WG);

  const stats = Tensor.empty([3, C]);
  if (training) {
    const partial = Tensor.empty([C, params.lanes, 2]);
    launch(`${partials}.stats_partial`, { tensors: { x, partial_out: partial }, params, workgroups: reduceGrid, overrides: { WG } });
    launch('batchnorm.stats_finalize', { tensors: { x, partial, stats_out: stats }, params, workgroups: perChannel, overrides: { WG, GROUPED: Number(grouped) } });
    partial.dispose();
    if (runningMean && runningVar) {
      launch('batchnorm.update_running', { tensors: { stats, running_mean: runningMean, running_var: runningVar }, params, workgroups: perChannel, overrides: { WG } });
    }
  } else {
    launch('batchnorm.eval_stats', { tensors: { running_mean: runningMean!, running_var: runningVar!, stats_out: stats }, params, workgroups: perChannel, overrides: { WG } });
  }
  const out = Tensor.empty(x.shape);
  // Without a residual, x stands in for its unused binding.
  const normalizeTensors = { x, residual: residual ?? x, stats, weight, bias, out };
  launch('batchnorm.normalize', { tensors: normalizeTensors, params, workgroups: valueGrid, overrides: { WG, RELU: Number(relu), RESIDUAL: Number(!!residual) } });

  record(out, op, residual ? [x, weight, bias, residual] : [x, weight, bias], (g) => {
    // Without the fused ReLU nothing is gated; g stands in for the unused output binding.
    const y = relu ? out : g;
    const train = Number(training);
    // With a residual, the first pass also writes the gated gradient: the residual's gradient,
    // and grad_input's g with nothing left to gate. Otherwise a one-value tensor stands in for
    // that output (WebGPU refuses a second writable binding of partial).
    const gated = Tensor.empty(residual ? x.shape : [1]);
    const partial = Tensor.empty([C, params.lanes, 2]);
    const partialTensors = { x, g, y, stats, partial_out: partial, out: gated };
    launch(`${partials}.grad_partial`, { tensors: partialTensors, params, workgroups: reduceGrid, overrides: { WG, RELU: Number(relu), WRITE_GATED: Number(!!residual) } });
    const dweight = Tensor.empty([C]);
    const dbias = Tensor.empty([C]);
    launch('batchnorm.grad_finalize', { tensors: { partial, stats, dweight, dbias }, params, workgroups: perChannel, overrides: { WG } });
    partial.dispose();
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = Tensor.empty(x.shape);
      const [gIn, reluIn] = residual ? [gated, false] : [g, relu];
      const tensors = { x, g: gIn, y: reluIn ? y : gIn, stats, weight, dweight_in: dweight, dbias_in: dbias, out: dx };
      launch('batchnorm.grad_input', { tensors, params, workgroups: valueGrid, overrides: { WG, RELU: Number(reluIn), TRAIN: train } });
    }
    const grads = [dx, keepIf(weight.requiresGrad, dweight), keepIf(bias.requiresGrad, dbias)];
    const dresidual = keepIf(!!residual?.requiresGrad, gated);
    return residual ? [...grads, dresidual] : grads;
  });
  // The statistics live on only for the backward rule.
  if (!out.node) stats.dispose();
  return out;
}

/** t when wanted, else disposed (returns null). */
function keepIf(wanted: boolean, t: Tensor): Tensor | null {
  if (wanted) return t;
  t.dispose();
  return null;
}
