// `gradmix corrupt`: corruption robustness of a checkpoint (the paper's section 4.4, Fig. 5 and
// Table 5): kNN closed-set accuracy on the known test images of a protocol split, clean and under
// the 15 corruptions at each severity, generated on the GPU or read from CIFAR-10-C /
// Tiny-ImageNet-C files; writes robustness.json and a picture of one image under every corruption.
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { augmentPreset } from '../augment/index.js';
import { FOLDER_PROTOCOL, loadProtocol, protocolInfo, subsetDataset, type Dataset } from '../data/index.js';
import { CORRUPTIONS, PARAM_TABLES, SEVERITIES, tableForSize, type CorruptionName, type ParamTable } from '../corrupt/corruptions.js';
import { corruptDataset } from '../corrupt/corrupt.js';
import { limitIndices } from '../data/in-distribution.js';
import { checkCorruptedSources, corruptionsIn } from '../corrupt/corrupted-files.js';
import { corruptionSeed, evaluateRobustness, filesSource, generatedSource, robustnessTable } from '../corrupt/robustness.js';
import { writeCorruptionGrid } from '../corrupt/picture.js';
import { UsageError, listFlag, numberFlag, parseFlags, usage, type FlagSpecs } from './args.js';
import { DATA_FLAG, DEFAULT_FEATURE_BATCH, DEFAULT_K, FEATURE_BATCH_FLAG, K_FLAG, MAX_TEST_FLAG, checkpointFlag, outFlag, protocolFlag, splitFlag } from './common-flags.js';
import { existingFolder, int, intList, listOf, oneOf } from './flag-values.js';
import { buildModel, checkChannels, readModelFile } from './model-file.js';
import { dataChoice } from './run-config.js';
import { CORRUPT_PICTURE, CORRUPT_RESULTS } from '../train/epoch-loop.js';

export const CORRUPT_FLAGS: FlagSpecs = {
  checkpoint: checkpointFlag('a .safetensors state dict (ours, or a PyTorch SupContrast model)'),
  protocol: protocolFlag("protocol whose known classes are evaluated (default: the checkpoint's, else mnist-mini)"),
  split: splitFlag("split (default: the checkpoint's, else 0)"),
  data: { ...DATA_FLAG, help: "data folder of the on-disk protocols (default: the checkpoint's)" },
  corrupted: {
    type: 'string',
    value: existingFolder,
    help: 'CIFAR-10-C style folder (<corruption>.npy + labels.npy) or Tiny-ImageNet-C (<corruption>/<severity>/) (default: none, generate on the GPU)',
  },
  severities: { type: 'string', value: intList(1, 5), help: 'severities, comma-separated (default 1,2,3,4,5)' },
  corruptions: { type: 'string', value: listOf(CORRUPTIONS), help: `corruptions, comma-separated (default: all 15, or those in --corrupted): ${CORRUPTIONS.join(',')}` },
  'max-test': {
    ...MAX_TEST_FLAG,
    help: 'use at most this many known test images, a seeded random subset (the one ood --max-test takes); Tiny-ImageNet-C folders give the same number of each class (default 0: all)',
  },
  table: {
    type: 'string',
    value: oneOf(PARAM_TABLES),
    help: 'severity table for generated corruptions (with --corrupted: only for corruptions.png): cifar | tiny (default: tiny for images from 48 px, else cifar)',
  },
  seed: { type: 'string', value: int(0, 2 ** 32 - 1), help: 'seed of the generated corruptions (with --corrupted: only for corruptions.png) (default 0)' },
  k: K_FLAG,
  batch: { ...FEATURE_BATCH_FLAG, help: `images per batch of corruption and feature extraction (default ${DEFAULT_FEATURE_BATCH})` },
  picture: { type: 'string', value: int(0), help: 'index, among the known test images scored (with --max-test: the subset), of the one shown in corruptions.png (default 0)' },
  out: outFlag('output folder for robustness.json and corruptions.png (default: beside the checkpoint)'),
  quiet: { type: 'boolean', help: 'no per-set progress lines' },
  max: { type: 'string', help: '', renamedTo: 'max-test' },
};

/** How many of `labels` (0..classes-1) each class has. */
function classCounts(labels: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}

/**
 * The known test images corrupt scores: all, or with --max-test the seeded random subset that ood's
 * --max-test takes (limitImages), not the first ones (test sets may come class by class); `rows`
 * are their positions in `testKnown`.
 */
export function scoredImages(testKnown: Dataset, max: number | undefined): { clean: Dataset; rows?: number[] } {
  const rows = limitIndices(testKnown.n, max ?? 0);
  return rows ? { clean: subsetDataset(testKnown, rows), rows: Array.from(rows) } : { clean: testKnown };
}

/**
 * Image `index` of `ds`, clean and under every corruption at severities 1..5 (rows in CORRUPTIONS
 * order), generated on the GPU with the draws the generated evaluation gives that image.
 */
export async function pictureRows(ds: Dataset, index: number, table: ParamTable, seed: number): Promise<Float32Array[][]> {
  const one = subsetDataset(ds, [index]);
  const rows: Float32Array[][] = [];
  for (const name of CORRUPTIONS) {
    const row = [one.images];
    for (const severity of SEVERITIES) row.push((await corruptDataset(one, name, severity, { seed: corruptionSeed(seed, name, severity), table, first: index })).images);
    rows.push(row);
  }
  return rows;
}

async function picture(file: string, ds: Dataset, index: number, table: ParamTable, seed: number): Promise<string> {
  return writeCorruptionGrid(file, { rows: await pictureRows(ds, index, table, seed), channels: ds.channels, height: ds.height, width: ds.width });
}

export async function corruptCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, CORRUPT_FLAGS);
  if (v.help) {
    return console.log(
      usage(
        'corrupt',
        'Corruption robustness (paper section 4.4): kNN closed-set accuracy on the known test images, clean and under 15 corruptions x 5 severities (Hendrycks & Dietterich 2019), generated on the GPU or read from CIFAR-10-C / Tiny-ImageNet-C; prints the per-type (Table 5) and per-severity (Fig. 5) tables, writes robustness.json and corruptions.png (one image, rows in the order of the table, columns clean then severities 1-5).',
        CORRUPT_FLAGS,
      ),
    );
  }
  if (typeof v.checkpoint !== 'string') throw new UsageError('--checkpoint <file.safetensors> is required');
  const table = v.table as ParamTable | undefined;
  const severities = listFlag(v, 'severities')?.map(Number) ?? [...SEVERITIES];
  const max = numberFlag(v, 'max-test') || undefined; // 0: all
  const seed = numberFlag(v, 'seed') ?? 0;
  const k = numberFlag(v, 'k') ?? DEFAULT_K;
  const batchSize = numberFlag(v, 'batch') ?? DEFAULT_FEATURE_BATCH;

  const file = await readModelFile(v.checkpoint);
  const { protocol, split, dataDir } = dataChoice(v, file.run);
  if (protocol === FOLDER_PROTOCOL) {
    throw new UsageError(`${v.checkpoint} was trained on your own image folder; corrupt runs on a protocol's test set: pass --protocol (cifar10, svhn, ...) with its --data`);
  }
  const info = protocolInfo(protocol);
  checkChannels(file, protocol);
  const corrupted = v.corrupted as string | undefined;
  const corruptions = (listFlag(v, 'corruptions') as CorruptionName[] | undefined) ?? (corrupted ? corruptionsIn(corrupted) : [...CORRUPTIONS]);
  if (corruptions.length === 0) throw new Error(`${corrupted}: none of the 15 corruption files found`);
  if (corrupted) checkCorruptedSources(corrupted, corruptions, severities); // not hours later, when a missing set's turn comes
  const loaded = await buildModel(file);
  try {
    const data = await loadProtocol(protocol, split, { dataDir });
    const { clean, rows } = scoredImages(data.testKnown, max);
    const pictured = numberFlag(v, 'picture') ?? 0;
    if (pictured >= clean.n) throw new UsageError(`--picture ${pictured} is outside the ${clean.n} known test images scored`);
    const usedTable = table ?? tableForSize(clean.height, clean.width);
    const source = corrupted
      ? filesSource(corrupted, {
          classes: data.knownClasses,
          rows,
          perClass: rows ? classCounts(clean.labels, data.knownClasses.length) : undefined,
          expect: { channels: clean.channels, height: clean.height, width: clean.width },
        })
      : generatedSource(clean, { seed, table: usedTable, batchSize });
    const what = corrupted ? `files in ${corrupted}` : `generated on the GPU (${usedTable} table, seed ${seed})`;
    const scored = rows ? `a random ${clean.n} of the ${data.testKnown.n} known test images` : `${clean.n} known test images`;
    console.log(`${protocol} split ${split}: ${scored}, ${corruptions.length} corruption(s) x severities ${severities.join(',')}, ${what}`);

    const result = await evaluateRobustness(loaded.model, data.train, clean, source, augmentPreset(info.augmentation, info.imageSize), {
      k,
      batchSize,
      corruptions,
      severities,
      progress: v.quiet ? undefined : (name, severity, a, n) => console.log(`  ${name.padEnd(18)} severity ${severity}: ${(100 * a).toFixed(2)}% of ${n}`),
    });
    console.log(robustnessTable(result));

    const out = (v.out as string | undefined) ?? join(v.checkpoint, '..');
    mkdirSync(out, { recursive: true });
    const json = join(out, CORRUPT_RESULTS);
    const meta = { protocol, split, checkpoint: v.checkpoint, source: corrupted ? { files: corrupted } : { generated: { table: usedTable, seed } }, max: max ?? null };
    writeFileSync(json, JSON.stringify({ ...meta, ...result }, null, 2) + '\n');
    const png = await picture(join(out, CORRUPT_PICTURE), clean, pictured, usedTable, seed);
    console.log(`wrote ${json} and ${png}`);
  } finally {
    loaded.model.dispose(); // the command may run on a GPU that outlives it (tests, scripts calling main)
  }
}
