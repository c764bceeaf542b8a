// checkOp: runs an op on fresh random inputs and compares it with a float64 reference, forward
// and backward. The reference gradient is the central difference of the float64 reference
// (exact to ~1e-9 here), taken on the scalar sum(out * R) with R random.
import * as assert from 'uvu/assert';
import { backward } from '../src/autograd.js';
import { mul } from '../src/ops/elementwise.js';
import { sumAll } from '../src/ops/reduce.js';
import { scope } from '../src/scope.js';
import type { Tensor, Shape } from '../src/tensor.js';
import type { Rng } from '../src/random.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, randomArray, read, seeded, upload } from './helpers.js';

export interface InputSpec {
  shape: Shape;
  lo?: number;
  hi?: number;
  /** Check this input's gradient (default true). */
  grad?: boolean;
  /** Custom values instead of uniform random ones. */
  make?: (rng: Rng, n: number) => Float64Array;
}

export interface OpCheck {
  name: string;
  inputs: InputSpec[];
  run: (...xs: Tensor[]) => Tensor;
  ref: (...xs: Float64Array[]) => Float64Array;
  /** Skip the backward check (ops without gradients). */
  forwardOnly?: boolean;
  forwardTol?: number;
  gradTol?: number;
  /** Finite-difference step. */
  h?: number;
}

export function finiteDifference(f: (xs: Float64Array[]) => number, xs: Float64Array[], which: number, h: number): Float64Array {
  const x = xs[which];
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + h;
    const up = f(xs);
    x[i] = keep - h;
    const down = f(xs);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export async function checkOp(c: OpCheck): Promise<void> {
  const { rng, seed } = seeded();
  const values = c.inputs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return s.make ? s.make(rng, n) : randomArray(rng, n, s.lo ?? -1, s.hi ?? 1);
  });
  // Inputs are rounded to float32 so the reference sees exactly what the GPU sees.
  for (const v of values) for (let i = 0; i < v.length; i++) v[i] = Math.fround(v[i]);
  const refOut = c.ref(...values);
  await scope(async () => {
    const ts = values.map((v, i) => upload(v, c.inputs[i].shape, !c.forwardOnly && c.inputs[i].grad !== false));
    const out = c.run(...ts);
    assertClose(await read(out), refOut, c.forwardTol ?? FORWARD_TOL, `${c.name} forward`, seed);
    if (c.forwardOnly) return;
    const r = randomArray(rng, refOut.length);
    const rT = upload(r, out.shape);
    const loss = sumAll(mul(out, rT));
    backward(loss);
    const scalar = (xs: Float64Array[]) => {
      const o = c.ref(...xs);
      let s = 0;
      for (let i = 0; i < o.length; i++) s += o[i] * r[i];
      return s;
    };
    for (let i = 0; i < ts.length; i++) {
      if (c.inputs[i].grad === false) continue;
      const want = finiteDifference(scalar, values, i, c.h ?? 1e-6);
      const g = ts[i].grad;
      assert.ok(g, `${c.name}: input ${i} got no gradient (seed ${seed})`);
      assertClose(await read(g!), want, c.gradTol ?? GRAD_TOL, `${c.name} gradient of input ${i}`, seed);
      g!.dispose();
    }
  });
}
