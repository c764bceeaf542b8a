// Dawn's Node binding polls its event loop without pause while any GPU promise is pending. On a
// CPU adapter (lavapipe, SwiftShader) that spin takes a core from the rasteriser's own worker
// threads, on a 2-core machine half the compute. The pacer sleeps through most of the expected
// GPU time before a wait begins: it remembers how long the last round of work took (from its
// first submit to completion) and how many dispatches it held, and scales that to the work now
// pending. It never sleeps past 80% of that estimate, so a wrong guess costs little.

const SHARE = 0.8;
const MIN_SLEEP_MS = 2;
const MAX_SLEEP_MS = 10_000;

export class WaitPacer {
  private roundStart = 0;
  private roundDispatches = 0;
  private last = { dispatches: 0, ms: 0 };

  constructor(private readonly enabled: boolean) {}

  /** Called at each submit with the number of dispatches it carried. */
  submitted(dispatches: number): void {
    if (this.roundDispatches === 0) this.roundStart = performance.now();
    this.roundDispatches += dispatches;
  }

  /** Sleeps through most of the expected remaining GPU time of the pending work. */
  async beforeWait(): Promise<void> {
    if (!this.enabled || this.roundDispatches === 0 || this.last.dispatches === 0) return;
    const expected = this.last.ms * Math.min(1, this.roundDispatches / this.last.dispatches);
    const sleep = Math.min(MAX_SLEEP_MS, SHARE * expected - (performance.now() - this.roundStart));
    if (sleep >= MIN_SLEEP_MS) await new Promise((resolve) => setTimeout(resolve, sleep));
  }

  /** Called when every submitted command has completed. */
  completed(): void {
    if (this.roundDispatches === 0) return;
    this.last = { dispatches: this.roundDispatches, ms: performance.now() - this.roundStart };
    this.roundDispatches = 0;
  }
}
