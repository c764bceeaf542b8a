// The run folder of `gradmix train` / `pretrain` belongs to one run at a time: a lock file holds
// the owner's pid, host and start time. A second run on the same folder fails at once, naming the
// folder and the other process; the lock of a process that no longer runs (killed with SIGKILL, a
// crash) is taken over with a message. A lock appears whole (written aside, then hard-linked into
// place), and runs that find the same stale lock at once take it over one at a time, each
// checking it is still the lock it judged, so exactly one of them wins. The folder itself is made
// without Node's recursive mkdir, which loops forever under /proc and similar pseudo file systems.
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describeFsError } from '../checkpoint/files.js';

export const LOCK_FILE = 'run.lock';

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  command?: string;
  /** Random per process: tells this process from an earlier one that had the same pid (a restarted container is pid 1 again). */
  token?: string;
  /** The scheduler job of a sweep task (GRADMIX_SWEEP_JOB, set by the scripts `gradmix sweep slurm|k8s` write). */
  job?: string;
}

/** This process's lock token. */
const TOKEN = randomUUID();

/** Whether a lock written on this host names this very process (not an earlier one with its pid). */
function isMine(o: LockOwner | null): boolean {
  return o !== null && o.pid === process.pid && o.token === TOKEN;
}

/** Creates `dir` and its missing parents one level at a time; errors name the folder and the cause. */
export function makeFolder(dir: string, what = 'output folder'): void {
  const full = resolve(dir);
  const missing: string[] = [];
  for (let d = full; ; d = dirname(d)) {
    let isDir: boolean;
    try {
      isDir = statSync(d).isDirectory();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw describeFsError(e, dir, `use it as the ${what}`);
      missing.unshift(d);
      if (d === dirname(d)) break;
      continue;
    }
    if (!isDir) throw new Error(`${dir}: cannot use it as the ${what}: ${d} is a file, not a folder`);
    break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      const at = d === full ? '' : ` (at ${d})`;
      // The parent exists (it was just checked or made), so ENOENT means a pseudo file system such as /proc.
      if (code === 'ENOENT') throw new Error(`${dir}: cannot create the ${what}${at}: the file system of ${dirname(d)} does not allow new folders (ENOENT)`);
      throw describeFsError(e, dir, `create the ${what}${at}`);
    }
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/** The owner a lock's text names, or null when it is unreadable or half written. */
function parseLockOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isSafeInteger(o.pid) && typeof o.host === 'string' ? o : null;
  } catch {
    return null; // half written by a process killed at that moment
  }
}

/** The owner a lock file names, or null when it is missing, unreadable or half written. */
export function readLockOwner(file: string): LockOwner | null {
  try {
    return parseLockOwner(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function describeOwner(o: LockOwner): string {
  return `pid ${o.pid} on ${o.host}, started ${o.started}${o.command ? `: ${o.command}` : ''}`;
}

/** Locks this process holds, by folder, with how many holders each (train() and its epoch loop both take it). */
const held = new Map<string, number>();

/** A takeover guard older than this was left by a process that died inside the takeover (it lasts milliseconds). */
const GUARD_STALE_MS = 30_000;
/** An unreadable lock younger than this may be one being written (where hard links are missing): wait for it. */
const WRITING_MS = 2_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A lock file's text and age, or null when there is none. */
function readLock(file: string): { text: string; ageMs: number } | null {
  try {
    const ageMs = Date.now() - statSync(file).mtimeMs;
    return { text: readFileSync(file, 'utf8'), ageMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Publishes the lock `file` whole from the written `draft` (a hard link fails when the file
 * exists, and readers never see it half written); false when another lock is there. File
 * systems without hard links get an exclusive create and a write instead.
 */
function publishLock(draft: string, file: string, text: string): boolean {
  // The lock holder's start clears leftover temporaries, a live draft of ours among them: again.
  if (!existsSync(draft)) writeFileSync(draft, text);
  try {
    linkSync(draft, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // No hard links here (FAT/exFAT, some FUSE and SMB mounts answer EPERM, ENOTSUP, EISDIR or
    // EACCES): an exclusive create, unless the folder itself is the problem (the draft is gone).
    if (code === 'ENOENT' || !existsSync(draft)) throw e;
  }
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Replaces the stale lock `file`, whose text was `stale`, with `draft`, unless another process
 * changed it first: 'taken', or 'changed' (look again), or 'busy' (another process is taking it
 * over). Processes that find the same stale lock at once take it over one at a time under a
 * guard file, and each checks that the lock is still the one it judged, so only one of them wins.
 */
function replaceStaleLock(draft: string, file: string, stale: string, dir: string): 'taken' | 'changed' | 'busy' {
  const guard = `${file}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw describeFsError(e, dir, 'lock the run folder');
    let age: number;
    try {
      age = Date.now() - statSync(guard).mtimeMs;
    } catch {
      return 'changed'; // released just now
    }
    if (age > GUARD_STALE_MS) throw new Error(`${dir}: a run that was taking over the lock ${file} stopped part-way; if no other gradmix run uses ${dir}, delete ${guard}`);
    return 'busy';
  }
  closeSync(fd);
  try {
    if (readLock(file)?.text !== stale) return 'changed';
    renameSync(draft, file); // atomic: the stale lock is never missing, so no third run slips in
    return 'taken';
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * Takes the lock of run folder `dir` (which must exist) for this process; returns its release.
 * Throws when another live process holds it; takes over a lock whose process is gone. Taking a
 * lock this process already holds is allowed (the last release frees it).
 */
export function acquireRunLock(dir: string, log: (message: string) => void = (m) => console.error(m), instead = 'choose another --out'): () => void {
  const file = join(dir, LOCK_FILE);
  const key = resolve(dir);
  const holders = held.get(key);
  if (holders && isMine(readLockOwner(file))) {
    held.set(key, holders + 1);
    return once(() => held.set(key, held.get(key)! - 1));
  }
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command: process.argv.slice(2).join(' ') || undefined,
    token: TOKEN,
    job: process.env.GRADMIX_SWEEP_JOB || undefined,
  };
  const text = JSON.stringify(me) + '\n';
  // Named like the checkpoint writer's temporaries, so a draft left by a killed process is removed
  // with them when the next run starts (removeOrphanTemps).
  const draft = join(dir, `.${LOCK_FILE}.${process.pid}.${TOKEN.replace(/-/g, '').slice(0, 12)}.tmp`);
  try {
    writeFileSync(draft, text);
  } catch (e) {
    throw describeFsError(e, dir, 'lock the run folder');
  }
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 200) {
        const guard = existsSync(`${file}.takeover`) ? `; ${file}.takeover is another run's takeover in progress (a stopped one is stale after 30 s)` : '';
        throw new Error(`${dir}: could not take the run lock ${file} (other runs keep taking it${guard})`);
      }
      let published: boolean;
      let found: { text: string; ageMs: number } | null;
      try {
        published = publishLock(draft, file, text);
        found = published ? null : readLock(file);
      } catch (e) {
        throw describeFsError(e, dir, 'lock the run folder');
      }
      if (published) break;
      if (found === null) continue; // released just now
      const owner = parseLockOwner(found.text);
      if (!owner && found.ageMs < WRITING_MS) {
        sleepSync(20);
        continue;
      }
      if (owner && owner.host !== me.host) {
        throw new Error(`${dir} is in use by another gradmix run (${describeOwner(owner)}); if that run is over, delete ${file}, or ${instead}`);
      }
      // A lock naming this pid but not this process is an earlier process's: pids are reused, and
      // a retried container (an Indexed Job's pod, same hostname) runs as pid 1 again.
      const earlierSelf = owner !== null && owner.pid === process.pid && owner.token !== TOKEN;
      if (owner && !earlierSelf && isRunning(owner.pid)) {
        throw new Error(`${dir} is in use by another gradmix run (${describeOwner(owner)}); wait for it to finish or ${instead}`);
      }
      const outcome = replaceStaleLock(draft, file, found.text, dir);
      if (outcome === 'taken') {
        log(owner ? `taking over the lock of ${dir} from a run that is no longer running (${describeOwner(owner)})` : `taking over the unreadable lock file ${file}`);
        break;
      }
      if (outcome === 'busy') sleepSync(5);
    }
  } finally {
    rmSync(draft, { force: true }); // left only after a hard link (a rename consumed it)
  }
  held.set(key, 1);
  return once(() => {
    const left = held.get(key)! - 1;
    if (left > 0) return void held.set(key, left);
    held.delete(key);
    // Only our own lock: a run that took over a lock we lost must keep it.
    if (isMine(readLockOwner(file))) rmSync(file, { force: true });
  });
}

/** Exit statuses of a run stopped by a signal before or after its epoch loop (128 + the signal's number, as a shell reports them). */
export const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Removes the lock of `out` when this process wrote it, whatever its count of nested holders: for
 * a process about to exit (a signal outside training). A lock naming this pid on this host is this
 * process's, as no other live process has its pid and a takeover from elsewhere would name the other host.
 */
export function dropOwnLock(out: string): void {
  const file = join(out, LOCK_FILE);
  const owner = readLockOwner(file);
  if (owner && owner.pid === process.pid && owner.host === hostname()) rmSync(file, { force: true });
}

/** How a command names the folder it locks, for the errors (default: train's --out). */
export interface RunFolderRole {
  /** What the folder is, e.g. '--out folder'. */
  folder: string;
  /** What else the user can do when another run holds it, e.g. 'choose another --out'. */
  instead: string;
}

/**
 * Runs `fn` with the run folder `dir` made and locked: before the GPU starts and the data load,
 * so a second run on the same folder fails at once.
 */
export async function withRunFolder<T>(dir: string, fn: () => Promise<T>, role: RunFolderRole = { folder: '--out folder', instead: 'choose another --out' }): Promise<T> {
  makeFolder(dir, role.folder);
  const release = acquireRunLock(dir, undefined, role.instead);
  try {
    return await fn();
  } finally {
    release();
  }
}
