// The batch-norm op's checks against the float64 reference (batchnorm-ref.ts), shared by the tests
// of its kernels: the plain ones (batchnorm.test.ts) and the subgroup variant (subgroups.test.ts).
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, assertClose, read, seeded, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { bnRef, makeInputs, type RefOptions, type Shape4 } from './batchnorm-ref.js';

/** Runs batchNorm2d on the GPU and checks output and running stats against bnRef. */
export async function checkForward(shape: Shape4, o: RefOptions, offset = 0): Promise<void> {
  const { rng, seed } = seeded();
  const { x, w, b, rm, rv } = makeInputs(rng, shape, offset);
  const want = bnRef(x, w, b, rm, rv, shape, o);
  const tag = `${JSON.stringify(shape)} ${JSON.stringify(o)}${offset ? ` offset ${offset}` : ''}`;
  await scope(async () => {
    const runningMean = upload(rm, [shape[1]]);
    const runningVar = upload(rv, [shape[1]]);
    const out = ops.batchNorm2d(upload(x, shape), upload(w, [shape[1]]), upload(b, [shape[1]]), runningMean, runningVar, o);
    if (o.training) {
      // (x - mean) / std in float32 loses |x| ulp's against the std of a channel of 2 or 3 values
      // that happen to be close: there the error is judged against w (|x| + |mean|) / std per
      // element, the size float32 can resolve; elsewhere against the output, as every other check
      // (the large-offset case stays as strict: its channels hold hundreds of values).
      assertCloseToScale(await read(out), want.out, Math.max(Math.hypot(...want.out), tinyChannelScale(x, w, shape)), `${tag} output`, seed);
    } else assertClose(await read(out), want.out, FORWARD_TOL, `${tag} output`, seed);
    // running = (1 - m) old + m batch can cancel to ~0 (the old values are random, of either sign):
    // the float32 error is then judged against the size of its terms, not of their sum.
    const terms = (old: Float64Array, now: Float64Array) => Math.hypot(...old) + Math.hypot(...now);
    assertCloseToScale(await read(runningMean), want.runningMean, terms(rm, want.runningMean), `${tag} running_mean`, seed);
    assertCloseToScale(await read(runningVar), want.runningVar, terms(rv, want.runningVar), `${tag} running_var`, seed);
  });
}

/** hypot over the elements of channels of fewer than 4 values of w_c (|x| + |mean_c|) / sqrt(var_c + 1e-5) (0 without such channels). */
function tinyChannelScale(x: Float64Array, w: Float64Array, [B, C, H, W]: Shape4): number {
  const terms: number[] = [];
  if (B * H * W >= 4) return 0;
  for (let c = 0; c < C; c++) {
    const values: number[] = [];
    for (let b = 0; b < B; b++) for (let i = 0; i < H * W; i++) values.push(x[(b * C + c) * H * W + i]);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length + 1e-5);
    for (const v of values) terms.push((Math.abs(w[c]) * (Math.abs(v) + Math.abs(mean))) / sd);
  }
  return Math.hypot(...terms);
}

/** ||got - ref|| / scale under FORWARD_TOL, every value finite. */
function assertCloseToScale(got: Float64Array, ref: Float64Array, scale: number, what: string, seed: number): void {
  assert.ok(
    got.every((v) => Number.isFinite(v)),
    `${what} (seed ${seed}): not all finite`,
  );
  const err = Math.hypot(...got.map((v, i) => v - ref[i])) / scale;
  assert.ok(err < FORWARD_TOL, `${what} (seed ${seed}): error ${err.toExponential(3)} of the terms' size >= ${FORWARD_TOL}`);
}

/**
 * checkOp over (x, weight, bias); fresh running stats per run keep the reference pure. `noGrad`:
 * inputs (0 x, 1 weight, 2 bias) that need no gradient, so the op takes its paths without them.
 */
export async function checkGradients(shape: Shape4, o: RefOptions, label = '', noGrad: number[] = []): Promise<void> {
  const C = shape[1];
  const rm = Float64Array.from({ length: C }, (_, c) => Math.fround(0.1 * c - 0.2));
  const rv = Float64Array.from({ length: C }, (_, c) => Math.fround(0.8 + 0.3 * c));
  await checkOp({
    name: `batchNorm2d ${JSON.stringify(shape)} ${JSON.stringify(o)}${label}`,
    inputs: [
      { shape, lo: -2, hi: 2 },
      { shape: [C], lo: 0.5, hi: 1.5 },
      { shape: [C], lo: -0.5, hi: 0.5 },
    ].map((input, i) => (noGrad.includes(i) ? { ...input, grad: false } : input)),
    run: (x, w, b) => ops.batchNorm2d(x, w, b, upload(rm, [C]), upload(rv, [C]), o),
    ref: (x, w, b) => bnRef(x, w, b, rm, rv, shape, o).out,
  });
}
