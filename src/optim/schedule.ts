// Cosine annealing with a floor: PyTorch's CosineAnnealingLR in closed form,
//   lr(t) = lrMin + (lrMax - lrMin) * (1 + cos(pi * t / T)) / 2,   t = 0..T,
// held at lrMin after T (PyTorch's closed form would rise again; training schedules want the floor).

/** The learning rate after `t` of `totalSteps` steps. */
export function cosineLr(t: number, totalSteps: number, lrMax: number, lrMin = 0): number {
  if (!(Number.isInteger(totalSteps) && totalSteps > 0)) throw new Error(`cosineLr: totalSteps must be a positive integer, got ${totalSteps}`);
  if (!(t >= 0)) throw new Error(`cosineLr: step ${t} is negative`);
  const progress = Math.min(t, totalSteps) / totalSteps;
  return lrMin + ((lrMax - lrMin) * (1 + Math.cos(Math.PI * progress))) / 2;
}

export interface CosineScheduleOptions {
  /** Learning rate at step 0. */
  lrMax: number;
  /** The floor, reached after totalSteps (default 0). */
  lrMin?: number;
  /** Steps from lrMax down to lrMin (PyTorch's T_max). */
  totalSteps: number;
}

/** Anything with a settable learning rate (Adam, SGD). */
export interface HasLr {
  lr: number;
}

/**
 * Drives an optimiser's lr like torch's CosineAnnealingLR: the constructor sets lr(0); each
 * step(), called once after each optimiser step (or epoch), advances t and sets lr(t).
 */
export class CosineSchedule {
  /** Steps taken so far (PyTorch's last_epoch). */
  t = 0;
  readonly lrMax: number;
  readonly lrMin: number;
  readonly totalSteps: number;

  constructor(
    readonly optimizer: HasLr,
    options: CosineScheduleOptions,
  ) {
    this.lrMax = options.lrMax;
    this.lrMin = options.lrMin ?? 0;
    this.totalSteps = options.totalSteps;
    if (!(this.lrMin >= 0 && this.lrMax >= this.lrMin)) throw new Error(`CosineSchedule: need 0 <= lrMin <= lrMax, got lrMin ${this.lrMin}, lrMax ${this.lrMax}`);
    this.apply();
  }

  get lr(): number {
    return cosineLr(this.t, this.totalSteps, this.lrMax, this.lrMin);
  }

  step(): void {
    this.t++;
    this.apply();
  }

  stateDict(): { t: number } {
    return { t: this.t };
  }

  loadStateDict(s: { t: number }): void {
    if (!(Number.isInteger(s.t) && s.t >= 0)) throw new Error(`CosineSchedule.loadStateDict: bad step ${s.t}`);
    this.t = s.t;
    this.apply();
  }

  private apply(): void {
    this.optimizer.lr = this.lr;
  }
}
