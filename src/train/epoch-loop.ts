// The epoch loop shared by `gradmix train` (train.ts) and `gradmix pretrain` (src/ssl/pretrain.ts):
// one checkpoint per epoch (atomic), exact resumption (the batch order and every random draw depend
// only on seed, epoch and step; the interrupted epoch's loss sums travel in the checkpoint, so its
// logged loss is the uninterrupted run's), a JSONL log (a row per step with the loss's terms, a
// row per epoch, a status row), a lock on the run folder, Ctrl-C that saves and exits with status
// 'interrupted', and a stop with a clear message on NaN/Inf in the loss or in any model tensor
// (finite-guard.ts). What a step computes is the caller's; so are extra state saved inside the
// checkpoint (MoCo's) and extra work at the end of an epoch (pictures).
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GpuError, gpu } from '../../runtime/gpu.js';
import { BufferTooLargeError, mib } from '../../runtime/buffer-pool.js';
import { batches, datasetDigest, type Dataset } from '../data/index.js';
import { syncBatchCounts, type SupConResNet } from '../nn/index.js';
import type { Adam } from '../optim/index.js';
import { applyCheckpoint, metadataJson, readCheckpoint, removeOrphanTemps, saveCheckpoint, writeFileAtomic, writeJsonAtomic, type DecodedCheckpoint, type HostTensor } from '../checkpoint/index.js';
import { Progress } from './progress.js';
import { FiniteGuard } from './finite-guard.js';
import type { StepResult } from './step-skeleton.js';
import { acquireRunLock, makeFolder } from './run-lock.js';
import { pinTunedChoices, tunedChoices } from '../ops/kernel-choice.js';
import { fingerprintMatches } from './training-run.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/**
 * The checkpoint's record of the kernel variants the run's ops ran ({ adapter, choices } by
 * '<op>|<shape class>'): a resume on the same adapter runs them again (pinRecordedKernels), so it
 * sums in the same order as the uninterrupted run whatever its autotune cache says.
 */
export const KERNELS_METADATA = 'kernels';
export const LOG_FILE = 'log.jsonl';
/**
 * What an evaluation of a run writes into its folder (train's results.json and plots, pretrain's
 * probe.json). A fresh run removes them first: an earlier run's results.json says 'finished' to
 * sweeps and `gradmix protocol`, which would take an interrupted new run for a finished one.
 */
export const RESULT_FILES = ['results.json', 'roc.svg', 'scores.svg', 'probe.json'] as const;

/** Where other commands write by default beside a run's checkpoint: `gradmix corrupt`, `ood`, `probe`. */
export const CORRUPT_RESULTS = 'robustness.json';
export const CORRUPT_PICTURE = 'corruptions.png';
export const OOD_FOLDER = 'ood';
export const PROBE_FOLDER = 'probe';
/** Those outputs, of the model a fresh run replaces: removed with RESULT_FILES, so none outlives its model. */
const DERIVED_OUTPUTS = [CORRUPT_RESULTS, CORRUPT_PICTURE, OOD_FOLDER, PROBE_FOLDER];

/** An input besides the training data that a resume must find unchanged (Attentive CutMix's attention network). */
export interface InputDigest {
  /** What it is (e.g. 'attention network'), for the error. */
  what: string;
  /** The flag that chooses it (e.g. --attention-model), for the error. */
  flag: string;
  /** What it is now (e.g. the file), for the error. */
  source: string;
  digest: string;
}

export interface EpochLog {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
}

/** The continueHint of commands that resume by themselves when run again (protocol, objectives: they take no --resume). */
export const RERUN_TO_CONTINUE = 'Rerun the same command to continue.';

export interface TrainHooks {
  /** Stops training after the current step (saving a checkpoint), like Ctrl-C. */
  signal?: AbortSignal;
  /** Called after every step with the step's loss. */
  onStep?: (step: number, loss: number) => void;
  /** Called after each epoch's checkpoint is written. */
  onEpoch?: (log: EpochLog, model: SupConResNet) => void | Promise<void>;
  /** How to continue after Ctrl-C, for its message (default 'Continue with --resume.'; a command whose rerun resumes says so). */
  continueHint?: string;
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
  /** The run's resolved options: written to config.json and into every checkpoint (paths made absolute). */
  options: LoopOptions;
  /** The settings a checkpoint must share with the run that resumes it. */
  fingerprint: string;
  trainSet: Dataset;
  dropLast: boolean;
  stepsPerEpoch: number;
  totalSteps: number;
  model: SupConResNet;
  optimizer: Adam;
  /**
   * Runs step `step` (learning rate, forward, backward, update) on its batch. Returns its loss, the
   * loss's terms and `bad` from `guard`, all read in the step's one readback (optimizerStep).
   */
  step: (step: number, images: Float32Array, labels: Int32Array, guard: FiniteGuard) => Promise<StepResult>;
  /**
   * State saved inside each checkpoint as host tensors named `__<name>__.*` (MoCo's key encoder
   * and queue): one file, so one rename commits the model and this state together.
   */
  saveExtra?: () => Promise<Map<string, HostTensor>>;
  /** Restores that state from the checkpoint being resumed (after the model and optimiser). */
  resumeExtra?: (decoded: DecodedCheckpoint) => Promise<void>;
  /** Inputs a resume must find unchanged, by name (computed once; saved with the checkpoint, compared on resume). */
  inputDigests?: () => Promise<Record<string, InputDigest>>;
  /**
   * Once the run is opened (a resume's checkpoint applied, the kernel variants it recorded pinned),
   * before the first step: what must see that state, e.g. autotuning the step's kernels.
   */
  beforeSteps?: () => Promise<void>;
  /** After each finished epoch's log line (epoch counted from 1), before hooks.onEpoch. */
  afterEpoch?: (epoch: number) => Promise<void>;
  /** datasetDigest(trainSet), computed at the first save. */
  dataDigest?: string;
}

export interface EpochLoopResult {
  checkpoint: string;
  epochs: EpochLog[];
  /** True when stopped by Ctrl-C (or an abort signal) after saving a checkpoint. */
  interrupted: boolean;
  /** The steps trained in all, this session's and before a resume (the step of its log's status row). */
  steps: number;
}

/** Where a run stands: the next batch to train, and the current epoch's loss sums so far. */
interface Position {
  epoch: number;
  batch: number;
  lossSum: number;
  images: number;
}

/** What a training checkpoint's 'training' metadata holds. */
interface TrainingMeta extends Position {
  fingerprint: string;
  /** datasetDigest of the training images (absent in checkpoints written before it was kept). */
  data?: string;
  /** EpochLoop.inputDigests' digests by name (absent in checkpoints written before they were kept). */
  inputs?: Record<string, string>;
}

let interruptedCount = 0;
/** Epoch loops of this process now listening for SIGINT and SIGTERM (to stop after the step and save). */
let gracefulStops = 0;

/** Whether a training loop of this process stops gracefully on SIGINT/SIGTERM now (a sweep's lock guard then stands aside). */
export function trainingStopsOnSignal(): boolean {
  return gracefulStops > 0;
}

/** How many runs of this process stopped on Ctrl-C or an abort (a command that adds one exits 130). */
export function interruptedRuns(): number {
  return interruptedCount;
}

/** Whether a run was interrupted since the last call, and forgets it (main() compares interruptedRuns() before and after instead). */
export function takeInterrupted(): boolean {
  const was = interruptedCount > 0;
  interruptedCount = 0;
  return was;
}

/** The log's rows up to position `at` (rows of a killed run's later steps, and status rows, dropped). */
function logUpTo(file: string, stepsDone: number, epochsDone: number): string {
  if (!existsSync(file)) return '';
  const kept: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    let row: { kind?: string; step?: number; epoch?: number };
    try {
      row = JSON.parse(line) as typeof row;
    } catch {
      continue; // empty, or torn by a kill in the middle of a write
    }
    if (row.kind === 'step' ? (row.step ?? Infinity) <= stepsDone : row.kind !== 'status' && (row.epoch ?? Infinity) <= epochsDone) kept.push(line);
  }
  return kept.map((l) => l + '\n').join('');
}

/** Resumes from the checkpoint when asked (else starts a fresh log); returns where to start. */
async function openRun(run: EpochLoop, checkpoint: string): Promise<Position> {
  const o = run.options;
  const log = join(o.out, LOG_FILE);
  let start: Position = { epoch: 0, batch: 0, lossSum: 0, images: 0 };
  if (o.resume && existsSync(checkpoint)) {
    const decoded = await readCheckpoint(checkpoint);
    const meta = metadataJson<TrainingMeta>(decoded, 'training');
    if (!meta) throw new Error(`${checkpoint}: not a training checkpoint of this tool (no training metadata); cannot resume`);
    if (!Number.isSafeInteger(meta.epoch) || !Number.isSafeInteger(meta.batch) || typeof meta.fingerprint !== 'string') {
      throw new Error(`${checkpoint}: metadata 'training' lacks epoch, batch or fingerprint; the file is damaged`);
    }
    if (!fingerprintMatches(meta.fingerprint, run.fingerprint)) {
      throw new Error(`${checkpoint} was written with different settings; resume with the same ones or another --out.\n  saved: ${meta.fingerprint}\n  now:   ${run.fingerprint}`);
    }
    if (meta.data !== undefined && meta.data !== datasetDigest(run.trainSet)) {
      throw new Error(
        `${checkpoint}: the training images are not the ones this run trained on (data digest ${meta.data}, now ${datasetDigest(run.trainSet)}): its data files changed since; resume with the same data, or train again with another --out`,
      );
    }
    for (const [name, now] of Object.entries((await run.inputDigests?.()) ?? {})) {
      const saved = meta.inputs?.[name];
      // Checkpoints written before the digest was kept cannot tell, and resume as before.
      if (saved !== undefined && saved !== now.digest) {
        throw new Error(
          `${checkpoint}: ${now.flag} ${now.source} is not the ${now.what} this run trained with (digest ${saved}, now ${now.digest}); resume with the same ${now.flag} file, or train again with another --out`,
        );
      }
    }
    applyCheckpoint(decoded, { model: run.model.stateDict(), optimizer: run.optimizer });
    await run.resumeExtra?.(decoded);
    pinRecordedKernels(decoded, checkpoint);
    // Checkpoints written before the sums were kept resume with the epoch's later batches only.
    start = { epoch: meta.epoch, batch: meta.batch, lossSum: meta.lossSum ?? 0, images: meta.images ?? 0 };
    await syncBatchCounts(run.model);
    // Atomic: a kill mid-write would otherwise lose the rows before the checkpoint for good.
    await writeFileAtomic(log, new TextEncoder().encode(logUpTo(log, start.epoch * run.stepsPerEpoch + start.batch, start.epoch)));
    // A run whose training finished (its evaluation interrupted or missing) has nothing left to train.
    if (start.epoch >= o.epochs) console.error(`training finished earlier (${checkpoint}, ${start.epoch} epoch(s)): nothing left to train`);
    else console.error(`resuming from ${checkpoint} at epoch ${start.epoch + 1}, batch ${start.batch}`);
  } else {
    // A fresh run (or --resume before any checkpoint was written): an earlier run's results and
    // rows do not belong (results.json first: it is what says 'finished').
    for (const f of RESULT_FILES) rmSync(join(o.out, f), { force: true });
    for (const f of DERIVED_OUTPUTS) rmSync(join(o.out, f), { recursive: true, force: true });
    await writeFileAtomic(log, new Uint8Array(0));
  }
  // Atomic, as --resume reads it back.
  await writeJsonAtomic(join(o.out, 'config.json'), recorded(o));
  return start;
}

/** The options naming a folder or file: eval, probe and --resume read them back, maybe from another directory. */
const PATH_OPTIONS = ['dataDir', 'unknownDataDir', 'attentionModel'];

/** The options as a run records them: its paths absolute, so they hold from any directory. */
function recorded(o: LoopOptions): LoopOptions {
  const r: Record<string, unknown> = { ...o };
  for (const key of PATH_OPTIONS) if (typeof r[key] === 'string') r[key] = resolve(r[key]);
  return r as unknown as LoopOptions;
}

/**
 * The kernel variants a checkpoint's run ran, taken back when it resumes on the same adapter:
 * another variant may sum in another order, and a resumed run is bit-identical to an
 * uninterrupted one only with the same (autotune caches are per machine and may change). On
 * another adapter they are chosen anew (its last bits differ anyway).
 */
function pinRecordedKernels(decoded: DecodedCheckpoint, checkpoint: string): void {
  const saved = metadataJson<{ adapter?: string; choices?: Record<string, string> }>(decoded, KERNELS_METADATA);
  if (!saved?.choices) return; // written before the variants were recorded
  if (saved.adapter !== gpu().describe()) {
    console.error(`note: ${checkpoint} was trained on ${saved.adapter}; on this adapter the kernel variants are chosen anew (the resumed run's last bits may differ)`);
    return;
  }
  pinTunedChoices(saved.choices);
}

/** Saves the checkpoint of position `p`, with the caller's extra state inside it. */
async function saveRun(run: EpochLoop, checkpoint: string, p: Position): Promise<void> {
  const digests = await run.inputDigests?.();
  const inputs = digests && Object.fromEntries(Object.entries(digests).map(([name, d]) => [name, d.digest]));
  const meta: TrainingMeta = { ...p, fingerprint: run.fingerprint, data: (run.dataDigest ??= datasetDigest(run.trainSet)), ...(inputs ? { inputs } : {}) };
  await saveCheckpoint(checkpoint, {
    model: run.model.stateDict(),
    optimizer: run.optimizer.stateDict(),
    metadata: {
      training: JSON.stringify(meta),
      config: JSON.stringify(recorded(run.options)),
      [KERNELS_METADATA]: JSON.stringify({ adapter: gpu().describe(), choices: Object.fromEntries(tunedChoices()) }),
    },
    extras: await run.saveExtra?.(),
  });
}

/** The error a failed step or save ends the run with: what the engine was doing and what is kept. */
function runError(e: unknown, doing: string, kept: string, batchSize: number, firstStep: boolean): Error {
  const message = (e as Error).message ?? String(e);
  if (e instanceof BufferTooLargeError && firstStep) {
    const fits = Math.floor((batchSize * e.limit) / e.bytes);
    return new Error(
      `--batch ${batchSize} is too large for this adapter: ${doing} needs a buffer of ${mib(e.bytes)} (buffers grow with the batch; no weights were updated), ` +
        `over the ${mib(e.limit)} the adapter allows per storage buffer; ` +
        (fits >= 2 ? `the largest batch that fits is about ${fits}` : 'even a batch of 2 would not fit: use a smaller --width'),
    );
  }
  const lost = e instanceof GpuError || /device (was )?lost|out of memory|OutOfMemory|GPU was destroyed/i.test(message);
  return new Error(`${lost ? 'GPU failure' : 'error'} while ${doing}: ${message}\n${kept}`, { cause: e });
}

/**
 * Runs `run` (a whole training run) whose result hands `model` to the caller: when it fails, the
 * model is freed here (the caller gets nothing to free), and what only the run used (`scratch`:
 * the optimiser's moments, MoCo's encoder) is freed either way, so GPU memory stays flat across runs.
 */
export async function keepingOnlyModel<T>(model: { dispose(): void }, scratch: readonly { dispose(): void }[], run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    for (const s of scratch) s.dispose();
  }
}

/** Trains from the checkpoint in options.out (when resuming) or from scratch up to options.epochs. */
export async function runEpochLoop(run: EpochLoop, hooks: TrainHooks = {}): Promise<EpochLoopResult> {
  const o = run.options;
  const { trainSet, dropLast, stepsPerEpoch, totalSteps } = run;
  const checkpoint = join(o.out, CHECKPOINT_FILE);
  const logFile = join(o.out, LOG_FILE);
  makeFolder(o.out, '--out folder');
  const release = acquireRunLock(o.out);
  const guard = new FiniteGuard();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C does not wait
    interrupted = true;
    console.error('\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit now)');
  };
  // SIGTERM (a scheduler's time limit, a pod's eviction, kill) stops the same way: the scheduler
  // gives a grace period before its SIGKILL, in which the step ends and the checkpoint is saved.
  const onSigterm = () => {
    if (interrupted) return;
    interrupted = true;
    console.error('\nterminated: finishing this step and saving a checkpoint');
  };
  const logs: EpochLog[] = [];
  const status = (s: 'finished' | 'interrupted' | 'failed', at: number, error?: string) =>
    appendFileSync(logFile, JSON.stringify({ kind: 'status', status: s, step: at, checkpoint, ...(error ? { error } : {}), time: new Date().toISOString() }) + '\n');
  let progress: Progress | null = null;
  let stepsDone = 0;
  // Until openRun succeeds, log.jsonl is an earlier run's (a refused resume): a failure adds no row to it.
  let opened = false;
  let listening = false;
  try {
    const orphans = await removeOrphanTemps(o.out);
    if (orphans.length) console.error(`removed ${orphans.length} temporary file(s) left by a save that was killed: ${orphans.join(', ')}`);
    const start = await openRun(run, checkpoint);
    opened = true;
    await run.beforeSteps?.();
    let saved = o.resume && existsSync(checkpoint) ? `epoch ${start.epoch + 1}, batch ${start.batch}` : null; // not an earlier run's
    const kept = () => (saved ? `The last checkpoint kept is ${checkpoint} (next: ${saved}); continue with --resume.` : 'No checkpoint was written yet.');
    const firstStep = start.epoch * stepsPerEpoch + start.batch;
    stepsDone = firstStep;
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    gracefulStops++;
    listening = true;
    progress = new Progress(totalSteps, o.batchSize, o.progress, firstStep);
    for (let epoch = start.epoch; epoch < o.epochs && !interrupted; epoch++) {
      const started = Date.now();
      const resumed = epoch === start.epoch;
      let lossSum = resumed ? start.lossSum : 0;
      let images = resumed ? start.images : 0;
      const imagesBefore = images; // trained before a resume: not in this session's rate
      let batchIndex = resumed ? start.batch : 0;
      for await (const batch of batches(trainSet, { batchSize: o.batchSize, seed: o.seed, epoch, dropLast, startBatch: batchIndex })) {
        const step = epoch * stepsPerEpoch + batch.index;
        const where = `step ${step + 1} (epoch ${epoch + 1}, batch ${batch.index + 1})`;
        let outcome: StepResult;
        try {
          outcome = await run.step(step, batch.images, batch.labels, guard);
        } catch (e) {
          throw runError(e, `training ${where}`, kept(), o.batchSize, step === firstStep);
        }
        const { loss, bad } = outcome;
        if (!Number.isFinite(loss)) {
          throw new Error(`loss is ${loss} at ${where}; stopping. ${kept()} Try a lower --lr or a larger --tau.`);
        }
        if (bad) {
          throw new Error(`'${bad}' holds NaN or Inf after ${where} (the loss, ${loss}, is still finite); stopping. ${kept()} Try a lower --lr.`);
        }
        lossSum += loss * batch.size;
        images += batch.size;
        batchIndex = batch.index + 1;
        stepsDone = step + 1;
        appendFileSync(logFile, JSON.stringify({ kind: 'step', epoch: epoch + 1, step: step + 1, loss, ...outcome.terms, lr: run.optimizer.lr }) + '\n');
        progress.update(step + 1, epoch, o.epochs, loss);
        hooks.onStep?.(step, loss);
        if (hooks.signal?.aborted) interrupted = true;
        if (interrupted) break;
      }
      const finished = batchIndex >= stepsPerEpoch;
      const next: Position = finished ? { epoch: epoch + 1, batch: 0, lossSum: 0, images: 0 } : { epoch, batch: batchIndex, lossSum, images };
      // The epoch's row goes in before its checkpoint: a kill between the two would otherwise lose
      // it for good (the resume starts after the epoch), while a failed save's row is cut off
      // again by the resume, which keeps only the rows up to its checkpoint.
      let log: EpochLog | null = null;
      if (finished) {
        const seconds = (Date.now() - started) / 1000;
        log = {
          epoch: epoch + 1,
          step: (epoch + 1) * stepsPerEpoch,
          loss: lossSum / Math.max(images, 1),
          lr: run.optimizer.lr,
          imagesPerSecond: (images - imagesBefore) / Math.max(seconds, 1e-3),
          seconds,
        };
        appendFileSync(logFile, JSON.stringify({ ...log, kind: 'epoch', time: new Date().toISOString(), memory: gpu().memory() }) + '\n');
      }
      try {
        await saveRun(run, checkpoint, next);
      } catch (e) {
        throw runError(e, `saving the checkpoint of epoch ${epoch + 1} (${checkpoint})`, kept(), o.batchSize, false);
      }
      saved = `epoch ${next.epoch + 1}, batch ${next.batch}`;
      if (!log) break;
      logs.push(log);
      await run.afterEpoch?.(epoch + 1);
      await hooks.onEpoch?.(log, run.model);
    }
    status(interrupted ? 'interrupted' : 'finished', stepsDone);
  } catch (e) {
    if (opened && existsSync(logFile)) status('failed', stepsDone, (e as Error).message);
    throw e;
  } finally {
    // First, so nothing below that throws can leave the count up (a sweep's lock guard would then
    // stand aside for good, and a SIGTERM outside training would be swallowed).
    if (listening) gracefulStops--;
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    progress?.finish();
    guard.dispose();
    release();
  }
  if (interrupted) {
    interruptedCount++;
    console.error(`stopped; checkpoint saved to ${checkpoint}. ${hooks.continueHint ?? 'Continue with --resume.'}`);
  }
  return { checkpoint, epochs: logs, interrupted, steps: stepsDone };
}
