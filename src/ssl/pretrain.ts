// The self-supervised pre-training loop (paper section 4.5): unlabelled images of every class (or
// of a split's known classes), Adam with the cosine schedule of the open-set training, one
// checkpoint per epoch (atomic; resumable exactly: batch order and every random draw depend only
// on seed, epoch and step), a JSONL log, Ctrl-C that saves and exits, a clear stop on NaN/Inf in
// the loss or in any saved tensor (SslStep.runChecked: the model's, MoCo's key encoder and queue),
// checked after every step, so no checkpoint holds one, and a linear probe at the end. The
// checkpoint is a SupConResNet state dict like `gradmix train`'s; MoCo's key encoder and queue go
// beside it in moco.safetensors.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initGpu } from '../../runtime/gpu.js';
import { protocolInfo, type Dataset, type OpenSetData } from '../data/index.js';
import { SupConResNet, syncBatchCounts, type SupConResNetOptions } from '../nn/index.js';
import { Adam, cosineLr } from '../optim/index.js';
import { applyCheckpoint, readCheckpoint, saveCheckpoint } from '../checkpoint/index.js';
import { Rng } from '../random.js';
import { loadTrainingData } from '../train/train.js';
import { keepingOnlyModel, runEpochLoop, type EpochLoopResult, type TrainHooks } from '../train/epoch-loop.js';
import { planEpochs, stepSeed } from '../train/training-run.js';
import { withRunFolder } from '../train/run-lock.js';
import { resolvePretrainOptions, type PretrainOptions } from './options.js';
import { SslStep } from './step.js';
import type { MomentumEncoder } from './moco.js';

export const MOCO_STATE_FILE = 'moco.safetensors';

export interface PretrainResult extends EpochLoopResult {
  options: PretrainOptions;
  model: SupConResNet;
  data: OpenSetData;
  /** The training images actually used (after maxTrain). */
  trainSet: Dataset;
}

/** The images a run pre-trains on, and the labelled train/test sets its linear probe uses. */
export const pretrainData = loadTrainingData;

/** The settings a checkpoint must share with the run that resumes it. */
function fingerprint(o: PretrainOptions): string {
  const { protocol, split, allClasses, arch, width, epochs, batchSize, seed, ssl, method, lr, lrMin, tau, momentum, queueSize, gammaMin, gammaMax, fill, layers, camNormalize, mixAlpha, maxTrain } = o;
  return JSON.stringify({
    protocol,
    split,
    allClasses,
    arch,
    width,
    epochs,
    batchSize,
    seed,
    ssl,
    method,
    lr,
    lrMin,
    tau,
    momentum,
    queueSize,
    gammaMin,
    gammaMax,
    fill,
    layers,
    camNormalize,
    mixAlpha,
    maxTrain,
  });
}

/** MoCo's key encoder and queue, with the position they belong to. */
async function saveMocoState(file: string, moco: MomentumEncoder, position: string): Promise<void> {
  await saveCheckpoint(file, { model: moco.stateTensors(), metadata: { ptr: String(moco.queue.ptr), position } });
}

async function loadMocoState(file: string, moco: MomentumEncoder, position: string): Promise<void> {
  if (!existsSync(file)) throw new Error(`${file} is missing; a MoCo run cannot resume without its key encoder and queue`);
  const decoded = await readCheckpoint(file);
  if (decoded.metadata.position !== position) throw new Error(`${file} belongs to another point of the run (${decoded.metadata.position}) than the checkpoint (${position}); cannot resume`);
  applyCheckpoint(decoded, { model: moco.stateTensors() });
  moco.queue.ptr = Number(decoded.metadata.ptr);
  await syncBatchCounts(moco.key);
}

export async function pretrain(given: Partial<PretrainOptions> = {}, hooks: TrainHooks = {}): Promise<PretrainResult> {
  const o = resolvePretrainOptions(given);
  return withRunFolder(o.out, () => pretrainLocked(o, hooks));
}

async function pretrainLocked(o: PretrainOptions, hooks: TrainHooks): Promise<PretrainResult> {
  await initGpu();
  const info = protocolInfo(o.protocol);
  const data = await pretrainData(o);
  const plan = planEpochs(data.train, o, o.protocol);
  const { trainSet, totalSteps } = plan;

  const modelOptions: SupConResNetOptions = { arch: o.arch, width: o.width, inChannels: info.channels };
  const rng = new Rng(o.seed);
  const model = new SupConResNet(rng, modelOptions);
  model.train();
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const stepper = new SslStep(model, o, info.augmentation, trainSet, modelOptions, rng);
  const mocoFile = join(o.out, MOCO_STATE_FILE);
  const moco = stepper.moco;
  return keepingOnlyModel(model, [stepper, optimizer], async () => {
    const result = await runEpochLoop(
      {
        options: o,
        fingerprint: fingerprint(o),
        ...plan,
        model,
        optimizer,
        step: (step, images, _labels, guard) => {
          optimizer.lr = cosineLr(step, totalSteps, o.lr, o.lrMin);
          return stepper.runChecked(images, optimizer, new Rng(stepSeed(o.seed, step)), guard);
        },
        resumeExtra: moco ? (epoch, batch) => loadMocoState(mocoFile, moco, `${epoch}.${batch}`) : undefined,
        // MoCo's state first: the checkpoint, written last, is what a resume trusts.
        saveExtra: moco ? (epoch, batch) => saveMocoState(mocoFile, moco, `${epoch}.${batch}`) : undefined,
      },
      hooks,
    );
    return { options: o, model, data, trainSet, ...result };
  });
}
