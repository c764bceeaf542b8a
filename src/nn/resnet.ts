// The CIFAR-style ResNet18 of SPEC.md section 2 and its projection head, named exactly as
// SupContrast's resnet_big.py (SupConResNet: `encoder.*`, `head.0`, `head.2`), so the GradMix
// authors' checkpoints load directly.
import * as ops from '../ops/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { BatchNorm2d, Conv2d, Linear, ReLU, Sequential } from './layers.js';

export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly shortcut: Sequential;

  constructor(inPlanes: number, planes: number, stride: number, rng: Rng) {
    super();
    this.conv1 = this.child('conv1', new Conv2d(inPlanes, planes, 3, rng, { stride, padding: 1 }));
    this.bn1 = this.child('bn1', new BatchNorm2d(planes, { fuseRelu: true }));
    this.conv2 = this.child('conv2', new Conv2d(planes, planes, 3, rng, { stride: 1, padding: 1 }));
    this.bn2 = this.child('bn2', new BatchNorm2d(planes));
    const projection = stride !== 1 || inPlanes !== planes;
    this.shortcut = this.child(
      'shortcut',
      projection ? new Sequential(new Conv2d(inPlanes, planes, 1, rng, { stride }), new BatchNorm2d(planes)) : new Sequential(),
    );
  }

  protected forward(x: Tensor): Tensor {
    const out = this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x))));
    return ops.relu(ops.add(out, this.shortcut.call(x)));
  }
}

export interface ResNetOptions {
  /** Width of the first stage (w); stages are w, 2w, 4w, 8w. 64 is the standard ResNet18. */
  width?: number;
  inChannels?: number;
  /** Blocks per stage. */
  blocks?: readonly [number, number, number, number];
}

export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly stages: Sequential[];
  readonly featureDim: number;

  constructor(rng: Rng, options: ResNetOptions = {}) {
    super();
    const w = options.width ?? 64;
    const blocks = options.blocks ?? [2, 2, 2, 2];
    this.conv1 = this.child('conv1', new Conv2d(options.inChannels ?? 3, w, 3, rng, { stride: 1, padding: 1 }));
    this.bn1 = this.child('bn1', new BatchNorm2d(w, { fuseRelu: true }));
    let inPlanes = w;
    this.stages = [1, 2, 4, 8].map((mult, s) => {
      const planes = w * mult;
      const layer = new Sequential(
        ...Array.from({ length: blocks[s] }, (_, b) => {
          const block = new BasicBlock(inPlanes, planes, b === 0 && s > 0 ? 2 : 1, rng);
          inPlanes = planes;
          return block;
        }),
      );
      return this.child(`layer${s + 1}`, layer);
    });
    this.featureDim = 8 * w;
  }

  protected forward(x: Tensor): Tensor {
    let out = this.bn1.call(this.conv1.call(x));
    for (const stage of this.stages) out = stage.call(out);
    return ops.globalAvgPool(out);
  }
}

export interface SupConResNetOptions extends ResNetOptions {
  /** Projection output size (128 in the paper). */
  featDim?: number;
}

/** Encoder + MLP projection head; `forward` returns L2-normalised projections. */
export class SupConResNet extends Module {
  readonly encoder: ResNet;
  readonly head: Sequential;

  constructor(rng: Rng, options: SupConResNetOptions = {}) {
    super();
    this.encoder = this.child('encoder', new ResNet(rng, options));
    const d = this.encoder.featureDim;
    this.head = this.child('head', new Sequential(new Linear(d, d, rng), new ReLU(), new Linear(d, options.featDim ?? 128, rng)));
    this.assignPaths();
  }

  protected forward(x: Tensor): Tensor {
    return ops.l2Normalize(this.head.call(this.encoder.call(x)));
  }

  /** Encoder features (before the head), as used for open-set scoring. */
  features(x: Tensor): Tensor {
    return this.encoder.call(x);
  }

  /** A layer by name, relative to the encoder where that is unambiguous (`layer2.1`). */
  layer(name: string): Module {
    try {
      return this.get(name);
    } catch {
      return this.get(`encoder.${name}`);
    }
  }
}
