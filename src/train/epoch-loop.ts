// The epoch loop shared by `gradmix train` (train.ts) and `gradmix pretrain` (src/ssl/pretrain.ts):
// one checkpoint per epoch (atomic), exact resumption (the batch order and every random draw depend
// only on seed, epoch and step), a JSONL log, Ctrl-C that saves and exits cleanly, and a stop with a
// clear message on NaN/Inf. What a step computes is the caller's; so are extra files saved beside
// the checkpoint (MoCo's state) and extra work at the end of an epoch (pictures).
import { existsSync, mkdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gpu } from '../../runtime/gpu.js';
import { batches, type Dataset } from '../data/index.js';
import { syncBatchCounts, type SupConResNet } from '../nn/index.js';
import type { Adam } from '../optim/index.js';
import { applyCheckpoint, readCheckpoint, saveCheckpoint } from '../checkpoint/index.js';
import { Progress } from './progress.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const LOG_FILE = 'log.jsonl';

export interface EpochLog {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface TrainHooks {
  /** Stops training after the current step (saving a checkpoint), like Ctrl-C. */
  signal?: AbortSignal;
  /** Called after every step with the step's loss. */
  onStep?: (step: number, loss: number) => void;
  /** Called after each epoch's checkpoint is written. */
  onEpoch?: (log: EpochLog, model: SupConResNet) => void | Promise<void>;
}

/** The options the loop reads (both TrainOptions and PretrainOptions have them). */
export interface LoopOptions {
  out: string;
  resume: boolean;
  epochs: number;
  batchSize: number;
  seed: number;
  progress: boolean;
}

export interface EpochLoop {
  /** The run's resolved options: written to config.json and into every checkpoint. */
  options: LoopOptions;
  /** The settings a checkpoint must share with the run that resumes it. */
  fingerprint: string;
  trainSet: Dataset;
  dropLast: boolean;
  stepsPerEpoch: number;
  totalSteps: number;
  model: SupConResNet;
  optimizer: Adam;
  /** Runs step `step` (learning rate, forward, backward, update) on its batch; returns the loss. */
  step: (step: number, images: Float32Array, labels: Int32Array) => Promise<number>;
  /** Restores state kept beside the checkpoint, at position (epoch, batch). */
  resumeExtra?: (epoch: number, batch: number) => Promise<void>;
  /** Saves state kept beside the checkpoint; runs before the checkpoint, which a resume trusts. */
  saveExtra?: (epoch: number, batch: number) => Promise<void>;
  /** After each finished epoch's log line (epoch counted from 1), before hooks.onEpoch. */
  afterEpoch?: (epoch: number) => Promise<void>;
}

export interface EpochLoopResult {
  checkpoint: string;
  epochs: EpochLog[];
  /** True when stopped by Ctrl-C (or an abort signal) after saving a checkpoint. */
  interrupted: boolean;
}

interface Position {
  epoch: number;
  batch: number;
}

/** Creates the run folder and resumes from its checkpoint when asked (else starts a fresh log); returns where to start. */
async function openRun(run: EpochLoop, checkpoint: string): Promise<Position> {
  const o = run.options;
  mkdirSync(o.out, { recursive: true });
  let start: Position = { epoch: 0, batch: 0 };
  if (o.resume && existsSync(checkpoint)) {
    const decoded = await readCheckpoint(checkpoint);
    const saved = decoded.metadata.training;
    if (!saved) throw new Error(`${checkpoint}: not a training checkpoint of this tool (no training metadata); cannot resume`);
    const meta = JSON.parse(saved) as { epoch: number; batch: number; fingerprint: string };
    if (meta.fingerprint !== run.fingerprint) {
      throw new Error(`${checkpoint} was written with different settings; resume with the same ones or another --out.\n  saved: ${meta.fingerprint}\n  now:   ${run.fingerprint}`);
    }
    applyCheckpoint(decoded, { model: run.model.stateDict(), optimizer: run.optimizer });
    await run.resumeExtra?.(meta.epoch, meta.batch);
    start = { epoch: meta.epoch, batch: meta.batch };
    await syncBatchCounts(run.model);
    console.error(`resuming from ${checkpoint} at epoch ${start.epoch + 1}, batch ${start.batch}`);
  } else if (!o.resume) {
    writeFileSync(join(o.out, LOG_FILE), '');
  }
  writeFileSync(join(o.out, 'config.json'), JSON.stringify(o, null, 2) + '\n');
  return start;
}

/** Saves the checkpoint of position (epoch, batch), after any state kept beside it. */
async function saveRun(run: EpochLoop, checkpoint: string, epoch: number, batch: number): Promise<void> {
  await run.saveExtra?.(epoch, batch);
  await saveCheckpoint(checkpoint, {
    model: run.model.stateDict(),
    optimizer: run.optimizer.stateDict(),
    metadata: { training: JSON.stringify({ epoch, batch, fingerprint: run.fingerprint }), config: JSON.stringify(run.options) },
  });
}

/** Trains from the checkpoint in options.out (when resuming) or from scratch up to options.epochs. */
export async function runEpochLoop(run: EpochLoop, hooks: TrainHooks = {}): Promise<EpochLoopResult> {
  const o = run.options;
  const { trainSet, dropLast, stepsPerEpoch, totalSteps } = run;
  const checkpoint = join(o.out, CHECKPOINT_FILE);
  const start = await openRun(run, checkpoint);

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C does not wait
    interrupted = true;
    console.error('\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  const logs: EpochLog[] = [];
  const progress = new Progress(totalSteps, o.batchSize, o.progress, start.epoch * stepsPerEpoch + start.batch);
  try {
    for (let epoch = start.epoch; epoch < o.epochs && !interrupted; epoch++) {
      const started = Date.now();
      let lossSum = 0;
      let images = 0;
      let batchIndex = epoch === start.epoch ? start.batch : 0;
      for await (const batch of batches(trainSet, { batchSize: o.batchSize, seed: o.seed, epoch, dropLast, startBatch: batchIndex })) {
        const step = epoch * stepsPerEpoch + batch.index;
        const loss = await run.step(step, batch.images, batch.labels);
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
      await saveRun(run, checkpoint, finished ? epoch + 1 : epoch, finished ? 0 : batchIndex);
      if (!finished) break;
      const seconds = (Date.now() - started) / 1000;
      const log: EpochLog = {
        epoch: epoch + 1,
        step: (epoch + 1) * stepsPerEpoch,
        loss: lossSum / Math.max(images, 1),
        lr: run.optimizer.lr,
        imagesPerSecond: images / Math.max(seconds, 1e-3),
        seconds,
      };
      logs.push(log);
      appendFileSync(join(o.out, LOG_FILE), JSON.stringify({ ...log, time: new Date().toISOString(), memory: gpu().memory() }) + '\n');
      await run.afterEpoch?.(epoch + 1);
      await hooks.onEpoch?.(log, run.model);
    }
  } finally {
    progress.finish();
    process.off('SIGINT', onSigint);
  }
  if (interrupted) console.error(`stopped; checkpoint saved to ${checkpoint}. Continue with --resume.`);
  return { checkpoint, epochs: logs, interrupted };
}
