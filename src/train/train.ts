// `gradmix train`: data, model, Adam with a cosine schedule, autotuned kernels, and the shared epoch
// loop (epoch-loop.ts: checkpoints, exact resumption, JSONL log, run lock, Ctrl-C, NaN/Inf guard), with pictures
// of the augmentation and mixing after each epoch when asked.
import { initGpu } from '../../runtime/gpu.js';
import { FOLDER_PROTOCOL, loadFolderOpenSet, loadProtocol, type Dataset, type OpenSetData } from '../data/index.js';
import { loadAllClasses } from '../data/in-distribution.js';
import type { SupConResNet } from '../nn/index.js';
import { defaultOptions, resolveOptions, type TrainOptions } from './options.js';
import { autotuneTraining } from './autotune.js';
import { writePictures } from './pictures.js';
import { checkpointFingerprint, runCheckedStep, setUpRun } from './training-run.js';
import { keepingOnlyModel, runEpochLoop, type EpochLoopResult, type TrainHooks } from './epoch-loop.js';
import { withRunFolder } from './run-lock.js';
import { checkFreshStart, readRunConfig } from './run-config-file.js';
import { loadTorchvisionResNet } from '../checkpoint/torchvision-file.js';
import type { TorchvisionResNet } from '../nn/torchvision-resnet.js';
import { loadAttention, type AttentionModel } from '../gradmix/attention.js';

export { stepSeed } from './training-run.js';
export { CHECKPOINT_FILE, LOG_FILE, type EpochLog, type EpochLoopResult, type TrainHooks } from './epoch-loop.js';

export interface TrainResult extends EpochLoopResult {
  options: TrainOptions;
  model: SupConResNet;
  data: OpenSetData;
  /** The training images actually used (after maxTrain). */
  trainSet: Dataset;
}

type DataChoice = Pick<TrainOptions, 'protocol' | 'split' | 'dataDir' | 'allClasses'> &
  Partial<Pick<TrainOptions, 'known' | 'unknownDataDir' | 'valFraction' | 'imageSize' | 'channels' | 'antialias'>>;

/** The images a run trains on: a split's known classes, every class with allClasses, or an image folder's known classes. */
export async function loadTrainingData(o: DataChoice): Promise<OpenSetData> {
  if (o.protocol === FOLDER_PROTOCOL) {
    const { dataDir, known, unknownDataDir, valFraction, imageSize, channels, antialias } = o;
    const d = defaultOptions(FOLDER_PROTOCOL);
    return loadFolderOpenSet({ dataDir: dataDir!, known: known!, unknownDataDir, valFraction: valFraction ?? d.valFraction, imageSize: imageSize ?? d.imageSize, channels, antialias });
  }
  return o.allClasses ? loadAllClasses(o.protocol, o.split, { dataDir: o.dataDir }) : loadProtocol(o.protocol, o.split, { dataDir: o.dataDir });
}

/** Evaluation needs unknown images: say so before training rather than after it. */
function checkEvaluable(o: TrainOptions, data: OpenSetData): void {
  if (o.evaluate && !o.allClasses && data.testUnknown.n === 0) {
    throw new Error(
      `${o.dataDir ?? o.protocol}: no unknown images to evaluate open-set recognition on (every class is --known); leave a class out of --known, add --unknown-data <folder>, or pass --no-eval`,
    );
  }
}

export async function train(given: Partial<TrainOptions> = {}, hooks: TrainHooks = {}): Promise<TrainResult> {
  const o = resolveOptions(given);
  return withRunFolder(o.out, async () => {
    if (!o.resume) await checkFreshStart(o, 'train');
    return trainLocked(await withSavedResizeRule(o, given), hooks);
  });
}

/**
 * A resumed image-folder run keeps the resize rule it started with unless one is given: the default
 * (antialiased) came later than some runs, and those shrank plainly (runConfigOf reads a missing
 * rule as plain). Without this, resuming such a run through the library failed its data check.
 */
async function withSavedResizeRule(o: TrainOptions, given: Partial<TrainOptions>): Promise<TrainOptions> {
  if (!o.resume || given.antialias !== undefined || o.protocol !== FOLDER_PROTOCOL) return o;
  const saved = (await readRunConfig(o.out))?.config;
  return saved?.protocol === FOLDER_PROTOCOL && saved.antialias !== undefined ? { ...o, antialias: saved.antialias } : o;
}

/** Attentive CutMix's frozen attention network (none for the other methods); errors name the flag and the file. */
async function loadAttentionNet(o: TrainOptions): Promise<AttentionModel<TorchvisionResNet> | undefined> {
  if (o.method !== 'attentive-cutmix') return undefined;
  try {
    return await loadAttention(await loadTorchvisionResNet(o.attentionModel!));
  } catch (e) {
    throw new Error(`the attention model (--attention-model) ${o.attentionModel} cannot be used: ${(e as Error).message}`);
  }
}

async function trainLocked(o: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  await initGpu();
  const attention = await loadAttentionNet(o);
  try {
    return await trainWith(o, hooks, attention);
  } finally {
    attention?.net.dispose();
  }
}

async function trainWith(o: TrainOptions, hooks: TrainHooks, attention: AttentionModel | undefined): Promise<TrainResult> {
  const data = await loadTrainingData(o);
  checkEvaluable(o, data);
  const run = setUpRun(o, data, attention);
  const { trainSet, model, stepper } = run;
  return keepingOnlyModel(model, [run.optimizer], async () => {
    const result = await runEpochLoop(
      {
        ...run,
        // Kernel variants for this adapter and these shapes, fixed before the first step
        // (GRADMIX_AUTOTUNE=0: defaults); a resumed run has taken back the ones it ran with.
        beforeSteps: async () => void (await autotuneTraining(model, o, trainSet)),
        options: o,
        fingerprint: checkpointFingerprint(o),
        step: (step, images, labels, guard) => runCheckedStep(run, o, step, images, labels, guard),
        afterEpoch: async (epoch) => {
          if (o.pictures) await writePictures(model, o, stepper.augment, trainSet, epoch, undefined, stepper.attention);
        },
      },
      hooks,
    );
    return { options: o, model, data, trainSet, ...result };
  });
}
