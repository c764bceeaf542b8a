// The command line's names for training options: a message about `batchSize` from the library
// says `--batch` when the value came from the command line or a sweep plan (whose runs are written
// in the command line's terms). One table, option -> flag; an option not listed has a flag of its
// own name (--width, --lr, --k, ...).
import type { OptionNamer } from './options.js';

export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  dataDir: 'data',
  batchSize: 'batch',
  maxTrain: 'max-train',
  lrMin: 'lr-min',
  gammaMin: 'gamma-min',
  gammaMax: 'gamma-max',
  camNormalize: 'cam-normalize',
  mixAlpha: 'mix-alpha',
  attentionModel: 'attention-model',
  attentionGrid: 'attention-grid',
  attentionTopK: 'attention-top-k',
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

/** An option's value in a message: lists joined by commas, strings bare, absent as 'the default'. */
export const showOption = (v: unknown): string => (v === undefined ? 'the default' : Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : JSON.stringify(v));
