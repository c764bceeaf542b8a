// Drives bench/peer-torch.py (PyTorch CPU) as a child process speaking JSON lines, so each row's
// PyTorch figure is taken right after ours (both see the same machine load).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { PeerSpec } from './family.js';
import type { TimeOptions } from './harness.js';

export const TORCH_PYTHON = process.env.GRADMIX_BENCH_PYTHON ?? '/usr/bin/python3';

interface Reply {
  id?: number;
  ms?: number;
  cpu_ms?: number;
  repeats?: number;
  error?: string;
  ready?: boolean;
  torch?: string;
  threads?: number | number[];
}

export class TorchPeer {
  private waiting = new Map<number, (r: Reply) => void>();
  private nextId = 1;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly version: string,
    /** The thread counts each request is timed with (the faster is reported). */
    readonly threads: number[],
  ) {}

  /** Starts the peer; the reason as a string when Python or torch is missing. */
  static async start(): Promise<TorchPeer | string> {
    if (!existsSync(TORCH_PYTHON)) return `${TORCH_PYTHON} not found (set GRADMIX_BENCH_PYTHON)`;
    const child = spawn(TORCH_PYTHON, [new URL('./peer-torch.py', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<Reply | null>((resolve) => {
      lines.once('line', (l) => resolve(JSON.parse(l) as Reply));
      child.once('exit', () => resolve(null));
    });
    if (!first?.ready) return `PyTorch is not available in ${TORCH_PYTHON}: ${stderr.trim().split('\n').pop() ?? 'no output'}`;
    const peer = new TorchPeer(child, first.torch ?? '?', [first.threads ?? []].flat());
    lines.on('line', (l) => {
      const r = JSON.parse(l) as Reply;
      const done = r.id !== undefined ? peer.waiting.get(r.id) : undefined;
      if (done) {
        peer.waiting.delete(r.id!);
        done(r);
      }
    });
    child.once('exit', () => {
      for (const done of peer.waiting.values()) done({ error: `the PyTorch peer exited: ${stderr.trim().split('\n').pop() ?? ''}` });
      peer.waiting.clear();
    });
    return peer;
  }

  /**
   * Median milliseconds of the spec on PyTorch CPU and the thread count that gave it, or the error;
   * cpuMs: the median CPU time of the one-thread runs (time.thread_time), unaffected by load.
   */
  measure(spec: PeerSpec, timing: TimeOptions): Promise<{ ms: number; threads: number; cpuMs?: number } | { error: string }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, (r) => resolve(r.ms !== undefined ? { ms: r.ms, threads: Number(r.threads), cpuMs: r.cpu_ms } : { error: r.error ?? 'no answer' }));
      this.child.stdin.write(
        JSON.stringify({
          id,
          spec,
          warmup: timing.warmup,
          repeats: timing.repeats,
          min_repeats: timing.minRepeats,
          budget_ms: timing.budgetMs,
        }) + '\n',
      );
    });
  }

  stop(): void {
    this.child.stdin.end();
  }
}
