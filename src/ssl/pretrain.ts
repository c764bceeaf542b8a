// The self-supervised pre-training loop (paper section 4.5): unlabelled images of every class (or
// of a split's known classes), Adam with the cosine schedule of the open-set training, one
// checkpoint per epoch (atomic; resumable exactly: batch order and every random draw depend only
// on seed, epoch and step), a JSONL log, Ctrl-C that saves and exits, a clear stop on NaN/Inf in
// the loss or in any saved tensor (SslStep.runChecked: the model's, MoCo's key encoder and queue),
// checked after every step, so no checkpoint holds one, and a linear probe at the end. The
// checkpoint is a SupConResNet state dict like `gradmix train`'s; MoCo's key encoder, queue and
// queue pointer go inside it as `__moco__.*` tensors (PyTorch users drop `__*` names), so one
// rename commits the model and MoCo's state of the same step.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initGpu } from '../../runtime/gpu.js';
import { protocolInfo, type Dataset, type OpenSetData } from '../data/index.js';
import { SupConResNet, syncBatchCounts, type SupConResNetOptions } from '../nn/index.js';
import { Adam, cosineLr } from '../optim/index.js';
import { applyCheckpoint, int64Tensor, metadataJson, loadStateDictInto, readCheckpoint, toHost, toInt32, type DecodedCheckpoint, type HostTensor } from '../checkpoint/index.js';
import { Rng } from '../random.js';
import { loadTrainingData } from '../train/train.js';
import { keepingOnlyModel, runEpochLoop, type EpochLoopResult, type TrainHooks } from '../train/epoch-loop.js';
import { planEpochs, stepSeed } from '../train/training-run.js';
import { withRunFolder } from '../train/run-lock.js';
import { checkFreshStart } from '../train/run-config-file.js';
import { resolvePretrainOptions, type PretrainOptions } from './options.js';
import { SslStep } from './step.js';
import type { MomentumEncoder } from './moco.js';

/** Where runs before MoCo's state moved into the checkpoint kept it (still read to resume them). */
export const MOCO_STATE_FILE = 'moco.safetensors';
/** The checkpoint's names of MoCo's state: `__moco__.key.*` (the key encoder), `__moco__.queue` and `__moco__.queue_ptr`. */
export const MOCO_PREFIX = '__moco__.';
const QUEUE_PTR = `${MOCO_PREFIX}queue_ptr`;

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

/** MoCo's key encoder, queue and queue pointer as checkpoint extras (read back; NaN/Inf refused). */
async function mocoExtras(moco: MomentumEncoder): Promise<Map<string, HostTensor>> {
  const extras = new Map<string, HostTensor>();
  for (const [name, t] of moco.stateTensors()) extras.set(MOCO_PREFIX + name, await toHost(MOCO_PREFIX + name, t));
  // int64, as MoCo's own `queue_ptr` buffer.
  extras.set(QUEUE_PTR, int64Tensor([1], [moco.queue.ptr]));
  return extras;
}

/** The queue pointer `ptr` read from `where`: an integer row of the queue, else the file is damaged. */
function queuePointer(ptr: number, moco: MomentumEncoder, where: string): number {
  if (!(Number.isInteger(ptr) && ptr >= 0 && ptr < moco.queue.capacity)) {
    throw new Error(`${where}: MoCo's queue pointer is ${ptr}, not a row of the queue of ${moco.queue.capacity}; the file is damaged`);
  }
  return ptr;
}

/** Restores MoCo's state from the resumed checkpoint, or from moco.safetensors beside a checkpoint of an older run. */
async function loadMocoState(decoded: DecodedCheckpoint, moco: MomentumEncoder, legacyFile: string, position: string): Promise<void> {
  const own = [...decoded.extras].filter(([name]) => name.startsWith(MOCO_PREFIX));
  if (own.length === 0) return loadLegacyMocoState(legacyFile, moco, position);
  const where = `${decoded.source} (MoCo's state, ${MOCO_PREFIX}*)`;
  const ptrTensor = decoded.extras.get(QUEUE_PTR);
  if (!ptrTensor || ptrTensor.shape.join() !== '1') throw new Error(`${where}: '${QUEUE_PTR}' is ${ptrTensor ? `of shape [${ptrTensor.shape.join(', ')}], not [1]` : 'missing'}; the file is damaged`);
  const ptr = queuePointer(toInt32(ptrTensor, `${decoded.source}: tensor '${QUEUE_PTR}'`)[0], moco, where);
  const tensors = new Map(own.filter(([name]) => name !== QUEUE_PTR).map(([name, t]) => [name.slice(MOCO_PREFIX.length), t]));
  loadStateDictInto(moco.stateTensors(), tensors, where);
  moco.queue.ptr = ptr;
  await syncBatchCounts(moco.key);
}

/** Older runs' moco.safetensors, tagged with the position of the checkpoint it was written with. */
async function loadLegacyMocoState(file: string, moco: MomentumEncoder, position: string): Promise<void> {
  if (!existsSync(file)) throw new Error(`${file} is missing and the checkpoint holds no ${MOCO_PREFIX}* state; a MoCo run cannot resume without its key encoder and queue`);
  const decoded = await readCheckpoint(file);
  if (decoded.metadata.position !== position) throw new Error(`${file} belongs to another point of the run (${decoded.metadata.position}) than the checkpoint (${position}); cannot resume`);
  // Number(undefined) is NaN: a missing pointer must not pass as a position.
  const ptr = queuePointer(decoded.metadata.ptr === undefined ? NaN : Number(decoded.metadata.ptr), moco, file);
  applyCheckpoint(decoded, { model: moco.stateTensors() });
  moco.queue.ptr = ptr;
  await syncBatchCounts(moco.key);
}

/** The position `epoch.batch` of a training checkpoint, as older runs tagged moco.safetensors. */
function mocoPosition(decoded: DecodedCheckpoint): string {
  const meta = metadataJson<{ epoch: number; batch: number }>(decoded, 'training');
  return `${meta?.epoch}.${meta?.batch}`;
}

export async function pretrain(given: Partial<PretrainOptions> = {}, hooks: TrainHooks = {}): Promise<PretrainResult> {
  const o = resolvePretrainOptions(given);
  return withRunFolder(o.out, async () => {
    if (!o.resume) await checkFreshStart(o, 'pretrain', fingerprint);
    return pretrainLocked(o, hooks);
  });
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
  // Filled as they are made, inside the run: a failure setting up MoCo's key encoder or queue
  // frees the model and the optimiser too.
  const scratch: { dispose(): void }[] = [];
  return keepingOnlyModel(model, scratch, async () => {
    model.train();
    const optimizer = new Adam(model.parameters(), { lr: o.lr });
    scratch.push(optimizer);
    const stepper = new SslStep(model, o, info.augmentation, trainSet, modelOptions, rng);
    scratch.push(stepper);
    const mocoFile = join(o.out, MOCO_STATE_FILE);
    const moco = stepper.moco;
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
        resumeExtra: moco ? (decoded) => loadMocoState(decoded, moco, mocoFile, mocoPosition(decoded)) : undefined,
        saveExtra: moco ? () => mocoExtras(moco) : undefined,
      },
      hooks,
    );
    return { options: o, model, data, trainSet, ...result };
  });
}
