// `gradmix corrupt`: corruption robustness of a checkpoint (the paper's section 4.4, Fig. 5 and
// Table 5): kNN closed-set accuracy on the known test images of a protocol split, clean and under
// the 15 corruptions at each severity, generated on the GPU or read from CIFAR-10-C /
// Tiny-ImageNet-C files; writes robustness.json and a picture of one image under every corruption.
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { initGpu } from '../../runtime/gpu.js';
import { augmentPreset } from '../augment/index.js';
import { loadProtocol, protocolInfo, subsetDataset, type Dataset } from '../data/index.js';
import { CORRUPTIONS, PARAM_TABLES, SEVERITIES, checkCorruption, tableForSize, type CorruptionName, type ParamTable } from '../corrupt/corruptions.js';
import { corruptDataset } from '../corrupt/corrupt.js';
import { corruptionsIn } from '../corrupt/corrupted-files.js';
import { evaluateRobustness, filesSource, generatedSource, robustnessTable } from '../corrupt/robustness.js';
import { writeCorruptionGrid } from '../corrupt/picture.js';
import { UsageError, numberFlag, parseFlags, usage, type FlagSpecs } from './args.js';
import { loadModelFile } from './model-file.js';

const FLAGS: FlagSpecs = {
  checkpoint: { type: 'string', help: 'a .safetensors state dict (ours, or a PyTorch SupContrast model)' },
  protocol: { type: 'string', help: 'protocol whose known classes are evaluated (default: the checkpoint\'s, else mnist-mini)' },
  split: { type: 'string', help: 'split (default: the checkpoint\'s, else 0)' },
  data: { type: 'string', help: 'data folder for the on-disk protocols' },
  corrupted: { type: 'string', help: 'CIFAR-10-C style folder (<corruption>.npy + labels.npy) or Tiny-ImageNet-C (<corruption>/<severity>/); default: generate on the GPU' },
  severities: { type: 'string', help: 'severities, comma-separated (default 1,2,3,4,5)' },
  corruptions: { type: 'string', help: `corruptions, comma-separated (default: all 15, or those in --corrupted): ${CORRUPTIONS.join(',')}` },
  max: { type: 'string', help: 'use at most this many known test images per set' },
  table: { type: 'string', help: 'severity table for generated corruptions: cifar | tiny (default: tiny for images from 48 px, else cifar)' },
  seed: { type: 'string', help: 'seed of the generated corruptions (default 0)' },
  k: { type: 'string', help: 'kNN neighbours (default 3)' },
  batch: { type: 'string', help: 'batch size for corruption and feature extraction (default 256)' },
  picture: { type: 'string', help: 'index of the known test image shown in corruptions.png (default 0)' },
  out: { type: 'string', help: 'folder for robustness.json and corruptions.png (default: beside the checkpoint)' },
  quiet: { type: 'boolean', help: 'no per-set progress lines' },
};

function listFlag<T>(v: unknown, name: string, parse: (s: string) => T): T[] | undefined {
  if (typeof v !== 'string') return undefined;
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${name} is empty`);
  return items.map(parse);
}

function severityOf(s: string): number {
  const n = Number(s);
  if (!(Number.isInteger(n) && n >= 1 && n <= 5)) throw new UsageError(`--severities: '${s}' is not a severity 1..5`);
  return n;
}

function corruptionOf(s: string): CorruptionName {
  try {
    return checkCorruption(s);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** One image, clean and under every corruption at severities 1..5 (generated on the GPU). */
async function picture(file: string, ds: Dataset, index: number, table: ParamTable, seed: number): Promise<string> {
  if (!(Number.isInteger(index) && index >= 0 && index < ds.n)) throw new UsageError(`--picture ${index} is outside the ${ds.n} known test images`);
  const one = subsetDataset(ds, [index]);
  const rows: Float32Array[][] = [];
  for (const name of CORRUPTIONS) {
    const row = [one.images];
    for (const severity of SEVERITIES) row.push((await corruptDataset(one, name, severity, { seed, table })).images);
    rows.push(row);
  }
  return writeCorruptionGrid(file, { rows, channels: ds.channels, height: ds.height, width: ds.width });
}

export async function corruptCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, FLAGS);
  if (v.help) {
    return console.log(usage('corrupt', 'Corruption robustness (paper section 4.4): kNN closed-set accuracy on the known test images, clean and under 15 corruptions x 5 severities (Hendrycks & Dietterich 2019), generated on the GPU or read from CIFAR-10-C / Tiny-ImageNet-C; prints the per-type (Table 5) and per-severity (Fig. 5) tables, writes robustness.json and corruptions.png (one image, rows in the order of the table, columns clean then severities 1-5).', FLAGS));
  }
  if (typeof v.checkpoint !== 'string') throw new UsageError('--checkpoint <file.safetensors> is required');
  const table = v.table as ParamTable | undefined;
  if (table !== undefined && !PARAM_TABLES.includes(table)) throw new UsageError(`--table must be cifar or tiny, got '${table}'`);
  const severities = listFlag(v.severities, 'severities', severityOf) ?? [...SEVERITIES];
  const max = numberFlag(v, 'max');
  if (max !== undefined && !(Number.isInteger(max) && max >= 1)) throw new UsageError(`--max must be a positive integer, got ${max}`);
  const seed = numberFlag(v, 'seed') ?? 0;
  const k = numberFlag(v, 'k') ?? 3;
  const batchSize = numberFlag(v, 'batch') ?? 256;

  await initGpu();
  const loaded = await loadModelFile(v.checkpoint);
  const cfg = loaded.config ?? {};
  const protocol = (v.protocol as string | undefined) ?? (cfg.protocol as string | undefined) ?? 'mnist-mini';
  const split = numberFlag(v, 'split') ?? (cfg.split as number | undefined) ?? 0;
  const info = protocolInfo(protocol);
  if (info.channels !== loaded.inChannels) throw new Error(`${protocol} images have ${info.channels} channel(s), the model takes ${loaded.inChannels}`);
  const data = await loadProtocol(protocol, split, { dataDir: (v.data as string | undefined) ?? (cfg.dataDir as string | undefined) });
  const clean = max !== undefined && max < data.testKnown.n ? subsetDataset(data.testKnown, Array.from({ length: max }, (_, i) => i)) : data.testKnown;
  const corrupted = v.corrupted as string | undefined;
  const corruptions = listFlag(v.corruptions, 'corruptions', corruptionOf) ?? (corrupted ? corruptionsIn(corrupted) : [...CORRUPTIONS]);
  if (corruptions.length === 0) throw new Error(`${corrupted}: none of the 15 corruption files found`);
  const usedTable = table ?? tableForSize(clean.height, clean.width);
  const source = corrupted
    ? filesSource(corrupted, { classes: data.knownClasses, max, expect: { channels: clean.channels, height: clean.height, width: clean.width } })
    : generatedSource(clean, { seed, table: usedTable, batchSize });
  const what = corrupted ? `files in ${corrupted}` : `generated on the GPU (${usedTable} table, seed ${seed})`;
  console.log(`${protocol} split ${split}: ${clean.n} known test images, ${corruptions.length} corruption(s) x severities ${severities.join(',')}, ${what}`);

  const result = await evaluateRobustness(loaded.model, data.train, clean, source, augmentPreset(info.augmentation, info.imageSize), {
    k, batchSize, corruptions, severities,
    progress: v.quiet ? undefined : (name, severity, a, n) => console.log(`  ${name.padEnd(18)} severity ${severity}: ${(100 * a).toFixed(2)}% of ${n}`),
  });
  console.log(robustnessTable(result));

  const out = (v.out as string | undefined) ?? join(v.checkpoint, '..');
  mkdirSync(out, { recursive: true });
  const json = join(out, 'robustness.json');
  const meta = { protocol, split, checkpoint: v.checkpoint, source: corrupted ? { files: corrupted } : { generated: { table: usedTable, seed } }, max: max ?? null };
  writeFileSync(json, JSON.stringify({ ...meta, ...result }, null, 2) + '\n');
  const png = await picture(join(out, 'corruptions.png'), clean, numberFlag(v, 'picture') ?? 0, usedTable, seed);
  console.log(`wrote ${json} and ${png}`);
}
