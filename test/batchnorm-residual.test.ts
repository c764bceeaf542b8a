// Batch norm fused with a residual block's end, relu(bn(x) + residual) (batchNorm2d's residual
// option, BatchNorm2d.addRelu): forward and every gradient against the float64 reference, and
// what the fusion saves in dispatches.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../src/ops/index.js';
import { gpu } from '../runtime/gpu.js';
import { BatchNorm2d, SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { keep, scope } from '../src/scope.js';
import type { Tensor } from '../src/tensor.js';
import { FORWARD_TOL, assertClose, randomArray, read, seeded, setupGpu, upload } from './helpers.js';
import { checkOp } from './check-op.js';
import { dispatched } from './dispatched.js';
import { bnRef, makeInputs, size, type RefOptions, type Shape4 } from './batchnorm-ref.js';

const test = suite('batchnorm-residual');
test.before(setupGpu);

// Odd sizes; [3,2,19,21] spreads a channel over several workgroups of every pass, [1,3,17,19]
// has fewer lanes than H*W values in a plane, [4,3,1,1] one value per plane.
const SHAPES: Shape4[] = [
  [2, 3, 5, 7],
  [1, 1, 3, 5],
  [4, 3, 1, 1],
  [2, 2, 13, 11],
  [1, 3, 17, 19],
  [3, 2, 19, 21],
];

async function checkForward(shape: Shape4, o: RefOptions): Promise<void> {
  const { rng, seed } = seeded();
  const { x, w, b, rm, rv } = makeInputs(rng, shape);
  const r = randomArray(rng, size(shape), -2, 2).map(Math.fround);
  const want = bnRef(x, w, b, rm, rv, shape, o, r);
  const tag = `${JSON.stringify(shape)} ${JSON.stringify(o)}`;
  await scope(async () => {
    const C = shape[1];
    const runningMean = upload(rm, [C]);
    const runningVar = upload(rv, [C]);
    const out = ops.batchNorm2d(upload(x, shape), upload(w, [C]), upload(b, [C]), runningMean, runningVar, { ...o, residual: upload(r, shape) });
    assertClose(await read(out), want.out, FORWARD_TOL, `${tag} output`, seed);
    assertClose(await read(runningMean), want.runningMean, FORWARD_TOL, `${tag} running_mean`, seed);
    assertClose(await read(runningVar), want.runningVar, FORWARD_TOL, `${tag} running_var`, seed);
  });
}

test('forward: relu(bn(x) + residual) and the running stats, train and eval, with and without the ReLU', async () => {
  for (const shape of SHAPES) {
    for (const training of [true, false]) for (const relu of [true, false]) await checkForward(shape, { training, relu });
  }
});

/** checkOp over (x, weight, bias, residual); `noGrad` names inputs whose gradient is not asked for. */
async function checkGradients(shape: Shape4, o: RefOptions, noGrad: number[] = []): Promise<void> {
  const C = shape[1];
  const rm = Float64Array.from({ length: C }, (_, c) => Math.fround(0.1 * c - 0.2));
  const rv = Float64Array.from({ length: C }, (_, c) => Math.fround(0.8 + 0.3 * c));
  const specs = [
    { shape, lo: -2, hi: 2 },
    { shape: [C], lo: 0.5, hi: 1.5 },
    { shape: [C], lo: -0.5, hi: 0.5 },
    { shape, lo: -2, hi: 2 },
  ];
  await checkOp({
    name: `batchNorm2d + residual ${JSON.stringify(shape)} ${JSON.stringify(o)}${noGrad.length ? ` no grad for ${noGrad}` : ''}`,
    inputs: specs.map((s, i) => ({ ...s, grad: !noGrad.includes(i) })),
    run: (x, w, b, r) => ops.batchNorm2d(x, w, b, upload(rm, [C]), upload(rv, [C]), { ...o, residual: r }),
    ref: (x, w, b, r) => bnRef(x, w, b, rm, rv, shape, o, r).out,
  });
}

const GRAD_SHAPES: Shape4[] = [
  [2, 3, 3, 5],
  [1, 1, 4, 3],
  [3, 2, 1, 1],
  [2, 2, 13, 11],
  [2, 1, 25, 23],
];

test('gradients of input, weight, bias and residual in train mode', async () => {
  for (const shape of GRAD_SHAPES) {
    await checkGradients(shape, { training: true, relu: true });
    await checkGradients(shape, { training: true, relu: false });
  }
});

// Unforced, a device with subgroups runs kernels/batchnorm_subgroups.wgsl's partial passes (lavapipe
// and GPUs do), while browsers always run kernels/batchnorm.wgsl's: each writes the gated gradient.
test('train-mode gradients on each partial-pass kernel: the subgroup one (where the device has it) and the plain one', async () => {
  try {
    for (const forced of gpu().hasSubgroups ? [true, false] : [false]) {
      ops.forceBatchNormSubgroups(forced);
      for (const shape of [
        [2, 3, 3, 5],
        [2, 1, 25, 23],
      ] as Shape4[])
        await checkGradients(shape, { training: true, relu: true });
    }
  } finally {
    ops.forceBatchNormSubgroups(null);
  }
});

test('gradients of input, weight, bias and residual in eval mode', async () => {
  for (const shape of GRAD_SHAPES) {
    await checkGradients(shape, { training: false, relu: true });
    await checkGradients(shape, { training: false, relu: false });
  }
});

test('the residual gradient alone, and every gradient but the residual', async () => {
  for (const training of [true, false]) {
    await checkGradients([2, 3, 5, 3], { training, relu: true }, [0, 1, 2]);
    await checkGradients([2, 3, 5, 3], { training, relu: true }, [3]);
  }
});

test('one dispatch forward where the add and ReLU took two more, one fewer backward', async () => {
  const { rng } = seeded();
  const shape: Shape4 = [2, 4, 6, 6];
  const { x, w, b, rm, rv } = makeInputs(rng, shape);
  const r = randomArray(rng, size(shape), -2, 2);
  // Without the fills that poison every new tensor under test (helpers.ts).
  const kernels = (fused: boolean, withBackward: boolean) =>
    dispatched(() => {
      const [xs, rs, wT, bT] = [upload(x, shape, true), upload(r, shape, true), upload(w, [4], true), upload(b, [4], true)];
      const [rmT, rvT] = [upload(rm, [4]), upload(rv, [4])];
      const out = fused ? ops.batchNorm2d(xs, wT, bT, rmT, rvT, { training: true, relu: true, residual: rs }) : ops.relu(ops.add(ops.batchNorm2d(xs, wT, bT, rmT, rvT, { training: true }), rs));
      if (!withBackward) return;
      ops.backward(ops.sumAll(out));
      for (const t of [xs, rs, wT, bT]) t.grad!.dispose();
    }).filter((k) => k !== 'elementwise.fill');
  const [fusedForward, plainForward] = [kernels(true, false), kernels(false, false)];
  const [fusedStep, plainStep] = [kernels(true, true), kernels(false, true)];
  const what = `fused ${fusedStep.join(', ')}; unfused ${plainStep.join(', ')}`;
  assert.equal(plainForward.length - fusedForward.length, 2, what);
  assert.ok(!fusedForward.some((k) => k.startsWith('elementwise')), `fused forward runs no elementwise pass: ${what}`);
  assert.equal(plainStep.length - plainForward.length - (fusedStep.length - fusedForward.length), 1, what);
});

test('BatchNorm2d.addRelu equals relu(add(bn(x), r)); a hook on the layer still sees its own output', async () => {
  const { rng, seed } = seeded();
  const shape: Shape4 = [2, 3, 5, 4];
  const { x } = makeInputs(rng, shape);
  const r = randomArray(rng, size(shape), -2, 2);
  await scope(async () => {
    const bn = new BatchNorm2d(3);
    const [xs, rs] = [upload(x, shape), upload(r, shape)];
    const alone = bn.call(xs);
    const want = await read(ops.relu(ops.add(alone, rs)));
    assertClose(await read(bn.addRelu(xs, rs)), want, FORWARD_TOL, 'fused', seed);
    const hooked: Tensor[] = [];
    const remove = bn.addForwardHook([''], (_, out) => hooked.push(out));
    const viaHook = bn.addRelu(xs, rs);
    remove();
    assert.equal(hooked.length, 1, 'the hook ran once');
    assertClose(await read(hooked[0]), await read(alone), FORWARD_TOL, 'hooked BN output (before the add)', seed);
    assertClose(await read(viaHook), want, FORWARD_TOL, 'unfused path under a hook', seed);
    bn.dispose();
  });
});

/** Loss, every parameter gradient and the kernels of one training forward + backward of a model. */
async function lossAndGrads(model: SupConResNet, x: Float64Array, shape: Shape4, r: Float64Array): Promise<{ values: Float64Array[]; kernels: string[] }> {
  let loss!: Tensor;
  const kernels = dispatched(() => {
    loss = keep(ops.sumAll(ops.mul(model.call(upload(x, shape)), upload(r, [shape[0], 8]))));
    ops.backward(loss);
  }).filter((k) => k !== 'elementwise.fill');
  const values = [await read(loss)];
  loss.dispose();
  for (const p of model.parameters()) {
    values.push(await read(p.grad!));
    p.grad!.dispose();
    p.grad = null;
  }
  return { values, kernels };
}

test('ResNet blocks (BasicBlock, Bottleneck): loss and gradients as the unfused add + ReLU, to float rounding', async () => {
  const { rng, seed } = seeded();
  const shape: Shape4 = [3, 2, 8, 8];
  const x = randomArray(rng, size(shape), -1, 1);
  const r = randomArray(rng, shape[0] * 8);
  for (const [arch, lastBn, blocks] of [
    ['resnet18', 'bn2', 8],
    ['resnet50', 'bn3', 16],
  ] as const) {
    const model = new SupConResNet(new Rng(seed), { arch, width: 2, inChannels: 2, featDim: 8 });
    const fused = await lossAndGrads(model, x, shape, r);
    // A hook on a block's last BN wants that layer's own output, so the block computes it alone.
    const hooked = [...model.modules()].map(([path]) => path).filter((p) => p.endsWith(`.${lastBn}`) && p.includes('layer'));
    const remove = model.addForwardHook(hooked, () => undefined);
    const plain = await lossAndGrads(model, x, shape, r);
    remove();
    assert.equal(hooked.length, blocks);
    assert.equal(plain.kernels.length - fused.kernels.length, 3 * blocks, `${arch}: 2 forward and 1 backward dispatch fewer per block`);
    fused.values.forEach((f, i) => assertClose(f, plain.values[i], 1e-5, `${arch} ${i ? model.namedParameters()[i - 1][0] + ' gradient' : 'loss'}`, seed));
    model.dispose();
  }
});

test('errors: a residual of another shape, addRelu on a layer with its own ReLU', async () => {
  await scope(async () => {
    const x = upload(new Float32Array(24), [2, 3, 2, 2]);
    const ok = upload([1, 1, 1], [3]);
    const bad = upload(new Float32Array(12), [1, 3, 2, 2]);
    assert.throws(() => ops.batchNorm2d(x, ok, ok, null, null, { training: true, residual: bad }), /batchNorm2d: residual has shape \[1, 3, 2, 2\], expected \[2, 3, 2, 2\]/);
    const bn = new BatchNorm2d(3, { fuseRelu: true });
    assert.throws(() => bn.addRelu(x, x), /addRelu needs a layer without fuseRelu/);
    bn.dispose();
  });
});

test.run();
