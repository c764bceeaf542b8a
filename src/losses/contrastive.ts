// Contrastive losses on two views (docs/TRAINING.md section 2): SimCLR NT-Xent, SupCon (L_out) and the
// combined objective theta * SupCon + lambda * SimCLR, which share one similarity matrix and one
// masked log-sum-exp per anchor. Kernels: kernels/contrastive.wgsl (similarity + row pass
// forward; weight matrix + one matrix product backward).
import { record } from '../autograd.js';
import { Tensor, formatShape } from '../tensor.js';
import { WG, grid, launch, requireFloat } from '../ops/launch.js';
import { meanAll } from '../ops/index.js'; // (index: also registers the ops backward() needs)

/**
 * The two views' features: one [2N, D] tensor (rows 0..N-1 view 1, N..2N-1 view 2) or a pair of
 * [N, D] tensors (view 1, view 2), so that e.g. mixed images and view 2 need no concatenation.
 */
export type Views = Tensor | readonly [Tensor, Tensor];

export interface ContrastiveOptions {
  /** Temperature (default 0.05). */
  tau?: number;
  /** 'mean' (default): the mean over the 2N anchors; 'none': per-anchor losses [2N]. */
  reduction?: 'mean' | 'none';
}

export interface CombinedOptions extends ContrastiveOptions {
  /** Weight of SupCon (default 1). */
  theta?: number;
  /** Weight of SimCLR (default 1). */
  lambda?: number;
}

export const DEFAULT_TAU = 0.05;

/** Workgroups of the register-blocked kernels: 32 x 32 outputs each (8 x 8 threads, 4 x 4 per thread). */
const blocks = (rows: number, cols: number): [number, number] => [Math.ceil(cols / 32), Math.ceil(rows / 32)];

interface Layout {
  z1: Tensor;
  z2: Tensor;
  /** Images N (2N anchors). */
  n: number;
  d: number;
  /** Row of z2 holding sample N. */
  z2Row0: number;
}

function layoutOf(op: string, views: Views): Layout {
  if (views instanceof Tensor) {
    requireFloat(op, views);
    if (views.rank !== 2 || views.shape[0] % 2 !== 0 || views.shape[0] === 0 || views.shape[1] === 0) {
      throw new Error(`${op}: stacked features must have shape [2N, D] with N, D >= 1, got ${formatShape(views.shape)}`);
    }
    const n = views.shape[0] / 2;
    return { z1: views, z2: views, n, d: views.shape[1], z2Row0: n };
  }
  const [z1, z2] = views;
  requireFloat(op, z1, z2);
  if (z1.rank !== 2 || z1.shape[0] === 0 || z1.shape[1] === 0) {
    throw new Error(`${op}: view 1 features must have shape [N, D] with N, D >= 1, got ${formatShape(z1.shape)}`);
  }
  if (z2.shape.join() !== z1.shape.join()) {
    throw new Error(`${op}: view 2 features have shape ${formatShape(z2.shape)}, view 1 features ${formatShape(z1.shape)}; they must match`);
  }
  return { z1, z2, n: z1.shape[0], d: z1.shape[1], z2Row0: 0 };
}

function checkLabels(op: string, labels: Tensor, n: number): void {
  if (labels.dtype !== 'int32') throw new Error(`${op}: labels must be int32, got ${labels.dtype}`);
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new Error(`${op}: labels have shape ${formatShape(labels.shape)}, expected [${n}] (one per image)`);
  }
}

function checkWeight(op: string, name: string, v: number, positive: boolean): void {
  if (!Number.isFinite(v) || (positive ? v <= 0 : v < 0)) {
    throw new Error(`${op}: ${name} must be a finite number ${positive ? '> 0' : '>= 0'}, got ${v}`);
  }
}

/**
 * Per-anchor losses [2N]: w_supcon * SupCon_r + w_simclr * SimCLR_r (docs/TRAINING.md section 2), with
 * the gradient to the features. Without labels, SupCon's positives are the partner view only.
 */
function perAnchor(op: string, views: Views, labels: Tensor | null, tau: number, wSupcon: number, wSimclr: number): Tensor {
  const { z1, z2, n, d, z2Row0 } = layoutOf(op, views);
  if (labels) checkLabels(op, labels, n);
  checkWeight(op, 'tau', tau, true);
  const m = 2 * n;
  // Without labels the kernel never reads them; a one-element placeholder fills the binding.
  const labelsOrPlaceholder = () => labels ?? Tensor.empty([1], 'int32');
  const params = (rowBase = 0, rows = 0) => ({
    n,
    d,
    z2_row0: z2Row0,
    row_base: rowBase,
    rows,
    has_labels: labels ? 1 : 0,
    inv_tau: 1 / tau,
    w_supcon: wSupcon,
    w_simclr: wSimclr,
  });

  const sim = Tensor.empty([m, m]);
  launch('contrastive.similarity', { tensors: { z1, z2, sim_out: sim }, params: params(), workgroups: blocks(m, m) });
  const loss = Tensor.empty([m]);
  const stats = Tensor.empty([m, 2]);
  const lab = labelsOrPlaceholder();
  launch('contrastive.row_losses', { tensors: { sim, labels: lab, loss, stats_out: stats }, params: params(), workgroups: grid(m, WG), overrides: { WG } });
  if (!labels) lab.dispose();

  const inputs = views instanceof Tensor ? [views] : [z1, z2];
  const out = record(loss, op, inputs, (g) => {
    const weights = Tensor.empty([m, m]);
    const lab = labelsOrPlaceholder();
    launch('contrastive.pair_weights', { tensors: { sim, stats, g, labels: lab, weights_out: weights }, params: params(), workgroups: grid(m * m, WG), overrides: { WG } });
    if (!labels) lab.dispose();
    // dz for samples [rowBase, rowBase + rows), i.e. one input tensor's rows.
    const gradRows = (rowBase: number, rows: number) => {
      const dz = Tensor.empty([rows, d]);
      launch('contrastive.feature_grad', { tensors: { weights, z1, z2, dz }, params: params(rowBase, rows), workgroups: blocks(rows, d) });
      return dz;
    };
    const grads = views instanceof Tensor ? [gradRows(0, m)] : [z1.requiresGrad ? gradRows(0, n) : null, z2.requiresGrad ? gradRows(n, n) : null];
    weights.dispose();
    return grads;
  });
  // sim and stats live on only for the backward rule.
  if (!out.requiresGrad) {
    sim.dispose();
    stats.dispose();
  }
  return out;
}

function checkReduction(op: string, reduction: ContrastiveOptions['reduction']): void {
  if (reduction !== undefined && reduction !== 'mean' && reduction !== 'none') {
    throw new Error(`${op}: reduction must be 'mean' or 'none', got '${String(reduction)}'`);
  }
}

function reduce(loss: Tensor, reduction: ContrastiveOptions['reduction']): Tensor {
  if (reduction === 'none') return loss;
  const mean = meanAll(loss);
  if (!loss.requiresGrad) loss.dispose(); // otherwise it is part of the graph
  return mean;
}

/**
 * SimCLR NT-Xent: L_r = -log( exp(s_rj/tau) / sum_{k != r} exp(s_rk/tau) ), j the other view of
 * anchor r. Returns the mean over the 2N anchors, or the per-anchor losses [2N] with
 * reduction 'none' (rows 0..N-1 anchor on view 1, N..2N-1 on view 2).
 */
export function simclrLoss(views: Views, options: ContrastiveOptions = {}): Tensor {
  checkReduction('simclrLoss', options.reduction);
  return reduce(perAnchor('simclrLoss', views, null, options.tau ?? DEFAULT_TAU, 0, 1), options.reduction);
}

/**
 * SupCon (L_out): L_r = -1/|P(r)| sum_{p in P(r)} log( exp(s_rp/tau) / sum_{k != r} exp(s_rk/tau) ),
 * P(r) the other samples with r's label. labels: int32 [N], one per image (both views share it).
 */
export function supconLoss(views: Views, labels: Tensor, options: ContrastiveOptions = {}): Tensor {
  checkReduction('supconLoss', options.reduction);
  return reduce(perAnchor('supconLoss', views, labels, options.tau ?? DEFAULT_TAU, 1, 0), options.reduction);
}

/** theta * SupCon + lambda * SimCLR (paper eq. 3), both from one similarity matrix. */
export function contrastiveLoss(views: Views, labels: Tensor, options: CombinedOptions = {}): Tensor {
  const theta = options.theta ?? 1;
  const lambda = options.lambda ?? 1;
  checkWeight('contrastiveLoss', 'theta', theta, false);
  checkWeight('contrastiveLoss', 'lambda', lambda, false);
  checkReduction('contrastiveLoss', options.reduction);
  return reduce(perAnchor('contrastiveLoss', views, labels, options.tau ?? DEFAULT_TAU, theta, lambda), options.reduction);
}
