// Train, then evaluate open-set recognition and store the recogniser: what `gradmix train` does,
// as a library call. It writes what a run folder holds (the checkpoint with its recogniser,
// log.jsonl, results.json, roc.svg, scores.svg) and returns the numbers, those paths and the
// recogniser. It prints nothing itself: the lines a command shows along the way go to `log`.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { augmentPreset } from '../augment/index.js';
import { inputInfo } from '../data/open-set.js';
import { evaluateOpenSet, type Evaluation } from '../osr/evaluate.js';
import type { OpenSetMetrics } from '../osr/metrics.js';
import type { OpenSetModel } from '../osr/open-set-model.js';
import { intrinsicDimLine, metricsTable, writeEvaluation } from '../osr/report.js';
import { resolveOptions, type TrainOptions } from './options.js';
import { SIGNAL_EXIT, dropOwnLock, withRunFolder } from './run-lock.js';
import { LOG_FILE } from './epoch-loop.js';
import { recogniserLines, runContext, storeRecogniser } from './recogniser.js';
import { train, type TrainResult } from './train.js';
import { dataLabel } from './run-config.js';

export interface TrainAndEvaluateOptions {
  /** Where the status lines go as they happen (a command passes console.log); default: nowhere. */
  log?: (line: string) => void;
  /** How to continue after Ctrl-C, for its messages (default 'Continue with --resume.'). */
  continueHint?: string;
}

export interface TrainAndEvaluateResult {
  /** The training run: resolved options, model, data, epochs, checkpoint path, interrupted. */
  training: TrainResult;
  /** The open-set evaluation; null when interrupted, with `evaluate: false` or `allClasses`. */
  evaluation: Evaluation | null;
  metrics: OpenSetMetrics | null;
  /** The recogniser stored in the checkpoint (with the evaluation); dispose() frees it. */
  recogniser: OpenSetModel | null;
  /** What the run wrote: the checkpoint always, results.json and the two SVGs with an evaluation. */
  files: { checkpoint: string; results?: string; roc?: string; scores?: string };
  /** Frees the model and the recogniser on the GPU. */
  dispose(): void;
}

/** Trains, then (unless `evaluate` is false, the run is interrupted or trains on all classes) evaluates and stores the recogniser. */
export async function trainAndEvaluate(options: Partial<TrainOptions>, { log = () => undefined, continueHint }: TrainAndEvaluateOptions = {}): Promise<TrainAndEvaluateResult> {
  // The run folder stays locked through the evaluation too: it rewrites the checkpoint (the
  // recogniser) and writes results.json after train() is done with the folder.
  return withRunFolder(resolveOptions(options).out, () => trainThenEvaluate(options, log, continueHint));
}

/**
 * Until the returned function is called, Ctrl-C or SIGTERM stops the evaluation at once (it has no
 * step to finish): the log gets an 'interrupted' row of phase 'evaluation' after training's
 * 'finished' one, the lock goes, and the message says what is kept and how to evaluate. The
 * checkpoint is whole (saves are atomic) and results.json is written last, whole, or not at all.
 */
function stopEvaluationOnSignal(training: TrainResult, continueHint: string | undefined): () => void {
  const { out } = training.options;
  const onSignal = (signal: NodeJS.Signals) => {
    appendFileSync(
      join(out, LOG_FILE),
      JSON.stringify({ kind: 'status', status: 'interrupted', phase: 'evaluation', step: training.steps, checkpoint: training.checkpoint, time: new Date().toISOString() }) + '\n',
    );
    dropOwnLock(out);
    const how = continueHint ? `${continueHint.replace(/\.$/, '')} (it evaluates without training again)` : 'Evaluate with the same command and --resume (it does not train again)';
    console.error(
      `\n${signal === 'SIGTERM' ? 'terminated' : 'interrupted'} during the evaluation: training had finished and its checkpoint is saved to ${training.checkpoint}, but the evaluation did not finish (no results). ${how}. Or evaluate it with gradmix eval --checkpoint ${training.checkpoint}.`,
    );
    process.exit(SIGNAL_EXIT[signal as 'SIGINT' | 'SIGTERM']); // the two it listens for
  };
  // First: a sweep's lock guard, listening too, would exit with its own message.
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function trainThenEvaluate(options: Partial<TrainOptions>, log: (line: string) => void, continueHint: string | undefined): Promise<TrainAndEvaluateResult> {
  const training = await train(options, { continueHint });
  const o = training.options;
  const result: TrainAndEvaluateResult = {
    training,
    evaluation: null,
    metrics: null,
    recogniser: null,
    files: { checkpoint: training.checkpoint },
    dispose() {
      result.recogniser?.dispose();
      training.model.dispose();
    },
  };
  const last = training.epochs[training.epochs.length - 1];
  if (last) log(`trained ${training.epochs.length} epoch(s) of ${dataLabel(o)}: final epoch loss ${last.loss.toFixed(4)}, ${last.imagesPerSecond.toFixed(1)} img/s`);
  if (training.interrupted || !o.evaluate) return result;
  if (o.allClasses) {
    // No unknown classes to evaluate open-set recognition on: OOD detection is a command of its own.
    log(`trained on all classes: evaluate out-of-distribution detection with gradmix ood --checkpoint ${training.checkpoint} --ood-sets <sets>`);
    return result;
  }
  const { data } = training;
  const input = inputInfo(o.protocol, data.train);
  log(`evaluating: ${o.score === 'knn' ? `kNN (k=${o.k})` : o.score} on ${data.testKnown.n} known and ${data.testUnknown.n} unknown test images`);
  let e: Evaluation | undefined;
  const unguard = stopEvaluationOnSignal(training, continueHint);
  try {
    e = await evaluateOpenSet(training.model, data, augmentPreset(input.augmentation, input.imageSize), { k: o.k, score: o.score, keepTrainFeatures: true });
    const recogniser = await storeRecogniser(training.checkpoint, training.model, data, { k: o.k, tpr: o.tpr, galleryFeatures: e.trainFeatures });
    result.recogniser = recogniser;
    e.trainFeatures = undefined; // the recogniser's gallery now
    for (const line of recogniserLines(training.checkpoint, recogniser, o.tpr, data.testKnown.n)) log(line);
    const file = await writeEvaluation(o.out, e, {
      protocol: o.protocol,
      split: o.split,
      method: o.method,
      arch: o.arch,
      width: o.width,
      epochs: o.epochs,
      k: o.k,
      objective: o.objective,
      score: o.score,
      intrinsicDim: e.intrinsicDim,
      checkpoint: training.checkpoint,
      trainedImages: training.trainSet.n,
      threshold: recogniser.threshold,
      tpr: o.tpr,
      ...runContext(data),
      status: 'finished', // an interrupted run writes no results.json; its log.jsonl ends with status 'interrupted'
    });
    log(metricsTable(e.metrics));
    log(intrinsicDimLine(e.intrinsicDim));
    log(`wrote ${file}, roc.svg and scores.svg`);
    Object.assign(result, { evaluation: e, metrics: e.metrics, files: { checkpoint: training.checkpoint, results: file, roc: join(o.out, 'roc.svg'), scores: join(o.out, 'scores.svg') } });
    return result;
  } catch (err) {
    // The caller gets no result to free: the model, the features kept for the gallery and the recogniser go here.
    e?.trainFeatures?.dispose();
    result.dispose();
    throw err;
  } finally {
    unguard();
  }
}
