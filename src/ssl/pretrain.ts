// The self-supervised pre-training loop (paper section 4.5): unlabelled images of every class (or
// of a split's known classes), Adam with the cosine schedule of the open-set training, one
// checkpoint per epoch (atomic; resumable exactly: batch order and every random draw depend only
// on seed, epoch and step), a JSONL log, Ctrl-C that saves and exits, a clear stop on NaN, and a
// linear probe at the end. The checkpoint is a SupConResNet state dict like `gradmix train`'s;
// MoCo's key encoder and queue go beside it in moco.safetensors.
import { existsSync, mkdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initGpu, gpu } from '../../runtime/gpu.js';
import { batches, batchesPerEpoch, loadProtocol, protocolInfo, type Dataset, type OpenSetData } from '../data/index.js';
import { loadAllClasses } from '../data/in-distribution.js';
import { SupConResNet, syncBatchCounts, type SupConResNetOptions } from '../nn/index.js';
import { Adam, cosineLr } from '../optim/index.js';
import { applyCheckpoint, readCheckpoint, saveCheckpoint } from '../checkpoint/index.js';
import { Rng } from '../random.js';
import { CHECKPOINT_FILE, LOG_FILE, type EpochLog, type TrainHooks } from '../train/train.js';
import { limitTrainSet, stepSeed } from '../train/training-run.js';
import { Progress } from '../train/progress.js';
import { resolvePretrainOptions, type PretrainOptions } from './options.js';
import { SslStep } from './step.js';
import type { MomentumEncoder } from './moco.js';

export const MOCO_STATE_FILE = 'moco.safetensors';

export interface PretrainResult {
  options: PretrainOptions;
  model: SupConResNet;
  data: OpenSetData;
  /** The training images actually used (after maxTrain). */
  trainSet: Dataset;
  checkpoint: string;
  epochs: EpochLog[];
  interrupted: boolean;
}

/** The images a run pre-trains on, and the labelled train/test sets its linear probe uses. */
export async function pretrainData(o: Pick<PretrainOptions, 'protocol' | 'split' | 'dataDir' | 'allClasses'>): Promise<OpenSetData> {
  return o.allClasses ? loadAllClasses(o.protocol, o.split, { dataDir: o.dataDir }) : loadProtocol(o.protocol, o.split, { dataDir: o.dataDir });
}

/** The settings a checkpoint must share with the run that resumes it. */
function fingerprint(o: PretrainOptions): string {
  const { protocol, split, allClasses, arch, width, epochs, batchSize, seed, ssl, method, lr, lrMin, tau, momentum, queueSize, gammaMin, gammaMax, fill, layers, camNormalize, mixAlpha, maxTrain } = o;
  return JSON.stringify({ protocol, split, allClasses, arch, width, epochs, batchSize, seed, ssl, method, lr, lrMin, tau, momentum, queueSize, gammaMin, gammaMax, fill, layers, camNormalize, mixAlpha, maxTrain });
}

/** MoCo's key encoder (`key.*`) and queue, with the position they belong to. */
async function saveMocoState(file: string, moco: MomentumEncoder, position: string): Promise<void> {
  const model = new Map([...[...moco.key.stateDict()].map(([n, t]) => [`key.${n}`, t] as const), ['queue', moco.queue.keys] as const]);
  await saveCheckpoint(file, { model, metadata: { ptr: String(moco.queue.ptr), position } });
}

async function loadMocoState(file: string, moco: MomentumEncoder, position: string): Promise<void> {
  if (!existsSync(file)) throw new Error(`${file} is missing; a MoCo run cannot resume without its key encoder and queue`);
  const decoded = await readCheckpoint(file);
  if (decoded.metadata.position !== position) throw new Error(`${file} belongs to another point of the run (${decoded.metadata.position}) than the checkpoint (${position}); cannot resume`);
  const model = new Map([...[...moco.key.stateDict()].map(([n, t]) => [`key.${n}`, t] as const), ['queue', moco.queue.keys] as const]);
  applyCheckpoint(decoded, { model });
  moco.queue.ptr = Number(decoded.metadata.ptr);
  await syncBatchCounts(moco.key);
}

export async function pretrain(given: Partial<PretrainOptions> = {}, hooks: TrainHooks = {}): Promise<PretrainResult> {
  const o = resolvePretrainOptions(given);
  await initGpu();
  const info = protocolInfo(o.protocol);
  const data = await pretrainData(o);
  const trainSet = limitTrainSet(data.train, o.maxTrain, o.seed);
  if (trainSet.n < 2) throw new Error(`${o.protocol}: ${trainSet.n} training image(s); contrastive training needs at least 2`);
  // A last batch of one image has no negatives (and no mixing partner): drop it.
  const dropLast = trainSet.n % o.batchSize === 1;
  const stepsPerEpoch = batchesPerEpoch(trainSet.n, o.batchSize, dropLast);
  const totalSteps = stepsPerEpoch * o.epochs;

  const modelOptions: SupConResNetOptions = { arch: o.arch, width: o.width, inChannels: info.channels };
  const rng = new Rng(o.seed);
  const model = new SupConResNet(rng, modelOptions);
  model.train();
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const stepper = new SslStep(model, o, info.augmentation, trainSet, modelOptions, rng);

  mkdirSync(o.out, { recursive: true });
  const checkpoint = join(o.out, CHECKPOINT_FILE);
  const mocoFile = join(o.out, MOCO_STATE_FILE);
  let startEpoch = 0;
  let startBatch = 0;
  if (o.resume && existsSync(checkpoint)) {
    const decoded = await readCheckpoint(checkpoint);
    const saved = decoded.metadata.training;
    if (!saved) throw new Error(`${checkpoint}: not a training checkpoint of this tool (no training metadata); cannot resume`);
    const meta = JSON.parse(saved) as { epoch: number; batch: number; fingerprint: string };
    if (meta.fingerprint !== fingerprint(o)) {
      throw new Error(`${checkpoint} was written with different settings; resume with the same ones or another --out.\n  saved: ${meta.fingerprint}\n  now:   ${fingerprint(o)}`);
    }
    applyCheckpoint(decoded, { model: model.stateDict(), optimizer });
    if (stepper.moco) await loadMocoState(mocoFile, stepper.moco, `${meta.epoch}.${meta.batch}`);
    startEpoch = meta.epoch;
    startBatch = meta.batch;
    await syncBatchCounts(model);
    console.error(`resuming from ${checkpoint} at epoch ${startEpoch + 1}, batch ${startBatch}`);
  } else if (!o.resume) {
    writeFileSync(join(o.out, LOG_FILE), '');
  }
  writeFileSync(join(o.out, 'config.json'), JSON.stringify(o, null, 2) + '\n');

  const save = async (epoch: number, batch: number) => {
    // MoCo's state first: the checkpoint, written last, is what a resume trusts.
    if (stepper.moco) await saveMocoState(mocoFile, stepper.moco, `${epoch}.${batch}`);
    await saveCheckpoint(checkpoint, {
      model: model.stateDict(),
      optimizer: optimizer.stateDict(),
      metadata: { training: JSON.stringify({ epoch, batch, fingerprint: fingerprint(o) }), config: JSON.stringify(o) },
    });
  };

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error('\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  const logs: EpochLog[] = [];
  const progress = new Progress(totalSteps, o.batchSize, o.progress, startEpoch * stepsPerEpoch + startBatch);
  try {
    for (let epoch = startEpoch; epoch < o.epochs && !interrupted; epoch++) {
      const started = Date.now();
      let lossSum = 0;
      let images = 0;
      let batchIndex = epoch === startEpoch ? startBatch : 0;
      for await (const batch of batches(trainSet, { batchSize: o.batchSize, seed: o.seed, epoch, dropLast, startBatch: batchIndex })) {
        const step = epoch * stepsPerEpoch + batch.index;
        optimizer.lr = cosineLr(step, totalSteps, o.lr, o.lrMin);
        const loss = await stepper.run(batch.images, optimizer, new Rng(stepSeed(o.seed, step)));
        if (!Number.isFinite(loss)) {
          throw new Error(
            `loss is ${loss} at step ${step + 1} (epoch ${epoch + 1}, batch ${batch.index + 1}); stopping. ` +
              (existsSync(checkpoint) ? `The last good checkpoint is ${checkpoint}.` : 'No checkpoint was written yet.') +
              ' Try a lower --lr or a larger --tau.',
          );
        }
        lossSum += loss * batch.size;
        images += batch.size;
        batchIndex = batch.index + 1;
        progress.update(step + 1, epoch, o.epochs, loss);
        hooks.onStep?.(step, loss);
        if (hooks.signal?.aborted) interrupted = true;
        if (interrupted) break;
      }
      const finished = batchIndex >= stepsPerEpoch;
      await save(finished ? epoch + 1 : epoch, finished ? 0 : batchIndex);
      if (!finished) break;
      const seconds = (Date.now() - started) / 1000;
      const log: EpochLog = {
        epoch: epoch + 1,
        step: (epoch + 1) * stepsPerEpoch,
        loss: lossSum / Math.max(images, 1),
        lr: optimizer.lr,
        imagesPerSecond: images / Math.max(seconds, 1e-3),
        seconds,
      };
      logs.push(log);
      appendFileSync(join(o.out, LOG_FILE), JSON.stringify({ ...log, time: new Date().toISOString(), memory: gpu().memory() }) + '\n');
      await hooks.onEpoch?.(log, model);
    }
  } finally {
    progress.finish();
    process.off('SIGINT', onSigint);
    stepper.dispose();
    optimizer.dispose();
  }
  if (interrupted) console.error(`stopped; checkpoint saved to ${checkpoint}. Continue with --resume.`);
  return { options: o, model, data, trainSet, checkpoint, epochs: logs, interrupted };
}
