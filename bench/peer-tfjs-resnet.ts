// The SupCon ResNet (docs/TRAINING.md section 1: CIFAR stem, BasicBlock or Bottleneck stages w, 2w, 4w, 8w,
// global average pool, Linear-ReLU-Linear head, L2-normalised) and its training step written with
// TF.js ops, for the benchmark's TF.js peer: SupCon + SimCLR on both views from one log-softmax
// (as ours, theta = lambda = 1), gradients by tf's autograd, tf.train.adam. NHWC, TF.js's layout.
// Batch norm runs in train mode (batch statistics through tf.moments, whose gradient flows);
// running statistics are not kept (ours and PyTorch's update them: a few elementwise kernels).
import type { TrainStepPeer } from './family.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tensor = import('@tensorflow/tfjs-core').Tensor;
type Variable = import('@tensorflow/tfjs-core').Variable;

interface Norm {
  gamma: Variable;
  beta: Variable;
}

interface Conv {
  w: Variable;
  cout: number;
  stride: number;
  pad: number;
}

interface Block {
  convs: Conv[];
  norms: Norm[];
  shortcut: { conv: Conv; norm: Norm } | null;
}

const ARCHS = { resnet18: { bottleneck: false, blocks: [2, 2, 2, 2] }, resnet34: { bottleneck: false, blocks: [3, 4, 6, 3] }, resnet50: { bottleneck: true, blocks: [3, 4, 6, 3] } };

export interface TfTrainStep {
  run: () => void;
  dispose: () => void;
}

/** One training step of the SupCon ResNet of `s` in TF.js, ready to run repeatedly. */
export function tfjsTrainStep(tf: Tf, s: TrainStepPeer): TfTrainStep {
  const variables: Variable[] = [];
  const variable = (t: Tensor) => {
    const v = tf.variable(t);
    variables.push(v);
    return v;
  };
  const conv = (cin: number, cout: number, k: number, stride: number): Conv => ({
    w: variable(tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cout)))),
    cout,
    stride,
    pad: (k - 1) / 2,
  });
  const norm = (c: number): Norm => ({ gamma: variable(tf.ones([c])), beta: variable(tf.zeros([c])) });

  const { bottleneck, blocks } = ARCHS[s.arch];
  const stem = { conv: conv(s.channels, s.width, 3, 1), norm: norm(s.width) };
  const stages: Block[] = [];
  let inPlanes = s.width;
  blocks.forEach((count, stage) => {
    const planes = s.width * 2 ** stage;
    const outPlanes = planes * (bottleneck ? 4 : 1);
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const convs = bottleneck ? [conv(inPlanes, planes, 1, 1), conv(planes, planes, 3, stride), conv(planes, outPlanes, 1, 1)] : [conv(inPlanes, planes, 3, stride), conv(planes, planes, 3, 1)];
      const shortcut = stride !== 1 || inPlanes !== outPlanes ? { conv: conv(inPlanes, outPlanes, 1, stride), norm: norm(outPlanes) } : null;
      stages.push({ convs, norms: convs.map((c) => norm(c.cout)), shortcut });
      inPlanes = outPlanes;
    }
  });
  const dense = (fin: number, fout: number) => ({ w: variable(tf.randomNormal([fin, fout], 0, Math.sqrt(1 / fin))), b: variable(tf.zeros([fout])) });
  const head = [dense(inPlanes, inPlanes), dense(inPlanes, 128)];

  const applyConv = (x: Tensor, c: Conv) => tf.conv2d(x as never, c.w as never, c.stride, c.pad);
  const applyNorm = (x: Tensor, n: Norm) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x as never, mean as never, variance as never, n.beta as never, n.gamma as never, 1e-5);
  };
  const block = (x: Tensor, b: Block) => {
    let out = x;
    b.convs.forEach((c, i) => {
      out = applyNorm(applyConv(out, c), b.norms[i]);
      if (i < b.convs.length - 1) out = tf.relu(out);
    });
    const skip = b.shortcut ? applyNorm(applyConv(x, b.shortcut.conv), b.shortcut.norm) : x;
    return tf.relu(tf.add(out, skip));
  };
  const forward = (x: Tensor) => {
    let h = tf.relu(applyNorm(applyConv(x, stem.conv), stem.norm));
    for (const b of stages) h = block(h, b);
    let f = tf.mean(h, [1, 2]);
    f = tf.relu(tf.add(tf.matMul(f as never, head[0].w as never), head[0].b));
    const z = tf.add(tf.matMul(f as never, head[1].w as never), head[1].b);
    return tf.mul(z, tf.rsqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12)));
  };

  // Rows i and i + n are the two views of image i; labels cycle over 6 classes (as our rows).
  const n = s.batch;
  const views = tf.randomUniform([2 * n, s.size, s.size, s.channels]);
  const label = (i: number) => (i % n) % 6;
  const masks = (fn: (i: number, j: number) => boolean) =>
    tf.tensor2d(
      Array.from({ length: 4 * n * n }, (_, k) => Number(fn(Math.floor(k / (2 * n)), k % (2 * n)))),
      [2 * n, 2 * n],
    );
  const self = masks((i, j) => i === j);
  const positives = masks((i, j) => i !== j && label(i) === label(j));
  const partner = masks((i, j) => j === (i + n) % (2 * n));
  const positiveCounts = tf.sum(positives, 1);
  const loss = () => {
    const z = forward(views);
    const logits = tf.sub(tf.div(tf.matMul(z as never, z as never, false, true), s.tau), tf.mul(self, 1e9));
    const logp = tf.logSoftmax(logits);
    const supcon = tf.div(tf.sum(tf.mul(logp, positives), 1), positiveCounts);
    const simclr = tf.sum(tf.mul(logp, partner), 1);
    return tf.neg(tf.mean(tf.add(supcon, simclr))) as import('@tensorflow/tfjs-core').Scalar;
  };
  const optimizer = tf.train.adam(1e-3);
  return {
    run: () => tf.tidy(() => void optimizer.minimize(loss, false, variables)),
    dispose: () => {
      optimizer.dispose();
      tf.dispose([...variables, views, self, positives, partner, positiveCounts]);
    },
  };
}
