// The file-system half of checkpointing (Node only; the format code in safetensors.ts and
// checkpoint.ts is bytes in/out). node:fs is imported on first use, so importing this module
// costs browsers nothing; calling it there is an error.
import { decodeSafetensors, encodeSafetensors, type HostTensor, type SafetensorsContents } from './safetensors.js';
import { applyCheckpoint, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type DecodedCheckpoint, type StateDict } from './checkpoint.js';
import type { Optimizer } from '../optim/optimizer.js';

type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');

async function node(): Promise<{ fs: Fs; path: Path }> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  return { fs, path };
}

/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder, are flushed to
 * disk (fsync) and renamed over `file`, so a crash leaves either the old file or the new one.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const { fs, path } = await node();
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const handle = await fs.open(tmp, 'wx');
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
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

async function readBytes(file: string): Promise<Uint8Array> {
  const { fs } = await node();
  return new Uint8Array(await fs.readFile(file));
}

export async function readSafetensors(file: string): Promise<SafetensorsContents> {
  return decodeSafetensors(await readBytes(file), file);
}

export async function writeSafetensors(file: string, tensors: Iterable<[string, HostTensor]>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/** Saves a model state dict (and optimiser state) as a .safetensors checkpoint, atomically. */
export async function saveCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  await writeFileAtomic(file, await encodeCheckpoint(checkpoint));
}

/** Reads and validates a checkpoint without touching any model. */
export async function readCheckpoint(file: string): Promise<DecodedCheckpoint> {
  return decodeCheckpoint(await readBytes(file), file);
}

/**
 * Loads a checkpoint into a model's state dict (its live tensors, e.g. `model.stateDict()`) and,
 * if given, an optimiser; returns the decoded file (its metadata, for example).
 */
export async function loadCheckpoint(
  file: string,
  into: { model: StateDict; optimizer?: Optimizer<{ lr: number }>; strict?: boolean },
): Promise<DecodedCheckpoint> {
  const decoded = await readCheckpoint(file);
  applyCheckpoint(decoded, into);
  return decoded;
}
