// The device run's log and its child processes: each part runs the kit's bundles in children
// under a time cap, their output teed to the console and the log.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ChildResult {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  seconds: number;
  tail: string;
  /** Everything it printed. */
  output: string;
}

export const here = dirname(fileURLToPath(import.meta.url));
let logFile = '';
/**
 * A child's output kept in the log: its first LOG_HEAD characters and its last LOG_TAIL, and all
 * children together at most LOG_TOTAL (the device call returns at most 16 MiB a file; sixteen
 * kernel shards alone could pass that at a child's full share).
 */
export const LOG_HEAD = 1 << 20;
export const LOG_TAIL = 256 << 10;
export const LOG_TOTAL = 8 << 20;
/** Characters of children's output the log holds so far (a character of this output is a byte or a few). */
let childLogged = 0;

/** Children still running, each the leader of its own process group (see runChild). */
const live = new Set<number>();
let stopsChildren = false;
/** The signal that stopped the device run, once one has: no child starts after it. */
let stoppedBy: NodeJS.Signals | null = null;
const SIGNAL_NUMBER: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

function signalGroups(signal: NodeJS.Signals): void {
  for (const pid of live) {
    try {
      process.kill(-pid, signal);
    } catch {
      // gone already
    }
  }
}

/**
 * A device run that ends or is stopped takes its children's groups with it (they are not in its
 * own group, so nothing else would): on exit, whatever the cause, SIGKILL; on SIGINT, SIGTERM or
 * SIGHUP the same signal first (a training saves its checkpoint), SIGKILL after 20 s.
 */
function stopChildrenOnExit(): void {
  if (stopsChildren) return;
  stopsChildren = true;
  process.on('exit', () => signalGroups('SIGKILL'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      stoppedBy = signal;
      signalGroups(signal);
      const code = 128 + SIGNAL_NUMBER[signal];
      const deadline = Date.now() + 20_000;
      setInterval(() => {
        if (live.size === 0 || Date.now() > deadline) process.exit(code);
      }, 100);
    });
  }
}

/** Where log() appends from now on. */
export function setLogFile(file: string): void {
  logFile = file;
}

export function log(line: string): void {
  console.log(line);
  if (logFile) appendFileSync(logFile, line + '\n');
}

/**
 * Runs one of the kit's bundles in a child process with a time cap. At the cap it is sent
 * `stopSignal` (SIGINT lets `gradmix train` save its checkpoint), then SIGKILL after `graceS`;
 * the signals go to its process group, so a PyTorch peer it started stops with it instead of
 * timing on the GPU beside the next part.
 */
export function runChild(
  label: string,
  script: string,
  args: string[],
  capS: number,
  opts: { env?: Record<string, string>; stopSignal?: NodeJS.Signals; graceS?: number; prefix?: boolean } = {},
): Promise<ChildResult> {
  const t0 = Date.now();
  if (stoppedBy) {
    log(`--- ${label}: not started (the device run was stopped by ${stoppedBy})`);
    return Promise.resolve({ code: null, signal: stoppedBy, timedOut: false, seconds: 0, tail: '', output: '' });
  }
  log(`--- ${label}: ${script} ${args.join(' ')} (cap ${capS.toFixed(0)} s)`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(here, script), ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    stopChildrenOnExit();
    if (child.pid) live.add(child.pid);
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        child.kill(signal); // the group is gone already
      }
    };
    let output = '';
    let partial = '';
    let logged = 0;
    let left = '';
    let leftOut = 0;
    const emit = (s: string) => {
      process.stdout.write(s);
      if (!logFile) return;
      // Beyond its share, the log keeps a child's last LOG_TAIL characters (appended when it ends).
      const room = Math.max(0, Math.min(LOG_HEAD - logged, LOG_TOTAL - childLogged));
      if (room > 0) appendFileSync(logFile, s.slice(0, room));
      logged += Math.min(room, s.length);
      childLogged += Math.min(room, s.length);
      if (s.length > room) {
        left = (left + s.slice(room)).slice(-LOG_TAIL);
        leftOut += s.length - room;
      }
    };
    // Children that run side by side (opts.prefix) get their label on every whole line.
    const take = (d: Buffer) => {
      const s = String(d);
      output += s;
      if (!opts.prefix) return emit(s);
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      if (lines.length) emit(lines.map((l) => `[${label}] ${l}\n`).join(''));
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(
      () => {
        timedOut = true;
        log(`--- ${label}: time budget of ${capS.toFixed(0)} s reached, sending ${opts.stopSignal ?? 'SIGTERM'}`);
        signalGroup(opts.stopSignal ?? 'SIGTERM');
        killer = setTimeout(() => signalGroup('SIGKILL'), (opts.graceS ?? 5) * 1000);
      },
      Math.max(1, capS) * 1000,
    );
    child.on('close', (code, signal) => {
      if (child.pid) live.delete(child.pid);
      if (partial) emit(`[${label}] ${partial}\n`);
      // The tail, within what the whole log may still take (the head of a later child's may be less).
      // Every child's end gets at least 16 KiB, however much the others took.
      const tail = left.slice(-Math.max(16 << 10, Math.min(LOG_TAIL, LOG_TOTAL - childLogged)));
      if (leftOut > tail.length && logFile) appendFileSync(logFile, `[... ${leftOut - tail.length} characters of ${label}'s output left out of the log ...]\n`);
      if (tail && logFile) appendFileSync(logFile, `[${label}, the end:]\n${tail}`);
      childLogged += tail.length;
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      const seconds = (Date.now() - t0) / 1000;
      log(`--- ${label}: exit ${code ?? signal} after ${seconds.toFixed(1)} s${timedOut ? ' (over budget)' : ''}`);
      done({ code, signal, timedOut, seconds, tail: output.slice(-6000), output });
    });
  });
}

export function readJson<T = Record<string, unknown>>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The last error-looking line of a child's output, for the summary. */
export function lastError(tail: string): string {
  const lines = tail
    .trim()
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('Warning: maxDynamic'));
  return (lines.reverse().find((l) => /error|fail|cannot|not found|no /i.test(l)) ?? lines[0] ?? '').slice(0, 400);
}
