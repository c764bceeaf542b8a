// New images to a recogniser's input, by the rule its training images followed: an image of the
// input size is taken as it is; any other is resized (with antialiasing where the run's own images
// were shrunk so) to the data set's own image size, then zero-padded as the data set was (MNIST's
// 28 x 28 digits were padded by 2 to 32 x 32: a 28 x 28 digit is padded, not stretched to 32).
// Browser-safe; open-set-model.ts loads it (src/optional-code.ts) only when a batch needs it.
import { padImages } from '../data/dataset.js';
import type { InputInfo } from '../data/open-set.js';
import { resizeEach } from '../data/resize.js';
import type { ImageBatch } from './open-set-model.js';

/** Protocols whose images were padded before the padding was recorded in a recogniser's input. */
const PADDED_BEFORE_RECORDED: Record<string, number> = { mnist: 2, 'mnist-mini': 2 };

/** The zero border each side of the training images (a recogniser stored before it was recorded: by its protocol). */
export function inputPadding(input: InputInfo & { name?: string }): number {
  return input.padding ?? PADDED_BEFORE_RECORDED[input.name ?? ''] ?? 0;
}

export function fitToInput(batch: ImageBatch, input: InputInfo): ImageBatch {
  const { imageSize: size } = input;
  const { channels } = batch;
  if (batch.height === size && batch.width === size) return batch;
  const pad = inputPadding(input);
  const inner = size - 2 * pad;
  const images = resizeEach(batch.images, batch.n, channels, batch.height, batch.width, inner, inner, input.antialias ?? false);
  const padded = padImages({ images, n: batch.n, channels, height: inner, width: inner, labels: new Int32Array(0) }, pad);
  return { images: padded.images, n: batch.n, channels, height: size, width: size };
}
