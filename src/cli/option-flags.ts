// The command line's names for training options: a message about `batchSize` from the library
// says `--batch` when the value came from the command line. One table, option -> flag; an option
// not listed has a flag of its own name (--width, --lr, --k, ...).
import { resolveOptions, type OptionNamer, type TrainOptions } from '../train/options.js';
import { resolvePretrainOptions, type PretrainOptions } from '../ssl/options.js';
import { UsageError } from './args.js';

export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  dataDir: 'data',
  batchSize: 'batch',
  maxTrain: 'max-train',
  lrMin: 'lr-min',
  gammaMin: 'gamma-min',
  gammaMax: 'gamma-max',
  camNormalize: 'cam-normalize',
  mixAlpha: 'mix-alpha',
  allClasses: 'all-classes',
  evaluate: 'no-eval',
  progress: 'quiet',
  unknownDataDir: 'unknown-data',
  valFraction: 'val-fraction',
  imageSize: 'size',
  queueSize: 'queue',
  probeEpochs: 'probe-epochs',
};

/** The flag (without dashes) that sets `option`. */
export const flagOf = (option: string): string => OPTION_FLAGS[option] ?? option;

export const asFlag: OptionNamer = (option) => `--${flagOf(option)}`;

/** The library's check of the options, with flag names in the message and as a usage error. */
function inFlagNames<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Resolves and checks training options from the command line (before the GPU starts or data loads). */
export function checkTrainOptions(given: Partial<TrainOptions>): TrainOptions {
  return inFlagNames(() => resolveOptions(given, asFlag));
}

export function checkPretrainOptions(given: Partial<PretrainOptions>): PretrainOptions {
  return inFlagNames(() => resolvePretrainOptions(given, asFlag));
}
