// Float64 reference of matmul on stored shapes, shared by the tests of every matmul variant, and
// the every-transpose check they run on it.
import * as ops from '../src/ops/index.js';
import type { MatmulVariant } from '../src/ops/matmul.js';
import { checkOp } from './check-op.js';

export const prod = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/**
 * Per batch entry, sum_k opA[m, k] opB[k, n] (+ bias[n]); an operand with a batch of 1 is
 * repeated over the other's batch.
 */
export function matmulRef(aShape: readonly number[], bShape: readonly number[], transA = false, transB = false) {
  const [M, K] = transA ? aShape.slice(-2).reverse() : aShape.slice(-2);
  const N = transB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
  const batchA = prod(aShape.slice(0, -2));
  const batchB = prod(bShape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  return (a: Float64Array, b: Float64Array, bias?: Float64Array) => {
    const out = new Float64Array(batch * M * N);
    for (let z = 0; z < batch; z++) {
      const ao = batchA === 1 ? 0 : z * M * K;
      const bo = batchB === 1 ? 0 : z * K * N;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = bias ? bias[n] : 0;
          for (let k = 0; k < K; k++) s += a[ao + (transA ? k * M + m : m * K + k)] * b[bo + (transB ? n * K + k : k * N + n)];
          out[(z * M + m) * N + n] = s;
        }
      }
    }
    return out;
  };
}

/** Stored shapes of a [M, K] x [K, N] product under the given transposes. */
export function storedShapes(M: number, K: number, N: number, transA: boolean, transB: boolean): [number[], number[]] {
  return [transA ? [K, M] : [M, K], transB ? [N, K] : [K, N]];
}

export const TRANSPOSES = [
  { transA: false, transB: false },
  { transA: true, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: true },
];

/** checkOp of `variant` on each [M, K, N] product of `sizes` under every transpose (gradients too unless forwardOnly). */
export async function checkEveryTranspose(variant: MatmulVariant, sizes: readonly [number, number, number][], forwardOnly = false): Promise<void> {
  for (const [M, K, N] of sizes) {
    for (const { transA, transB } of TRANSPOSES) {
      const [as, bs] = storedShapes(M, K, N, transA, transB);
      await checkOp({
        name: `${variant} M=${M} K=${K} N=${N} transA=${transA} transB=${transB}`,
        inputs: [{ shape: as }, { shape: bs }],
        run: (a, b) => ops.matmul(a, b, { transA, transB, variant }),
        ref: matmulRef(as, bs, transA, transB),
        forwardOnly,
      });
    }
  }
}
