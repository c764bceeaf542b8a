// The wait pacer as browsers get it (scripts/build-browser.mjs puts this file in place of
// wait-pacer.ts): browsers settle GPU promises from their own event loop, so nothing spins while
// a page waits and there is nothing to pace; runtime/gpu.ts turns the pacer off there anyway.
// Same surface as wait-pacer.ts, without its estimator (about 1.2 KiB of the page's module).
export interface PacerPolicy {
  share: number;
  pick: 'shortest' | 'median';
}

export const GPU_PACING: PacerPolicy = { share: 0.8, pick: 'shortest' };
export const CPU_ADAPTER_PACING: PacerPolicy = { share: 0.95, pick: 'median' };

export class WaitPacer {
  sleptMs = 0;
  constructor(public enabled: boolean) {}
  submitted(): void {}
  async beforeWait(): Promise<void> {}
  completed(): void {}
}
