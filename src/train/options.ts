// Training options with the paper's defaults (docs/TRAINING.md section 5, Table 8) and their validation.
import { FOLDER_PROTOCOL, PROTOCOLS, protocolInfo } from '../data/open-set.js';
import { SCORES, needsClassifier, type ScoreKind } from '../osr/scores.js';
import { MAX_K } from '../osr/knn.js';
import { OBJECTIVES, usesClassifier, type Objective } from './objectives.js';
import { ARCHS, archSpec, type Arch } from '../nn/resnet.js';
import { ATTENTIVE_GRID, ATTENTIVE_TOP_K } from '../gradmix/attention.js';
import { MAX_CAM_LAYERS } from '../gradmix/layercam.js';
import type { MixingConfig } from './mixing.js';

export const METHODS = ['none', 'gradmix', 'mixup', 'cutmix', 'attentive-cutmix'] as const;
export type Method = (typeof METHODS)[number];
export const FILLS = ['partner', 'noise', 'zero'] as const;
export type Fill = (typeof FILLS)[number];

export interface TrainOptions {
  protocol: string;
  split: number;
  /** Data folder for the on-disk protocols. */
  dataDir?: string;
  /** Encoder: resnet18, resnet34 (BasicBlock [3,4,6,3]) or resnet50 (Bottleneck [3,4,6,3]). */
  arch: Arch;
  /** ResNet width w (stages w, 2w, 4w, 8w); 64 is the standard. */
  width: number;
  epochs: number;
  batchSize: number;
  seed: number;
  method: Method;
  /** Training objective (paper Table 1): supcon+ssl (default), supcon, ce, ce+ssl; see objectives.ts. */
  objective: Objective;
  lr: number;
  lrMin: number;
  tau: number;
  theta: number;
  lambda: number;
  /** GradMix: box side fraction gamma ~ U(gammaMin, gammaMax). */
  gammaMin: number;
  gammaMax: number;
  fill: Fill;
  /** LayerCAM layers by module name (relative to the encoder); default: the arch's last blocks of stages 2-4. */
  layers: string[];
  camNormalize: 'image' | 'batch';
  /** Mixup/CutMix Beta(alpha, alpha). */
  mixAlpha: number;
  /** Attentive CutMix: the frozen torchvision ResNet (.safetensors) whose last feature map scores the partner's grid cells. */
  attentionModel?: string;
  /** Attentive CutMix: grid side g and the k best of its g * g cells pasted (the original paper's 7 and 6). */
  attentionGrid: number;
  attentionTopK: number;
  /** Use only this many training images (quick runs, tests); 0 = all. */
  maxTrain: number;
  /** Output folder: checkpoint, log, pictures, results. */
  out: string;
  /** Continue from <out>/checkpoint.safetensors when it exists. */
  resume: boolean;
  /** Write a picture grid of GradMix's attribution and mixing each epoch. */
  pictures: boolean;
  /** Evaluate open-set recognition after training. */
  evaluate: boolean;
  /** Train on every class of the protocol's source data (for `gradmix ood`); no open-set evaluation then. */
  allClasses: boolean;
  /** kNN k for evaluation. */
  k: number;
  /** Open-set score for evaluation: knn (default), msp, entropy (ce objectives only), nno. */
  score: ScoreKind;
  /** Print progress to stderr. */
  progress: boolean;
  /** Own data (protocol 'folder'): the class sub-folders of dataDir that are known, in label order. */
  known?: string[];
  /** Own data: a folder of unknown-class images (default: dataDir's other classes). */
  unknownDataDir?: string;
  /** Own data: the fraction of each known class held out for evaluation and the threshold. */
  valFraction: number;
  /** Own data: every image is resized to imageSize x imageSize. */
  imageSize: number;
  /** Own data: 1 or 3 converts every image; default: from the images (all grey: 1, all colour: 3). */
  channels?: 1 | 3;
  /**
   * Own data: shrink images with antialiasing (torchvision's Resize). Set for every new image-folder
   * run; a saved run without it (recorded before it existed) shrank plainly (src/train/run-config.ts).
   */
  antialias?: boolean;
  /** The fraction of held-out known images the saved open-set threshold accepts (true-positive rate). */
  tpr: number;
}

/** The paper's epochs per protocol (docs/TRAINING.md section 5). */
function paperEpochs(protocol: string): number {
  // An image folder of the user's: as many as MNIST's, a start for a small data set.
  if (protocol === 'mnist' || protocol === 'mnist-mini' || protocol === FOLDER_PROTOCOL) return 20;
  if (protocol === 'svhn') return 100;
  return 600;
}

/** lambda is 1.2 for CIFAR10 and CIFAR+N in the paper, 1 elsewhere. */
function paperLambda(protocol: string): number {
  return protocol === 'cifar10' || protocol.startsWith('cifar+') ? 1.2 : 1;
}

export function defaultOptions(protocol = 'mnist-mini'): TrainOptions {
  return {
    protocol,
    split: 0,
    arch: 'resnet18',
    width: 64,
    epochs: paperEpochs(protocol),
    batchSize: 256,
    seed: 0,
    method: 'gradmix',
    objective: 'supcon+ssl',
    lr: 1e-3,
    lrMin: 1e-5,
    tau: 0.05,
    theta: 1,
    lambda: paperLambda(protocol),
    gammaMin: 0.1,
    gammaMax: 0.5,
    fill: 'partner',
    layers: ['layer2.1', 'layer3.1', 'layer4.1'],
    camNormalize: 'image',
    mixAlpha: 1,
    attentionGrid: ATTENTIVE_GRID,
    attentionTopK: ATTENTIVE_TOP_K,
    maxTrain: 0,
    out: 'runs/latest',
    resume: false,
    pictures: false,
    evaluate: true,
    allClasses: false,
    k: 3,
    score: 'knn',
    progress: true,
    valFraction: 0.2,
    imageSize: 32,
    tpr: 0.95,
  };
}

/** The mixing method's part of the options: all the mixed term reads (src/train/mixing.ts), copied so nothing else travels with it. */
export function mixingConfig(o: Pick<TrainOptions, keyof MixingConfig>): MixingConfig {
  const { method, layers, camNormalize, gammaMin, gammaMax, fill, mixAlpha, attentionGrid, attentionTopK } = o;
  return { method, layers, camNormalize, gammaMin, gammaMax, fill, mixAlpha, attentionGrid, attentionTopK };
}

/** The default LayerCAM layers (docs/TRAINING.md section 3): the last block of stages 2, 3 and 4 (`layer2.1`, ... for resnet18). */
export function lastBlockLayers(arch: Arch): string[] {
  const { blocks } = archSpec(arch);
  return [2, 3, 4].map((stage) => `layer${stage}.${blocks[stage - 1] - 1}`);
}

/**
 * How an option is named in error messages: the option itself for library calls, the flag for the
 * command line (src/train/option-flags.ts), so a message names what the user actually typed.
 */
export type OptionNamer = (option: string) => string;
const asOption: OptionNamer = (option) => option;

/** Fills defaults (protocol-dependent ones from the chosen protocol) and checks every value; `n` names options in errors. */
export function resolveOptions(given: Partial<TrainOptions>, n: OptionNamer = asOption): TrainOptions {
  // --known names class folders of the user's data: the 'folder' protocol.
  const protocol = given.protocol ?? (given.known !== undefined ? FOLDER_PROTOCOL : 'mnist-mini');
  const o = { ...defaultOptions(protocol), ...stripUndefined(given), protocol };
  if (protocol === FOLDER_PROTOCOL) o.antialias ??= true;
  const splits = checkDataChoice(o, n);
  const lastBlocks = lastBlockLayers(o.arch); // throws on an unknown arch, listing the known ones
  if (given.layers === undefined) o.layers = lastBlocks;
  checkLayers(o.layers, o.arch, n);
  const integer = (name: keyof TrainOptions, v: number, min: number, max = Infinity) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      const range = max === Infinity ? (min === 1 ? 'a positive integer' : `an integer >= ${min}`) : `an integer in ${min}..${max}`;
      throw new Error(`${n(name)} must be ${range}, got ${v}`);
    }
  };
  integer('width', o.width, 1);
  integer('epochs', o.epochs, 1);
  integer('batchSize', o.batchSize, 1);
  integer('k', o.k, 1, MAX_K); // the kNN kernel's top-k array holds at most MAX_K
  integer('seed', o.seed, 0, 2 ** 32 - 1);
  if (!Number.isInteger(o.split) || o.split < 0 || o.split >= splits) {
    throw new Error(`${n('split')} must be 0..${splits - 1} for ${o.protocol}, got ${o.split}`);
  }
  if (!(o.tpr > 0 && o.tpr <= 1)) throw new Error(`${n('tpr')} must be in (0, 1], got ${o.tpr}`);
  if (o.batchSize < 2) throw new Error(`${n('batchSize')} must be at least 2 (contrastive losses need negatives)`);
  const oneOf = (name: keyof TrainOptions, v: string, choices: readonly string[]) => {
    if (!choices.includes(v)) throw new Error(`unknown ${n(name)} '${v}'; use one of ${choices.join(', ')}`);
  };
  oneOf('method', o.method, METHODS);
  oneOf('objective', o.objective, OBJECTIVES);
  oneOf('score', o.score, SCORES);
  if (needsClassifier(o.score) && !usesClassifier(o.objective)) {
    throw new Error(`${n('score')} '${o.score}' needs the classifier of a ce objective; use ${n('objective')} ce or ce+ssl (got '${o.objective}'), or ${n('score')} knn or nno`);
  }
  oneOf('fill', o.fill, FILLS);
  if (!(o.gammaMin > 0 && o.gammaMin <= o.gammaMax && o.gammaMax <= 1)) throw new Error(`need 0 < ${n('gammaMin')} <= ${n('gammaMax')} <= 1, got ${o.gammaMin}, ${o.gammaMax}`);
  if (!(o.lr > 0 && o.lrMin >= 0 && o.lrMin <= o.lr)) throw new Error(`need ${n('lr')} > 0 and 0 <= ${n('lrMin')} <= ${n('lr')}, got ${o.lr}, ${o.lrMin}`);
  if (!(o.tau > 0)) throw new Error(`${n('tau')} must be positive, got ${o.tau}`);
  if (!(o.mixAlpha > 0)) throw new Error(`${n('mixAlpha')} must be positive, got ${o.mixAlpha}`);
  oneOf('camNormalize', o.camNormalize, ['image', 'batch']);
  checkAttention(o, n, integer);
  integer('maxTrain', o.maxTrain, 0);
  return o;
}

/**
 * LayerCAM layers must be feature maps of the encoder (conv1, bn1, layer<stage>[.<block>[...]],
 * optionally prefixed encoder.), at most MAX_CAM_LAYERS of them, and a stage's block must exist in
 * the arch: each would otherwise surface at the first step, after the data loaded. Names inside a
 * block (layer2.1.conv1) are left to the model, which names what it lacks.
 */
function checkLayers(layers: readonly string[], arch: Arch, n: OptionNamer): void {
  const defaults = lastBlockLayers(arch).join(',');
  if (layers.length === 0) throw new Error(`${n('layers')} is empty; the default for ${arch} is ${defaults}`);
  if (layers.length > MAX_CAM_LAYERS) throw new Error(`${n('layers')} names ${layers.length} layers; LayerCAM takes at most ${MAX_CAM_LAYERS} (default ${defaults})`);
  const { blocks } = archSpec(arch);
  for (const name of layers) {
    // The head's and the encoder's own outputs are [B, features], not maps LayerCAM can read.
    if (!/^(?:encoder\.)?(?:conv1|bn1|layer\d+)(?:\.|$)/.test(name)) {
      throw new Error(`${n('layers')}: '${name}' is not a feature map of the encoder; name conv1, bn1 or layer<stage>[.<block>], optionally prefixed encoder. (default ${defaults})`);
    }
    const m = /^(?:encoder\.)?layer(\d+)(?:\.(\d+))?(?:\.|$)/.exec(name);
    if (!m) continue;
    const [stage, block] = [Number(m[1]), Number(m[2] ?? 0)];
    if (stage < 1 || stage > blocks.length || block >= blocks[stage - 1]) {
      throw new Error(`${n('layers')}: ${arch} has no '${name}' (stages layer1..layer${blocks.length} of ${blocks.join(', ')} blocks, counted from 0; default ${defaults})`);
    }
  }
}

/** Attentive CutMix needs its attention model; the grid and k are checked whatever the method, as every flag is. */
function checkAttention(o: TrainOptions, n: OptionNamer, integer: (name: keyof TrainOptions, v: number, min: number, max?: number) => void): void {
  integer('attentionGrid', o.attentionGrid, 1, 64);
  integer('attentionTopK', o.attentionTopK, 1, o.attentionGrid * o.attentionGrid);
  if (o.method === 'attentive-cutmix' && !o.attentionModel) {
    throw new Error(`${n('method')} attentive-cutmix needs ${n('attentionModel')}: a torchvision ResNet saved as .safetensors (its last feature map chooses the pasted cells)`);
  }
}

/** Checks the data choice (a built-in protocol, or an image folder with its known classes); returns its number of splits. */
function checkDataChoice(o: TrainOptions, n: OptionNamer): number {
  if (o.protocol !== FOLDER_PROTOCOL) {
    const info = protocolInfo(o.protocol); // throws on an unknown protocol, listing the known ones
    if (o.known !== undefined || o.unknownDataDir !== undefined) {
      throw new Error(
        `${n('known')} and ${n('unknownDataDir')} choose the classes of your own image folder; ${o.protocol} has its own splits (drop ${n('protocol')} to use ${n('dataDir')} as an image folder)`,
      );
    }
    return info.knownSplits.length;
  }
  if (!o.dataDir) throw new Error(`an image-folder run needs ${n('dataDir')}: a folder with one sub-folder of images per class`);
  if (!o.known || o.known.length === 0) throw new Error(`an image-folder run needs ${n('known')}: the names of the known classes' sub-folders of ${o.dataDir}`);
  if (o.allClasses) throw new Error(`${n('allClasses')} is for the built-in protocols; for an image folder, name every class as known`);
  if (!(o.valFraction > 0 && o.valFraction < 1)) throw new Error(`${n('valFraction')} must be between 0 and 1 (exclusive), got ${o.valFraction}`);
  if (!Number.isInteger(o.imageSize) || o.imageSize < 8 || o.imageSize > 512) throw new Error(`${n('imageSize')} must be an integer in 8..512, got ${o.imageSize}`);
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) throw new Error(`${n('channels')} must be 1 or 3, got ${o.channels}`);
  return 1;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export { PROTOCOLS, ARCHS, type Arch };
