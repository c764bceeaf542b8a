// The library's option checks with the command line's names (src/train/option-flags.ts): a message
// about `batchSize` says `--batch`, as a usage error.
import { resolveOptions, type TrainOptions } from '../train/options.js';
import { asFlag } from '../train/option-flags.js';
import { resolvePretrainOptions, type PretrainOptions } from '../ssl/options.js';
import { UsageError } from './args.js';

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
