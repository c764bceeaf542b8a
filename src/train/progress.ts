// A one-line progress bar on stderr: epoch, step, loss, images/s and ETA. Redraws in place on a
// terminal; elsewhere (CI logs, pipes) prints a line every few seconds instead.
import { stderrIsTerminal } from '../../runtime/platform.js';

export class Progress {
  private readonly start = Date.now();
  private lastPrint = 0;
  private done = 0;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly imagesPerStep: number,
    private readonly enabled = true,
    /** Steps already done before this run (resuming): not counted in the speed. */
    private readonly offset = 0,
  ) {
    this.tty = stderrIsTerminal();
  }

  update(step: number, epoch: number, epochs: number, loss: number): void {
    this.done = step - this.offset;
    if (!this.enabled) return;
    const now = Date.now();
    if (!this.tty && now - this.lastPrint < 5000 && step < this.total) return;
    this.lastPrint = now;
    const secs = (now - this.start) / 1000;
    const rate = this.done / Math.max(secs, 1e-3);
    const eta = rate > 0 ? (this.total - step) / rate : Infinity;
    const width = 24;
    const filled = Math.round((width * step) / this.total);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const line = `epoch ${epoch + 1}/${epochs} [${bar}] ${step}/${this.total} loss ${loss.toFixed(4)} ${(rate * this.imagesPerStep).toFixed(1)} img/s ETA ${formatDuration(eta)}`;
    process.stderr.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  finish(): void {
    if (this.enabled && this.tty) process.stderr.write('\n');
  }
}

export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs)) return '--:--';
  const s = Math.round(secs);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}
