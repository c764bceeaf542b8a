// The training loop: data, model, Adam with a cosine schedule, one checkpoint per epoch (atomic),
// exact resumption (the batch order and every random draw depend only on seed, epoch and step),
// a JSONL log, Ctrl-C that saves and exits cleanly, and a stop with a clear message on NaN/Inf.
import { existsSync, mkdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initGpu, gpu } from '../../runtime/gpu.js';
import { batches, loadProtocol, type Dataset, type OpenSetData } from '../data/index.js';
import { loadAllClasses } from '../data/in-distribution.js';
import { syncBatchCounts, type SupConResNet } from '../nn/index.js';
import { applyCheckpoint, readCheckpoint, saveCheckpoint } from '../checkpoint/index.js';
import { resolveOptions, type TrainOptions } from './options.js';
import { Progress } from './progress.js';
import { autotuneTraining } from './autotune.js';
import { writePictures } from './pictures.js';
import { checkpointFingerprint, runStep, setUpRun } from './training-run.js';

export { stepSeed } from './training-run.js';

export interface EpochLog {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface TrainResult {
  options: TrainOptions;
  model: SupConResNet;
  data: OpenSetData;
  /** The training images actually used (after maxTrain). */
  trainSet: Dataset;
  checkpoint: string;
  epochs: EpochLog[];
  /** True when stopped by Ctrl-C (or an abort signal) after saving a checkpoint. */
  interrupted: boolean;
}

export interface TrainHooks {
  /** Stops training after the current step (saving a checkpoint), like Ctrl-C. */
  signal?: AbortSignal;
  /** Called after every step with the step's loss. */
  onStep?: (step: number, loss: number) => void;
  /** Called after each epoch's checkpoint is written. */
  onEpoch?: (log: EpochLog, model: SupConResNet) => void | Promise<void>;
}

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const LOG_FILE = 'log.jsonl';

export async function train(given: Partial<TrainOptions> = {}, hooks: TrainHooks = {}): Promise<TrainResult> {
  const o = resolveOptions(given);
  await initGpu();
  const data = o.allClasses ? await loadAllClasses(o.protocol, o.split, { dataDir: o.dataDir }) : await loadProtocol(o.protocol, o.split, { dataDir: o.dataDir });
  const run = setUpRun(o, data);
  const { trainSet, dropLast, stepsPerEpoch, totalSteps, model, optimizer, stepper } = run;
  // Kernel variants for this adapter and these shapes, fixed before the first step (GRADMIX_AUTOTUNE=0: defaults).
  await autotuneTraining(model, o, trainSet);

  mkdirSync(o.out, { recursive: true });
  const checkpoint = join(o.out, CHECKPOINT_FILE);
  let startEpoch = 0;
  let startBatch = 0;
  if (o.resume && existsSync(checkpoint)) {
    const decoded = await readCheckpoint(checkpoint);
    const saved = decoded.metadata.training;
    if (!saved) throw new Error(`${checkpoint}: not a training checkpoint of this tool (no training metadata); cannot resume`);
    const meta = JSON.parse(saved) as { epoch: number; batch: number; fingerprint: string };
    if (meta.fingerprint !== checkpointFingerprint(o)) {
      throw new Error(`${checkpoint} was written with different settings; resume with the same ones or another --out.\n  saved: ${meta.fingerprint}\n  now:   ${checkpointFingerprint(o)}`);
    }
    applyCheckpoint(decoded, { model: model.stateDict(), optimizer });
    startEpoch = meta.epoch;
    startBatch = meta.batch;
    await syncBatchCounts(model);
    console.error(`resuming from ${checkpoint} at epoch ${startEpoch + 1}, batch ${startBatch}`);
  } else if (!o.resume) {
    writeFileSync(join(o.out, LOG_FILE), '');
  }
  writeFileSync(join(o.out, 'config.json'), JSON.stringify(o, null, 2) + '\n');

  const save = async (epoch: number, batch: number) => {
    await saveCheckpoint(checkpoint, {
      model: model.stateDict(),
      optimizer: optimizer.stateDict(),
      metadata: { training: JSON.stringify({ epoch, batch, fingerprint: checkpointFingerprint(o) }), config: JSON.stringify(o) },
    });
  };

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C does not wait
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
        const loss = await runStep(run, o, step, batch.images, batch.labels);
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
      if (o.pictures) await writePictures(model, o, stepper.augment, trainSet, epoch + 1);
      await hooks.onEpoch?.(log, model);
    }
  } finally {
    progress.finish();
    process.off('SIGINT', onSigint);
  }
  if (interrupted) console.error(`stopped; checkpoint saved to ${checkpoint}. Continue with --resume.`);
  return { options: o, model, data, trainSet, checkpoint, epochs: logs, interrupted };
}
