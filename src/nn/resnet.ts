// The CIFAR-style ResNet18 of docs/TRAINING.md section 1 (and the deeper ResNet34/50 of the same file) and
// its projection head, named exactly as SupContrast's resnet_big.py (SupConResNet: `encoder.*`,
// `head.0`, `head.2`), so the GradMix authors' checkpoints load directly.
import * as ops from '../ops/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { BatchNorm2d, Conv2d, Linear, ReLU, Sequential } from './layers.js';

/** The child name of a block's projection shortcut: SupContrast's `shortcut`, torchvision's `downsample`. */
export type ShortcutName = 'shortcut' | 'downsample';

/** resnet_big.py's shortcut (torchvision's downsample): identity, or a 1x1 conv + BN when the shape changes. */
function shortcut(inPlanes: number, outPlanes: number, stride: number, rng: Rng): Sequential {
  const projection = stride !== 1 || inPlanes !== outPlanes;
  return projection ? new Sequential(new Conv2d(inPlanes, outPlanes, 1, rng, { stride }), new BatchNorm2d(outPlanes)) : new Sequential();
}

export class BasicBlock extends Module {
  static readonly expansion = 1;
  /** For messages: class names do not survive the browser bundle's minifier. */
  static readonly blockName = 'BasicBlock';
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly shortcut: Sequential;

  constructor(inPlanes: number, planes: number, stride: number, rng: Rng, shortcutName: ShortcutName = 'shortcut') {
    super();
    this.conv1 = this.child('conv1', new Conv2d(inPlanes, planes, 3, rng, { stride, padding: 1 }));
    this.bn1 = this.child('bn1', new BatchNorm2d(planes, { fuseRelu: true }));
    this.conv2 = this.child('conv2', new Conv2d(planes, planes, 3, rng, { stride: 1, padding: 1 }));
    this.bn2 = this.child('bn2', new BatchNorm2d(planes));
    this.shortcut = this.child(shortcutName, shortcut(inPlanes, planes, stride, rng));
  }

  protected forward(x: Tensor): Tensor {
    // bn2, the shortcut add and the ReLU are one kernel pass; the block's hooks see its output.
    return this.bn2.addRelu(this.conv2.call(this.bn1.call(this.conv1.call(x))), this.shortcut.call(x));
  }
}

/** resnet_big.py's Bottleneck (ResNet50): 1x1 reduce, 3x3 carrying the stride, 1x1 expand to 4 * planes. */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  static readonly blockName = 'Bottleneck';
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly shortcut: Sequential;

  constructor(inPlanes: number, planes: number, stride: number, rng: Rng, shortcutName: ShortcutName = 'shortcut') {
    super();
    const outPlanes = Bottleneck.expansion * planes;
    this.conv1 = this.child('conv1', new Conv2d(inPlanes, planes, 1, rng));
    this.bn1 = this.child('bn1', new BatchNorm2d(planes, { fuseRelu: true }));
    this.conv2 = this.child('conv2', new Conv2d(planes, planes, 3, rng, { stride, padding: 1 }));
    this.bn2 = this.child('bn2', new BatchNorm2d(planes, { fuseRelu: true }));
    this.conv3 = this.child('conv3', new Conv2d(planes, outPlanes, 1, rng));
    this.bn3 = this.child('bn3', new BatchNorm2d(outPlanes));
    this.shortcut = this.child(shortcutName, shortcut(inPlanes, outPlanes, stride, rng));
  }

  protected forward(x: Tensor): Tensor {
    const out = this.conv3.call(this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x)))));
    return this.bn3.addRelu(out, this.shortcut.call(x));
  }
}

type Block = typeof BasicBlock | typeof Bottleneck;
type Stages = readonly [number, number, number, number];

/** The encoders of SupContrast's model_dict: block type and blocks per stage. */
export const ARCH_SPECS = {
  resnet18: { block: BasicBlock, blocks: [2, 2, 2, 2] },
  resnet34: { block: BasicBlock, blocks: [3, 4, 6, 3] },
  resnet50: { block: Bottleneck, blocks: [3, 4, 6, 3] },
} as const satisfies Record<string, { block: Block; blocks: Stages }>;
export type Arch = keyof typeof ARCH_SPECS;
export const ARCHS = Object.keys(ARCH_SPECS) as Arch[];

/** The spec of an architecture name; an unknown name is an error listing the known ones. */
export function archSpec(arch: string): { block: Block; blocks: Stages } {
  if (!Object.hasOwn(ARCH_SPECS, arch)) throw new Error(`unknown arch '${arch}'; use one of ${ARCHS.join(', ')}`);
  return ARCH_SPECS[arch as Arch];
}

/**
 * The arch whose layer names a SupConResNet state dict carries: blocks per stage from the
 * `<prefix>layerS.B.` indices (layer1.2 exists for 34 and 50), Bottleneck when a block has conv3.
 */
export function archOfStateDict(names: Iterable<string>, prefix = 'encoder.'): Arch {
  const blocks = [0, 0, 0, 0];
  let bottleneck = false;
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^layer([1-4])\.(\d+)\.(\w+)/.exec(name.slice(prefix.length)) : null;
    if (!m) continue;
    blocks[Number(m[1]) - 1] = Math.max(blocks[Number(m[1]) - 1], Number(m[2]) + 1);
    if (m[3] === 'conv3') bottleneck = true;
  }
  const block = bottleneck ? Bottleneck : BasicBlock;
  const found = ARCHS.find((a) => ARCH_SPECS[a].block === block && ARCH_SPECS[a].blocks.every((n, i) => n === blocks[i]));
  if (found) return found;
  const known = ARCHS.map((a) => `${a} (${ARCH_SPECS[a].block.blockName} [${ARCH_SPECS[a].blocks.join(', ')}])`).join(', ');
  throw new Error(`state dict has ${block.blockName} blocks [${blocks.join(', ')}] per stage under '${prefix}layer1-4'; known encoders: ${known}`);
}

/**
 * Stages layer1-4 of planes w, 2w, 4w, 8w (times the block's expansion out); the first block of
 * stages 2-4 halves the resolution. Shared by the CIFAR-style and the torchvision layouts.
 */
export function resnetStages(spec: { block: Block; blocks: Stages }, inPlanes: number, width: number, rng: Rng, shortcutName: ShortcutName = 'shortcut'): { stages: Sequential[]; outPlanes: number } {
  const stages = [1, 2, 4, 8].map((mult, s) => {
    const planes = width * mult;
    return new Sequential(
      ...Array.from({ length: spec.blocks[s] }, (_, b) => {
        const block = new spec.block(inPlanes, planes, b === 0 && s > 0 ? 2 : 1, rng, shortcutName);
        inPlanes = planes * spec.block.expansion;
        return block;
      }),
    );
  });
  return { stages, outPlanes: inPlanes };
}

export interface ResNetOptions {
  /** Block type and depth (default resnet18). */
  arch?: Arch;
  /** Width of the first stage (w); stages are w, 2w, 4w, 8w (times 4 for Bottleneck). 64 is the standard. */
  width?: number;
  inChannels?: number;
  /** Blocks per stage (default: the arch's). */
  blocks?: Stages;
}

export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly stages: Sequential[];
  readonly featureDim: number;

  constructor(rng: Rng, options: ResNetOptions = {}) {
    super();
    const w = options.width ?? 64;
    const spec = archSpec(options.arch ?? 'resnet18');
    const blocks = options.blocks ?? spec.blocks;
    this.conv1 = this.child('conv1', new Conv2d(options.inChannels ?? 3, w, 3, rng, { stride: 1, padding: 1 }));
    this.bn1 = this.child('bn1', new BatchNorm2d(w, { fuseRelu: true }));
    const { stages, outPlanes } = resnetStages({ block: spec.block, blocks }, w, w, rng);
    this.stages = stages.map((layer, s) => this.child(`layer${s + 1}`, layer));
    this.featureDim = outPlanes;
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
  /** Classes of a linear `classifier` on the encoder features (the ce objectives); none when absent. */
  numClasses?: number;
}

/** Encoder + MLP projection head; `forward` returns L2-normalised projections. */
export class SupConResNet extends Module {
  readonly encoder: ResNet;
  readonly head: Sequential;
  /** Linear(featureDim, numClasses), present only when built with numClasses (state dict `classifier.*`). */
  readonly classifier: Linear | null;

  constructor(rng: Rng, options: SupConResNetOptions = {}) {
    super();
    this.encoder = this.child('encoder', new ResNet(rng, options));
    const d = this.encoder.featureDim;
    this.head = this.child('head', new Sequential(new Linear(d, d, rng), new ReLU(), new Linear(d, options.featDim ?? 128, rng)));
    // Built after the head, so the head's initial weights do not depend on it.
    this.classifier = options.numClasses ? this.child('classifier', new Linear(d, options.numClasses, rng)) : null;
    this.assignPaths();
  }

  protected forward(x: Tensor): Tensor {
    return this.project(this.encoder.call(x));
  }

  /** L2-normalised projections of encoder features. */
  project(features: Tensor): Tensor {
    return ops.l2Normalize(this.head.call(features));
  }

  /** Class logits of encoder features; only for a model built with numClasses. */
  classify(features: Tensor): Tensor {
    if (!this.classifier) throw new Error('this model has no classifier (it was not trained with --objective ce or ce+ssl)');
    return this.classifier.call(features);
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

  /** Runs fn (which calls the model) and returns its result with the named layers' outputs (a layer fn did not run is an error). */
  withActivations<T>(layers: readonly string[], fn: () => T): { result: T; activations: Tensor[] } {
    const paths = layers.map((n) => this.layer(n).path);
    const found = new Map<string, Tensor>();
    const remove = this.addForwardHook(paths, (path, out) => found.set(path, out));
    try {
      const result = fn();
      const i = paths.findIndex((p) => !found.has(p));
      if (i >= 0) {
        const where = paths[i] === layers[i] ? '' : ` (${paths[i]})`;
        throw new Error(`withActivations: layer '${layers[i]}'${where} produced no output: fn must run the model's forward through it`);
      }
      return { result, activations: paths.map((p) => found.get(p)!) };
    } finally {
      remove();
    }
  }

  /**
   * Runs fn (which calls the model) with every BatchNorm's running statistics left as they are,
   * then restores each layer's own setting. fn must be synchronous: the forwards it records
   * decide at once whether they update the statistics, and a forward after an await would run
   * with them frozen or not depending on timing, so a promise is refused.
   */
  withFrozenRunningStats<T>(fn: () => T): T {
    const bns = [...this.modules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
    const before = bns.map((m) => m.updateRunningStats);
    bns.forEach((m) => (m.updateRunningStats = false));
    let result: T;
    try {
      result = fn();
    } finally {
      bns.forEach((m, i) => (m.updateRunningStats = before[i]));
    }
    if (result instanceof Promise) {
      result.catch(() => undefined); // its own failure would otherwise surface unhandled, beside this error
      throw new Error('withFrozenRunningStats: fn returned a promise; run only the synchronous forward inside and await its results outside');
    }
    return result;
  }
}
