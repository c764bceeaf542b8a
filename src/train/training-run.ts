// What a training run is made of, shared by the Node loop (train.ts) and a page's step-at-a-time
// TrainingSession (src/browser/session.ts), so both train exactly alike (browser-safe): the
// training subset, the steps of an epoch, the model, Adam and TrainStep, each step's seed and
// learning rate, and the settings a checkpoint must share with the run that resumes it.
import { Rng } from '../random.js';
import { SupConResNet } from '../nn/index.js';
import { Adam, cosineLr } from '../optim/index.js';
import { batchesPerEpoch, epochOrder } from '../data/batches.js';
import { subsetDataset, type Dataset } from '../data/dataset.js';
import { FOLDER_PROTOCOL, inputInfo, type OpenSetData } from '../data/open-set.js';
import { usesClassifier } from './objectives.js';
import type { TrainOptions } from './options.js';
import { flagOf, showOption } from './option-flags.js';
import { dataLabel } from './run-config.js';
import { TrainStep, type StepResult } from './step.js';
import type { AttentionModel } from '../gradmix/index.js';
import type { FiniteGuard } from './finite-guard.js';
import type { InputDigest } from './epoch-loop.js';
import { stateDigest, type StateDict } from '../checkpoint/checkpoint.js';

/** A seed for each (seed, step) pair, so a resumed or re-run step draws exactly what the original drew. */
export function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(step + 1, 0x85ebca6b)) >>> 0;
}

/** The first maxTrain images of a seeded permutation, in data set order (all when maxTrain is 0). */
export function limitTrainSet(ds: Dataset, maxTrain: number, seed: number): Dataset {
  if (maxTrain === 0 || maxTrain >= ds.n) return ds;
  return subsetDataset(ds, epochOrder(ds.n, seed, -1).slice(0, maxTrain).sort());
}

/**
 * Each setting a resume checks (the fingerprint's) in which `now` differs from the run `saved`, by
 * flag: "--width 4 (the run's width: 2)"; empty when the two are the same run.
 */
export function fingerprintDiff<O>(saved: O, now: O, fingerprint: (o: O) => string = checkpointFingerprint as unknown as (o: O) => string): string[] {
  const before = JSON.parse(fingerprint(saved)) as Record<string, unknown>;
  const after = JSON.parse(fingerprint(now)) as Record<string, unknown>;
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `--${flagOf(k)} ${showOption(after[k])} (the run's ${k}: ${showOption(before[k])})`);
}

/** The settings a checkpoint must share with the run that resumes it. */
export function checkpointFingerprint(o: TrainOptions): string {
  const { protocol, split, width, epochs, batchSize, seed, method, lr, lrMin, tau, theta, lambda, gammaMin, gammaMax, fill, layers, camNormalize, mixAlpha, maxTrain, arch } = o;
  // arch only when not resnet18, so checkpoints written before --arch existed still resume.
  const archField = arch === 'resnet18' ? {} : { arch };
  // objective likewise only when not the default supcon+ssl.
  const objectiveField = o.objective === 'supcon+ssl' ? {} : { objective: o.objective };
  // allClasses (gradmix ood) likewise only when set.
  return JSON.stringify({
    protocol,
    split,
    width,
    epochs,
    batchSize,
    seed,
    method,
    lr,
    lrMin,
    tau,
    theta,
    lambda,
    gammaMin,
    gammaMax,
    fill,
    layers,
    camNormalize,
    mixAlpha,
    maxTrain,
    ...archField,
    ...objectiveField,
    ...(o.allClasses ? { allClasses: true } : {}),
    ...folderFields(o),
    ...attentionFields(o),
  });
}

/**
 * An image-folder run's data choice (only for such runs, so older fingerprints are unchanged). Not
 * its folders' paths: they may move or be spelled otherwise between sessions (--data photos, then
 * /home/u/photos), and the checkpoint's data digest checks the training images themselves.
 */
function folderFields(o: TrainOptions): Partial<TrainOptions> {
  if (o.protocol !== FOLDER_PROTOCOL) return {};
  const { known, valFraction, imageSize, channels } = o;
  return { known, valFraction, imageSize, channels };
}

/** Fields that older fingerprints hold and today's do not: the image folders' paths. */
const RETIRED_FIELDS = ['dataDir', 'unknownDataDir'] as const;

/**
 * Whether a checkpoint's saved fingerprint is the run's `now`: equal, or equal once the fields
 * older versions also kept (RETIRED_FIELDS) are dropped from it, so their checkpoints still resume.
 */
export function fingerprintMatches(saved: string, now: string): boolean {
  if (saved === now) return true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(saved);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null || !RETIRED_FIELDS.some((f) => f in parsed)) return false;
  const rest: Record<string, unknown> = { ...(parsed as Record<string, unknown>) };
  for (const f of RETIRED_FIELDS) delete rest[f];
  return JSON.stringify(rest) === now;
}

/** Attentive CutMix's grid and k (only for its runs; the model's path may move between sessions, so it is not part). */
function attentionFields(o: TrainOptions): Partial<TrainOptions> {
  return o.method === 'attentive-cutmix' ? { attentionGrid: o.attentionGrid, attentionTopK: o.attentionTopK } : {};
}

/** The training images in use and the steps they make. */
export interface EpochPlan {
  /** The training images in use (after maxTrain). */
  trainSet: Dataset;
  /** A last batch of one image has no negatives (and no mixing partner), so it is dropped. */
  dropLast: boolean;
  stepsPerEpoch: number;
  totalSteps: number;
}

/** The subset of `train` a run uses and its schedule; `what` names the run in the error on fewer than 2 images. */
export function planEpochs(train: Dataset, o: Pick<TrainOptions, 'maxTrain' | 'seed' | 'batchSize' | 'epochs'>, what: string): EpochPlan {
  const trainSet = limitTrainSet(train, o.maxTrain, o.seed);
  if (trainSet.n < 2) throw new Error(`${what}: ${trainSet.n} training image(s); contrastive training needs at least 2`);
  const dropLast = trainSet.n % o.batchSize === 1;
  const stepsPerEpoch = batchesPerEpoch(trainSet.n, o.batchSize, dropLast);
  return { trainSet, dropLast, stepsPerEpoch, totalSteps: stepsPerEpoch * o.epochs };
}

export interface TrainingRun extends EpochPlan {
  /** In train mode, with a classifier head when the objective has one. */
  model: SupConResNet;
  optimizer: Adam;
  stepper: TrainStep;
  /** Attentive CutMix's attention network as a resume must find it (EpochLoop.inputDigests); none for the other methods. */
  inputDigests?: () => Promise<Record<string, InputDigest>>;
}

/** A fresh run of options `o` (resolved) on `data`: subset, schedule, model, optimiser and step (with Attentive CutMix's network). */
export function setUpRun(o: TrainOptions, data: OpenSetData, attention?: AttentionModel): TrainingRun {
  if (o.method === 'attentive-cutmix' && !attention) throw new Error(`method attentive-cutmix needs its attention network, loaded from ${o.attentionModel ?? 'the attentionModel option'}`);
  const info = inputInfo(o.protocol, data.train);
  const plan = planEpochs(data.train, o, dataLabel(o));
  const numClasses = usesClassifier(o.objective) ? data.knownClasses.length : undefined;
  const model = new SupConResNet(new Rng(o.seed), { arch: o.arch, width: o.width, inChannels: info.channels, numClasses });
  model.train();
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const stepper = new TrainStep(model, o, info.augmentation, plan.trainSet, attention);
  return { ...plan, model, optimizer, stepper, inputDigests: attentionDigest(o, attention) };
}

/**
 * The attention network's digest, read back once: the fingerprint holds its grid and k but not the
 * file (its path may move between sessions), so a resume with another network would pass unnoticed.
 */
function attentionDigest(o: TrainOptions, attention?: AttentionModel): TrainingRun['inputDigests'] {
  const net = attention?.net as Partial<{ stateDict(): StateDict }> | undefined;
  if (!net?.stateDict) return undefined; // a page's own network without a state dict: nothing to compare
  const state = net.stateDict.bind(net);
  let digests: Promise<Record<string, InputDigest>> | undefined;
  return () =>
    (digests ??= stateDigest(state()).then((digest) => ({
      attentionModel: { what: 'attention network', flag: '--attention-model', source: o.attentionModel ?? 'the attentionModel option', digest },
    })));
}

/** Step `step` on its batch: the cosine learning rate, then forward, backward and Adam with the step's seed; returns the loss. */
export function runStep(run: TrainingRun, o: TrainOptions, step: number, images: Float32Array, labels: Int32Array): Promise<number> {
  run.optimizer.lr = cosineLr(step, run.totalSteps, o.lr, o.lrMin);
  return run.stepper.run(images, labels, run.optimizer, new Rng(stepSeed(o.seed, step)));
}

/** runStep, also returning the loss's terms and the guard's finiteness check, read back with the loss. */
export function runCheckedStep(run: TrainingRun, o: TrainOptions, step: number, images: Float32Array, labels: Int32Array, guard: FiniteGuard): Promise<StepResult> {
  run.optimizer.lr = cosineLr(step, run.totalSteps, o.lr, o.lrMin);
  return run.stepper.runChecked(images, labels, run.optimizer, new Rng(stepSeed(o.seed, step)), guard);
}
