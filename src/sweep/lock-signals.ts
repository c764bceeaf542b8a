// A planned run's lock must not outlive its process: a lock left on shared storage by a task killed
// with SIGTERM (a scheduler's time limit, a pod's eviction) keeps every later task of another job
// or host off the run for good (the run lock leaves other hosts' locks alone). Node's default on
// SIGTERM and SIGINT is to die at once, skipping every finally; only the epoch loop listens, and
// only while it trains. So while a planned run holds its lock, a signal that arrives outside the
// epoch loop (data loading, autotuning, evaluation) releases the lock and exits 143 (SIGTERM) or
// 130 (SIGINT), as a shell reports those signals; inside it, the epoch loop's own handler stops
// after the step and saves a checkpoint, and its finally releases the lock as usual.
import { SIGNAL_EXIT, dropOwnLock } from '../train/run-lock.js';
import { trainingStopsOnSignal } from '../train/epoch-loop.js';

/** Guards the lock of `out` against signals and process.exit until the returned function is called. */
export function releaseLockOnExit(out: string): () => void {
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    // The epoch loop handles it: it saves a checkpoint and releases in order.
    if (trainingStopsOnSignal()) return;
    console.error(`\n${signal === 'SIGTERM' ? 'terminated' : 'interrupted'} outside training: the run lock of ${out} is released; the run resumes from its last checkpoint`);
    dropOwnLock(out);
    process.exit(SIGNAL_EXIT[signal]);
  };
  // process.exit from anywhere (the epoch loop's second Ctrl-C) skips the finally that releases.
  const onExit = () => dropOwnLock(out);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('exit', onExit);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('exit', onExit);
  };
}
