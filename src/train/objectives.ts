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
import { tensor } from '../creation.js';
import * as ops from '../ops/index.js';
import { contrastiveLoss, simclrLoss } from '../losses/index.js';
import type { SupConResNet } from '../nn/index.js';
import type { Tensor } from '../tensor.js';
import type { TrainOptions } from './options.js';

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

export interface ObjectiveLoss {
  /** The objective on the two views (a scalar in the graph). */
  loss: Tensor;
  /** The views' projections [2B, D], where the objective uses the head. */
  z?: Tensor;
  /** The weight of the mixed-view term in the total loss. */
  mixedWeight: number;
  /** Per-anchor loss of the mixed view 1 in place of SimCLR (objectives without ssl). */
  mixedLoss?: (mixed: Tensor) => Tensor;
  /** LayerCAM's target in place of the batch's SimCLR loss (objectives without ssl; GradMix only). */
  attributionLoss?: Tensor;
}

/**
 * The objective's loss for views [2B, C, H, W] (rows 0..B-1 view 1) of images labelled `labels`
 * [B]; runs the model's forward (so LayerCAM hooks see it) and returns what the mixed term needs.
 */
export function objectiveLoss(model: SupConResNet, o: TrainOptions, views: Tensor, labels: Int32Array): ObjectiveLoss {
  const b = labels.length;
  const y = tensor(labels, [b], { dtype: 'int32' });
  const attributing = o.method === 'gradmix';
  switch (o.objective) {
    case 'supcon+ssl': {
      const z = model.call(views);
      return { loss: contrastiveLoss(z, y, { tau: o.tau, theta: o.theta, lambda: o.lambda }), z, mixedWeight: o.lambda };
    }
    case 'supcon': {
      const z = model.call(views);
      const supcon = (v: Tensor | readonly [Tensor, Tensor], reduction: 'mean' | 'none') =>
        contrastiveLoss(v, y, { tau: o.tau, theta: 1, lambda: 0, reduction });
      return {
        loss: ops.mulScalar(supcon(z, 'mean'), o.theta),
        z,
        mixedWeight: o.theta,
        mixedLoss: (mixed) => supcon([model.call(mixed), ops.slice(z, 0, b, 2 * b)], 'none'),
        attributionLoss: attributing ? supcon(z, 'mean') : undefined,
      };
    }
    case 'ce':
    case 'ce+ssl': {
      if (!model.classifier) throw new Error(`objective '${o.objective}' needs a model built with a classifier (SupConResNet numClasses)`);
      const f = model.features(views);
      const logits = model.classify(f);
      const y2 = tensor(Int32Array.from({ length: 2 * b }, (_, i) => labels[i % b]), [2 * b], { dtype: 'int32' });
      const ce = ops.crossEntropy(logits, y2);
      if (o.objective === 'ce+ssl') {
        const z = model.project(f);
        return { loss: ops.add(ce, simclrLoss(z, { tau: o.tau })), z, mixedWeight: 1 };
      }
      return {
        loss: ce,
        mixedWeight: 1,
        mixedLoss: (mixed) => ops.crossEntropy(model.classify(model.features(mixed)), y, 'none'),
        attributionLoss: attributing ? ops.crossEntropy(logits, y2) : undefined,
      };
    }
    default:
      throw new Error(`unknown objective '${String(o.objective)}'; use one of ${OBJECTIVES.join(', ')}`);
  }
}
