// `gradmix predict --checkpoint F <image files or folders>`: known class or unknown, for each
// image, from the open-set recogniser a training run stored in its checkpoint. One JSON line per
// image on stdout (a table when stdout is a terminal); images are decoded and scored in chunks,
// so a folder of any size streams.
import { imageFilesIn, loadOpenSetModel, predictFiles } from '../osr/open-set-file.js';
import type { OpenSetPrediction } from '../osr/open-set-model.js';
import { UsageError, numberFlag, parseCommandLine, usage, type FlagSpecs } from './args.js';
import { FEATURE_BATCH_FLAG } from './common-flags.js';
import { num, text } from './flag-values.js';

export const PREDICT_FLAGS: FlagSpecs = {
  // Checked when read (after the image arguments, so a wrong image path is named first).
  checkpoint: { type: 'string', value: text, help: "a checkpoint written by gradmix train, holding the known classes' gallery and the threshold (required)" },
  threshold: { type: 'string', value: num({}), help: 'known when the kNN score is at least this (default: the one calibrated at training, in the checkpoint)' },
  batch: { ...FEATURE_BATCH_FLAG, help: 'images per GPU batch (default 256)' },
  json: { type: 'boolean', help: 'JSON lines even on a terminal (the default when stdout is a file or a pipe)' },
};

const CHUNK = 1024;

function tableRow(p: OpenSetPrediction & { file: string }): string {
  return `${(p.known ? 'known' : 'UNKNOWN').padEnd(8)} ${p.className.padEnd(16)} ${p.score.toFixed(4).padStart(8)}  ${p.file}`;
}

export async function predictCommand(argv: string[]): Promise<void> {
  const { values: v, positionals } = parseCommandLine(argv, PREDICT_FLAGS);
  if (v.help) {
    return console.log(
      usage(
        'predict',
        'Says for each image whether it shows one of the known classes (and which) or something unknown, with the kNN score (paper Algorithm 1) and the threshold. Arguments: image files (PNG/JPEG) or folders.',
        PREDICT_FLAGS,
      ),
    );
  }
  if (typeof v.checkpoint !== 'string') throw new UsageError('--checkpoint <file.safetensors> is required');
  if (positionals.length === 0) throw new UsageError('give the images to classify: PNG/JPEG files or folders');
  const threshold = numberFlag(v, 'threshold');
  const batchSize = numberFlag(v, 'batch');
  const files = await imageFilesIn(positionals);
  const loaded = await loadOpenSetModel(v.checkpoint); // starts the GPU
  const recogniser = threshold === undefined ? loaded : loaded.withThreshold(threshold);
  const table = process.stdout.isTTY === true && v.json !== true;
  if (table) console.log(`${'verdict'.padEnd(8)} ${'nearest class'.padEnd(16)} ${'score'.padStart(8)}  file   (threshold ${recogniser.threshold.toFixed(4)})`);
  try {
    for (let start = 0; start < files.length; start += CHUNK) {
      for (const p of await predictFiles(recogniser, files.slice(start, start + CHUNK), batchSize)) {
        console.log(table ? tableRow(p) : JSON.stringify({ file: p.file, known: p.known, class: p.className, score: p.score, threshold: p.threshold }));
      }
    }
  } finally {
    loaded.dispose();
  }
}
