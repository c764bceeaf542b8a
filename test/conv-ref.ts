// Float64 references of conv2d (PyTorch semantics, NCHW) and its gradients, shared by the tests
// of every convolution variant, and the check of a variant against them at sizes too large for
// finite differences.
import { backward, conv2d, mul, sumAll, type ConvVariant } from '../src/ops/index.js';
import { scope } from '../src/scope.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, randomArray, read, seeded, upload } from './helpers.js';

export interface ConvCase {
  b: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  kh: number;
  kw: number;
  stride: [number, number];
  pad: [number, number];
  bias: boolean;
}

export function convCase(
  b: number,
  cin: number,
  h: number,
  w: number,
  cout: number,
  k: number | [number, number],
  stride: number | [number, number],
  pad: number | [number, number],
  bias = false,
): ConvCase {
  const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
  const [kh, kw] = pair(k);
  return { b, cin, h, w, cout, kh, kw, stride: pair(stride), pad: pair(pad), bias };
}

export const describeConv = (c: ConvCase) => `x[${c.b},${c.cin},${c.h},${c.w}] w[${c.cout},${c.cin},${c.kh},${c.kw}] stride ${c.stride} pad ${c.pad}${c.bias ? ' +bias' : ''}`;

export function convOutSize(c: ConvCase): [number, number] {
  return [Math.floor((c.h + 2 * c.pad[0] - c.kh) / c.stride[0]) + 1, Math.floor((c.w + 2 * c.pad[1] - c.kw) / c.stride[1]) + 1];
}

/** Calls visit(outIndex, xIndex, wIndex) for every multiply of the convolution. */
function forEachTap(c: ConvCase, visit: (o: number, xi: number, wi: number, co: number) => void): void {
  const [oh, ow] = convOutSize(c);
  for (let b = 0; b < c.b; b++)
    for (let co = 0; co < c.cout; co++)
      for (let y = 0; y < oh; y++)
        for (let z = 0; z < ow; z++) {
          const o = ((b * c.cout + co) * oh + y) * ow + z;
          for (let ci = 0; ci < c.cin; ci++)
            for (let i = 0; i < c.kh; i++) {
              const ih = y * c.stride[0] - c.pad[0] + i;
              if (ih < 0 || ih >= c.h) continue;
              for (let j = 0; j < c.kw; j++) {
                const iw = z * c.stride[1] - c.pad[1] + j;
                if (iw < 0 || iw >= c.w) continue;
                visit(o, ((b * c.cin + ci) * c.h + ih) * c.w + iw, ((co * c.cin + ci) * c.kh + i) * c.kw + j, co);
              }
            }
        }
}

/** out[b,co,oh,ow] = bias[co] + sum w[co,ci,kh,kw] x[b,ci,oh*s-p+kh,ow*s-p+kw]. */
export function convRef(c: ConvCase, x: Float64Array, w: Float64Array, bias?: Float64Array): Float64Array {
  const [oh, ow] = convOutSize(c);
  const out = new Float64Array(c.b * c.cout * oh * ow);
  if (bias) for (let o = 0; o < out.length; o++) out[o] = bias[Math.floor(o / (oh * ow)) % c.cout];
  forEachTap(c, (o, xi, wi) => (out[o] += w[wi] * x[xi]));
  return out;
}

/** Analytic gradients of sum(conv(x, w) * r): [dx, dw, dbias]. */
export function convGradRef(c: ConvCase, x: Float64Array, w: Float64Array, r: Float64Array): [Float64Array, Float64Array, Float64Array] {
  const [oh, ow] = convOutSize(c);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(c.cout);
  for (let o = 0; o < r.length; o++) db[Math.floor(o / (oh * ow)) % c.cout] += r[o];
  forEachTap(c, (o, xi, wi) => {
    dx[xi] += r[o] * w[wi];
    dw[wi] += r[o] * x[xi];
  });
  return [dx, dw, db];
}

/** conv2d forced to `variant` on random inputs: forward and every gradient against the analytic reference. */
export async function checkConvAnalytic(variant: ConvVariant, c: ConvCase): Promise<void> {
  const { rng, seed } = seeded();
  const fround = (a: Float64Array) => a.map(Math.fround);
  const xv = fround(randomArray(rng, c.b * c.cin * c.h * c.w));
  const wv = fround(randomArray(rng, c.cout * c.cin * c.kh * c.kw));
  const bv = fround(randomArray(rng, c.cout));
  const [oh, ow] = convOutSize(c);
  const rv = fround(randomArray(rng, c.b * c.cout * oh * ow));
  const name = `conv2d ${variant} ${describeConv(c)}`;
  await scope(async () => {
    const x = upload(xv, [c.b, c.cin, c.h, c.w], true);
    const w = upload(wv, [c.cout, c.cin, c.kh, c.kw], true);
    const bias = c.bias ? upload(bv, [c.cout], true) : null;
    const out = conv2d(x, w, bias, { stride: c.stride, padding: c.pad, variant });
    assertClose(await read(out), convRef(c, xv, wv, c.bias ? bv : undefined), FORWARD_TOL, `${name} forward`, seed);
    backward(sumAll(mul(out, upload(rv, out.shape))));
    const [dx, dw, db] = convGradRef(c, xv, wv, rv);
    assertClose(await read(x.grad!), dx, GRAD_TOL, `${name} input gradient`, seed);
    assertClose(await read(w.grad!), dw, GRAD_TOL, `${name} weight gradient`, seed);
    if (bias) assertClose(await read(bias.grad!), db, GRAD_TOL, `${name} bias gradient`, seed);
    for (const t of [x, w, bias]) t?.grad?.dispose();
  });
}
