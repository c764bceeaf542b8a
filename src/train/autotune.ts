// Kernel autotuning for a training run (src/ops/kernel-choice.ts): the shapes a model meets in a
// step are both augmented views, [2B, C, H, W], and for the mixing methods the mixed view, [B, C,
// H, W] (the attribution pass reuses the views' shapes). train() runs this before its first step;
// `gradmix tune` runs it ahead of time.
import { autotuneModel, type TunableModel, type TuneOptions, type TuneReport } from '../ops/kernel-choice.js';
import type { Shape } from '../tensor.js';
import type { Method } from './options.js';

export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/** The input shapes of the model in one training step. */
export function trainingInputShapes(batchSize: number, data: ImageShape, method: Method): Shape[] {
  const image = [data.channels, data.height, data.width];
  return method === 'none'
    ? [[2 * batchSize, ...image]]
    : [
        [2 * batchSize, ...image],
        [batchSize, ...image],
      ];
}

/** Tunes the kernels of a training step of `model` (a no-op with GRADMIX_AUTOTUNE=0). */
export function autotuneTraining(model: TunableModel, o: { batchSize: number; method: Method }, data: ImageShape, options: TuneOptions = {}): Promise<TuneReport[]> {
  return autotuneModel(model, trainingInputShapes(o.batchSize, data, o.method), options);
}
