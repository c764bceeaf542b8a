// Float64 forward and analytic gradients of a (batched, broadcast) matmul at sizes too large for
// finite differences, and the check of a variant against them: the split-K and blocked GEMM tests
// need products long enough to be split or to span several 64 x 64 tiles.
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import type { MatmulVariant } from '../src/ops/matmul.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, randomArray, read, seeded, upload } from './helpers.js';
import { prod } from './matmul-ref.js';

export interface ProductCase {
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
}

export const describeProduct = (c: ProductCase) => `${JSON.stringify(c.a)}${c.transA ? 'ᵀ' : ''} x ${JSON.stringify(c.b)}${c.transB ? 'ᵀ' : ''}`;

/**
 * out = opA opB per batch entry (an operand with a batch of 1 broadcast), and for a given output
 * gradient r, the gradients of the stored operands (a broadcast operand's summed over the batch).
 */
export function productRef(c: ProductCase, a: Float64Array, b: Float64Array, r: Float64Array) {
  const [M, K] = c.transA ? c.a.slice(-2).reverse() : c.a.slice(-2);
  const N = c.transB ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
  const za = prod(c.a.slice(0, -2));
  const zb = prod(c.b.slice(0, -2));
  const Z = Math.max(za, zb);
  const ia = (z: number, m: number, k: number) => (za === 1 ? 0 : z * M * K) + (c.transA ? k * M + m : m * K + k);
  const ib = (z: number, k: number, n: number) => (zb === 1 ? 0 : z * K * N) + (c.transB ? n * K + k : k * N + n);
  const out = new Float64Array(Z * M * N);
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  for (let z = 0; z < Z; z++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const o = (z * M + m) * N + n;
        const g = r[o];
        let s = 0;
        for (let k = 0; k < K; k++) {
          const x = a[ia(z, m, k)];
          const y = b[ib(z, k, n)];
          s += x * y;
          da[ia(z, m, k)] += g * y;
          db[ib(z, k, n)] += g * x;
        }
        out[o] = s;
      }
    }
  }
  return { out, da, db };
}

/** matmul forced to `variant` on random inputs: forward and both gradients against productRef. */
export async function checkProduct(variant: MatmulVariant, c: ProductCase): Promise<void> {
  const { rng, seed } = seeded();
  const f32 = (n: number) => randomArray(rng, n).map(Math.fround);
  const av = f32(prod(c.a));
  const bv = f32(prod(c.b));
  const name = `${variant} ${describeProduct(c)}`;
  await scope(async () => {
    const a = upload(av, c.a, true);
    const b = upload(bv, c.b, true);
    const out = ops.matmul(a, b, { transA: c.transA, transB: c.transB, variant });
    const rv = f32(out.size);
    const ref = productRef(c, av, bv, rv);
    assertClose(await read(out), ref.out, FORWARD_TOL, `${name} forward`, seed);
    ops.backward(ops.sumAll(ops.mul(out, upload(rv, out.shape))));
    assert.ok(a.grad && b.grad, `${name}: gradients`);
    assertClose(await read(a.grad), ref.da, GRAD_TOL, `${name} gradient of a`, seed);
    assertClose(await read(b.grad), ref.db, GRAD_TOL, `${name} gradient of b`, seed);
    a.grad.dispose();
    b.grad.dispose();
  });
}
