// The training objectives of paper Table 1, each a loss on the two augmented views:
//   supcon+ssl  theta * SupCon + lambda * SimCLR on the projections (paper eq. 3, the default)
//   supcon      theta * SupCon on the projections
//   ce          cross-entropy of the linear `classifier` on the encoder features
//   ce+ssl      cross-entropy + SimCLR on the projections, weights 1 and 1 (theta, lambda unused)
// Cross-entropy is averaged over both views (2B rows, each view keeps its image's label).
//
// The mixed-view term of the augmentation methods (paper eq. 8) follows the objective:
// - with an ssl part it is the paper's: SimCLR(mixed view 1, view 2) per anchor, LayerCAM from the
//   batch's SimCLR loss, weighted like SimCLR (lambda for supcon+ssl, 1 for ce+ssl);
// - without one, the objective's own supervised loss takes SimCLR's place, with the mixed image
//   keeping its own label (a harder view of the same image, as in eq. 8): for supcon,
//   SupCon(mixed view 1, view 2) per anchor, weight theta; for ce, the cross-entropy of the mixed
//   images, weight 1; GradMix's LayerCAM then attributes that supervised loss of the batch.
// In every case anchor r carries image (r mod B)'s mixing weight (gamma^2 for GradMix).
// An objective is built once per run (createObjective) from its name, model and weights; each
// batch's evaluation (ObjectiveBatch) carries the loss and answers what the mixed term asks
// (MixingTarget in mixing.ts), so the mixing code never needs to know which objective it serves.
import { tensor } from '../creation.js';
import * as ops from '../ops/index.js';
import { contrastiveLoss, simclrLoss, supconLoss } from '../losses/index.js';
import type { SupConResNet } from '../nn/index.js';
import type { Tensor } from '../tensor.js';
import type { MixingTarget } from './mixing.js';

export const OBJECTIVES = ['supcon+ssl', 'supcon', 'ce', 'ce+ssl'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/** Whether the objective has the SimCLR (self-supervised) part. */
export function hasSsl(objective: Objective): boolean {
  return objective === 'supcon+ssl' || objective === 'ce+ssl';
}

/** Whether the objective trains the linear classifier (and so needs the model built with one). */
export function usesClassifier(objective: Objective): boolean {
  return objective === 'ce' || objective === 'ce+ssl';
}

/** The objectives' weights: temperature tau, SupCon's theta, SimCLR's lambda (unused by some; see above). */
export interface ObjectiveWeights {
  tau: number;
  theta: number;
  lambda: number;
}

/** One batch's evaluation of an objective: its loss, and the answers to what the mixed term asks. */
export interface ObjectiveBatch extends MixingTarget {
  /** The objective on the two views (a scalar in the graph). */
  loss: Tensor;
  /** The views' projections [2B, D], where the objective uses the head. */
  z?: Tensor;
  /** The loss's terms, unweighted, outside the graph: supcon and simclr for supcon+ssl, else `objective`. */
  terms(): Record<string, Tensor>;
}

/** A training objective bound to its model and weights, built once per run. */
export interface TrainingObjective {
  readonly name: Objective;
  /** The weight of the mixed-view term in the total loss. */
  readonly mixedWeight: number;
  /**
   * The objective for views [2B, C, H, W] (rows 0..B-1 view 1) of images labelled `labels` [B];
   * runs the model's forward (so LayerCAM hooks see it).
   */
  loss(views: Tensor, labels: Int32Array): ObjectiveBatch;
}

/**
 * SimCLR's answers to the mixed term (paper eq. 8): each mixed view-1 image against view 2 of
 * projections z [2B, D], per anchor; GradMix attributes `batchLoss` (default SimCLR of z).
 */
export function simclrTarget(model: SupConResNet, z: Tensor, tau: number, batchLoss: () => Tensor = () => simclrLoss(z, { tau })): MixingTarget {
  const b = z.shape[0] / 2;
  return {
    attributionLoss: batchLoss,
    mixedLoss: (mixed) => simclrLoss([model.call(mixed), ops.slice(z, 0, b, 2 * b)], { tau, reduction: 'none' }),
  };
}

/** The objective `name` for `model` with weights `w`; checks that the model has what it needs. */
export function createObjective(name: Objective, model: SupConResNet, w: ObjectiveWeights): TrainingObjective {
  const { tau, theta, lambda } = w;
  const labelTensor = (labels: Int32Array) => tensor(labels, [labels.length], { dtype: 'int32' });
  switch (name) {
    case 'supcon+ssl':
      return {
        name,
        mixedWeight: lambda,
        loss(views, labels) {
          const y = labelTensor(labels);
          const z = model.call(views);
          const loss = contrastiveLoss(z, y, { tau, theta, lambda });
          // The fused loss has no separate SupCon and SimCLR values: two small extra passes on z.
          const terms = () => ops.noGrad(() => ({ supcon: supconLoss(z, y, { tau }), simclr: simclrLoss(z, { tau }) }));
          return { loss, z, terms, ...simclrTarget(model, z, tau) };
        },
      };
    case 'supcon':
      return {
        name,
        mixedWeight: theta,
        loss(views, labels) {
          const y = labelTensor(labels);
          const b = labels.length;
          const z = model.call(views);
          const supcon = (v: Tensor | readonly [Tensor, Tensor], reduction: 'mean' | 'none') => contrastiveLoss(v, y, { tau, theta: 1, lambda: 0, reduction });
          const loss = ops.mulScalar(supcon(z, 'mean'), theta);
          return {
            loss,
            z,
            terms: () => ({ objective: loss }),
            mixedLoss: (mixed) => supcon([model.call(mixed), ops.slice(z, 0, b, 2 * b)], 'none'),
            attributionLoss: () => supcon(z, 'mean'),
          };
        },
      };
    case 'ce':
    case 'ce+ssl': {
      if (!model.classifier) throw new Error(`objective '${name}' needs a model built with a classifier (SupConResNet numClasses)`);
      return {
        name,
        mixedWeight: 1,
        loss(views, labels) {
          const b = labels.length;
          const f = model.features(views);
          const logits = model.classify(f);
          const y2 = tensor(
            Int32Array.from({ length: 2 * b }, (_, i) => labels[i % b]),
            [2 * b],
            { dtype: 'int32' },
          );
          const ce = ops.crossEntropy(logits, y2);
          if (name === 'ce+ssl') {
            const z = model.project(f);
            const loss = ops.add(ce, simclrLoss(z, { tau }));
            return { loss, z, terms: () => ({ objective: loss }), ...simclrTarget(model, z, tau) };
          }
          const y = labelTensor(labels);
          return {
            loss: ce,
            terms: () => ({ objective: ce }),
            mixedLoss: (mixed) => ops.crossEntropy(model.classify(model.features(mixed)), y, 'none'),
            attributionLoss: () => ops.crossEntropy(logits, y2),
          };
        },
      };
    }
    default:
      throw new Error(`unknown objective '${String(name)}'; use one of ${OBJECTIVES.join(', ')}`);
  }
}
