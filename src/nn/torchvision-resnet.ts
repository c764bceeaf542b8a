// torchvision's ImageNet-style ResNet18/34/50 (torchvision.models.resnet, v1.5: a Bottleneck
// strides on its 3x3 conv): a 7x7 stride-2 stem conv, bn1, ReLU and a 3x3 stride-2 max-pool, then
// layer1-4 and global average pooling into `fc`. Parameter and buffer names are torchvision's
// (`conv1.weight`, `layer2.0.downsample.1.running_var`, `fc.bias`), so its state dicts load as
// they are (src/checkpoint/torchvision.ts). The blocks are the CIFAR-style ResNet's
// (src/nn/resnet.ts), whose shortcut torchvision calls `downsample`.
import * as ops from '../ops/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { BatchNorm2d, Conv2d, Linear, type Sequential } from './layers.js';
import { archSpec, resnetStages, type Arch } from './resnet.js';

export interface TorchvisionResNetOptions {
  /** Block type and depth (default resnet18). */
  arch?: Arch;
  /** Outputs of `fc` (1000 for ImageNet-1k, the default). */
  numClasses?: number;
  /** Channels of the stem and layer1 (64 in every torchvision model; smaller for tests). */
  width?: number;
  inChannels?: number;
}

export class TorchvisionResNet extends Module {
  /** The input side torchvision's ImageNet weights were trained at (any size >= 32 runs). */
  static readonly inputSize = 224;
  /** Resolution lost from input to featureMap (stem conv 2, max-pool 2, layers 2-4 2 each). */
  static readonly featureStride = 32;
  readonly arch: Arch;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly stages: Sequential[];
  readonly fc: Linear;
  /** Channels of featureMap's output (512 for BasicBlock archs, 2048 for resnet50 at width 64). */
  readonly featureDim: number;
  readonly numClasses: number;

  constructor(rng: Rng, options: TorchvisionResNetOptions = {}) {
    super();
    this.arch = options.arch ?? 'resnet18';
    const spec = archSpec(this.arch);
    const w = options.width ?? 64;
    this.numClasses = options.numClasses ?? 1000;
    this.conv1 = this.child('conv1', new Conv2d(options.inChannels ?? 3, w, 7, rng, { stride: 2, padding: 3 }));
    this.bn1 = this.child('bn1', new BatchNorm2d(w, { fuseRelu: true }));
    const { stages, outPlanes } = resnetStages(spec, w, w, rng, 'downsample');
    this.stages = stages.map((layer, s) => this.child(`layer${s + 1}`, layer));
    this.featureDim = outPlanes;
    this.fc = this.child('fc', new Linear(outPlanes, this.numClasses, rng));
    this.assignPaths();
  }

  /** The last stage's output [B, featureDim, ~H/32, ~W/32], before pooling (Attentive CutMix's grid). */
  featureMap(x: Tensor): Tensor {
    let out = ops.maxPool2d(this.bn1.call(this.conv1.call(x)), 3, { stride: 2, padding: 1 });
    for (const stage of this.stages) out = stage.call(out);
    return out;
  }

  /** Class logits [B, numClasses]. */
  protected forward(x: Tensor): Tensor {
    return this.fc.call(ops.globalAvgPool(this.featureMap(x)));
  }
}
