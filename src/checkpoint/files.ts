// The file-system half of checkpointing (Node only; the format code in safetensors.ts and
// checkpoint.ts is bytes in/out). node:fs is imported on first use, so importing this module
// costs browsers nothing; calling it there is an error.
import { decodeSafetensors, encodeSafetensors, type HostTensor, type SafetensorsContents } from './safetensors.js';
import { applyCheckpoint, decodeCheckpoint, encodeCheckpoint, refreshChecksum, type Checkpoint, type DecodedCheckpoint, type StateDict } from './checkpoint.js';
import type { Optimizer } from '../optim/optimizer.js';

type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');

async function node(): Promise<{ fs: Fs; path: Path }> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  return { fs, path };
}

/** The stages of an atomic write that the fault-injection tests interrupt. */
export type WriteStage = 'partial' | 'written';

/**
 * A seam for the fault-injection tests (test/fault-injection.test.ts): called with the stage of
 * each atomic write (after half the bytes, then after all of them before the rename); it may throw
 * (a full disk) or kill the process. Null in normal use.
 */
export const writeFaults: { hook: ((stage: WriteStage, file: string) => void | Promise<void>) | null } = { hook: null };

/** Temporary files of writeFileAtomic: `.<name>.<pid>.<random>.tmp` beside the file. */
export const TEMP_FILE = /^\..+\.\d+\.[0-9a-z]+\.tmp$/;

/** What an fs error means, with the path, for messages a user can act on. */
export function describeFsError(e: unknown, path: string, doing: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'no such file or folder',
    EISDIR: 'is a folder, not a file',
    ENOTDIR: 'a part of the path is not a folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on the device (disk full)',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
    EIO: 'input/output error',
  };
  return new Error(`${path}: cannot ${doing}: ${(code && why[code]) ?? (e as Error).message}${code ? ` (${code})` : ''}`);
}

/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder, are flushed to
 * disk (fsync) and renamed over `file`, so a crash leaves either the old file or the new one (and
 * at worst an orphan temporary, which removeOrphanTemps() clears).
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const { fs, path } = await node();
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let handle: Awaited<ReturnType<Fs['open']>>;
  try {
    handle = await fs.open(tmp, 'wx');
  } catch (e) {
    throw describeFsError(e, file, 'write');
  }
  try {
    try {
      const half = bytes.subarray(0, bytes.length >> 1);
      await handle.writeFile(half);
      await writeFaults.hook?.('partial', file);
      await handle.writeFile(bytes.subarray(half.length));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await writeFaults.hook?.('written', file);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw describeFsError(e, file, 'write (the previous file, if any, is untouched)');
  }
  // Make the rename itself durable; directories cannot be opened for fsync on every platform.
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // best effort
  }
}

/** writeFileAtomic of `value` as indented JSON (NaN and Infinity, which JSON lacks, become null). */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n'));
}

/** Removes temporaries that a save killed mid-way left in `dir`; returns their names. */
export async function removeOrphanTemps(dir: string): Promise<string[]> {
  const { fs, path } = await node();
  const names = (await fs.readdir(dir)).filter((n) => TEMP_FILE.test(n));
  for (const n of names) await fs.rm(path.join(dir, n), { force: true });
  return names;
}

/** A checkpoint file's bytes; a read error names the file. */
export async function readCheckpointBytes(file: string): Promise<Uint8Array> {
  const { fs } = await node();
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (e) {
    throw describeFsError(e, file, 'read the checkpoint');
  }
}

export async function readSafetensors(file: string): Promise<SafetensorsContents> {
  return decodeSafetensors(await readCheckpointBytes(file), file);
}

/** Writes a .safetensors file atomically; a checkpoint's checksum, if the metadata has one, is recomputed for the new contents. */
export async function writeSafetensors(file: string, tensors: Iterable<[string, HostTensor]>, metadata?: Record<string, string>): Promise<void> {
  const list = [...tensors];
  await writeFileAtomic(file, encodeSafetensors(list, metadata && refreshChecksum(list, metadata)));
}

/** Saves a model state dict (and optimiser state) as a .safetensors checkpoint, atomically. */
export async function saveCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  await writeFileAtomic(file, await encodeCheckpoint(checkpoint));
}

/** Reads and validates a checkpoint without touching any model. */
export async function readCheckpoint(file: string): Promise<DecodedCheckpoint> {
  return decodeCheckpoint(await readCheckpointBytes(file), file);
}

/**
 * Loads a checkpoint into a model's state dict (its live tensors, e.g. `model.stateDict()`) and,
 * if given, an optimiser; returns the decoded file (its metadata, for example).
 */
export async function loadCheckpoint(file: string, into: { model: StateDict; optimizer?: Optimizer<{ lr: number }>; strict?: boolean }): Promise<DecodedCheckpoint> {
  const decoded = await readCheckpoint(file);
  applyCheckpoint(decoded, into);
  return decoded;
}
