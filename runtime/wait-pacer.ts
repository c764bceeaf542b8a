// Dawn's Node binding polls its event loop without pause while any GPU promise is pending: its
// AsyncRunner re-queues wgpuInstanceProcessEvents with setImmediate until the promise settles
// (dawn/node/binding/AsyncRunner.cpp, crbug.com/dawn/1127). That loop knows nothing of the
// adapter, so the main thread spins on every adapter. On a CPU adapter (lavapipe, SwiftShader)
// the spin takes a core from the rasteriser's own worker threads, on a 2-core machine a third of
// the compute; on a GPU it burns a host core per training process (a sweep runs one per GPU).
// So the pacer is on for every adapter in Node (browsers settle GPU promises from their own event
// loop: nothing spins there) and sleeps through most of the expected GPU time before a wait
// begins:
// - the estimate is per kind of wait, keyed by the round's dispatch count rounded to a power of
//   two: a step's readback (thousands of dispatches) and a small read (a few) never share one;
//   a kind is paced only once two rounds of it were seen, so the first round (pipelines
//   compiling) is never the only guide;
// - on a GPU an early wake-up costs a little spinning on one of many host cores and a late one
//   idles the GPU, so the guess errs early: 80% of the shortest of the kind's last 3 rounds;
// - on a CPU adapter every millisecond of spin is taken from the workers doing the GPU's work
//   (on lavapipe the 80%-of-shortest rule left 170-280 ms of spin per ResNet18 w8 B32 step),
//   while a late wake-up only delays the next step by as much: 95% of the median round;
// - the sleep is counted from the round's first submit (the GPU starts while the step records);
// - a round that was already done when the sleep ended took an unknown part of the sleep, so it
//   is recorded as shorter than measured, and the estimate shrinks until the wake-up comes first.
// GRADMIX_PACE=0 turns it off.

/** How far to trust the estimate: the share of it to sleep through, and which recent round to go by. */
export interface PacerPolicy {
  share: number;
  pick: 'shortest' | 'median';
}

export const GPU_PACING: PacerPolicy = { share: 0.8, pick: 'shortest' };
export const CPU_ADAPTER_PACING: PacerPolicy = { share: 0.95, pick: 'median' };

const MIN_SLEEP_MS = 2;
/** A bound on one sleep: a lavapipe step at width 64 takes minutes, and a 10 s cap left it spinning for the rest. */
const MAX_SLEEP_MS = 120_000;
/** Rounds remembered per kind of wait. */
const HISTORY = 3;
/** A wait that ended within this share of the estimate after the wake-up: the work finished during the sleep. */
const LATE_WAKE_SHARE = 0.05;
/** What such a round is recorded as, relative to its measured duration. */
const OVERSLEPT_SCALE = 0.75;

interface Round {
  dispatches: number;
  ms: number;
}

/** The kind of a round of work: its dispatch count rounded up to a power of two. */
export function waitKind(dispatches: number): number {
  return Math.ceil(Math.log2(Math.max(1, dispatches)));
}

/** The pacer's clock and timer; tests give a simulated one. */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class WaitPacer {
  private roundStart = 0;
  private roundDispatches = 0;
  /** When the sleep before this round's wait ended (0: no sleep), and what it expected. */
  private wokeAt = 0;
  private expected = 0;
  private readonly history = new Map<number, Round[]>();
  /** Milliseconds slept so far (for benchmarks and tests). */
  sleptMs = 0;

  constructor(
    public enabled: boolean,
    private readonly policy: PacerPolicy = GPU_PACING,
    private readonly clock: PacerClock = realClock,
  ) {}

  /** Called at each submit with the number of dispatches it carried. */
  submitted(dispatches: number): void {
    if (this.roundDispatches === 0) this.roundStart = this.clock.now();
    this.roundDispatches += dispatches;
  }

  /** The expected duration of the pending round from its first submit, or 0 when unknown. */
  estimate(): number {
    const rounds = this.history.get(waitKind(this.roundDispatches));
    if (!rounds || rounds.length < 2) return 0;
    const scaled = rounds.map((r) => r.ms * Math.min(1, this.roundDispatches / r.dispatches)).sort((a, b) => a - b);
    // The median of 2 is the shorter one: a slow first round (compiling) is not the guide.
    return this.policy.pick === 'shortest' ? scaled[0] : scaled[Math.floor((scaled.length - 1) / 2)];
  }

  /** Sleeps through most of the expected remaining GPU time of the pending work. */
  async beforeWait(): Promise<void> {
    this.wokeAt = 0;
    if (!this.enabled || this.roundDispatches === 0) return;
    const expected = this.estimate();
    const sleep = Math.min(MAX_SLEEP_MS, this.policy.share * expected - (this.clock.now() - this.roundStart));
    if (sleep < MIN_SLEEP_MS) return;
    await this.clock.sleep(sleep);
    this.sleptMs += sleep;
    this.wokeAt = this.clock.now();
    this.expected = expected;
  }

  /** Called when every submitted command has completed. */
  completed(): void {
    if (this.roundDispatches === 0) return;
    const now = this.clock.now();
    let ms = now - this.roundStart;
    if (this.wokeAt > 0 && now - this.wokeAt <= LATE_WAKE_SHARE * this.expected) ms *= OVERSLEPT_SCALE;
    const kind = waitKind(this.roundDispatches);
    const rounds = this.history.get(kind) ?? [];
    rounds.push({ dispatches: this.roundDispatches, ms });
    if (rounds.length > HISTORY) rounds.shift();
    this.history.set(kind, rounds);
    this.roundDispatches = 0;
    this.wokeAt = 0;
  }
}
