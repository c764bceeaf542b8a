// Reading data files with errors that name the file: missing paths, unreadable files and
// gzip streams (detected by their magic bytes, so `x.gz` and a renamed `x` both work).
import { readFile, readdir, stat } from 'node:fs/promises';
import { existsSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from './dataset.js';

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file';
  if (e?.code === 'EACCES') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a folder, expected a file';
  return e?.message ?? String(err);
}

/** The bytes of `path`, gunzipped when they start with the gzip magic 1f 8b. */
export async function readDataFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new DataError(`${path}: cannot read (${describe(err)})`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new DataError(`${path}: corrupt gzip data (${(err as Error).message})`);
    }
  }
  return bytes;
}

/** Throws unless `dir` is an existing folder; `what` says what it should hold. */
export async function requireFolder(dir: string, what: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    throw new DataError(`${dir}: ${describe(err)} (expected ${what})`);
  }
  if (!isDir) throw new DataError(`${dir}: not a folder (expected ${what})`);
}

/** The first of `names` (each also tried with .gz appended) that exists in `dir`, or null. */
export function findFile(dir: string, names: readonly string[]): string | null {
  for (const name of names) {
    for (const candidate of [name, `${name}.gz`]) {
      const p = join(dir, candidate);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

/** Like findFile, but a missing file is an error naming the folder and what was looked for. */
export function requireFile(dir: string, names: readonly string[], what: string): string {
  const found = findFile(dir, names);
  if (!found) throw new DataError(`${dir}: no ${names[0]} (or .gz) found; expected ${what}`);
  return found;
}

/** `dir` itself when it holds `marker`, else the sub-folder `sub` when that does (archives unpack into one). */
export function resolveRoot(dir: string, sub: string, marker: string): string {
  if (!existsSync(join(dir, marker)) && existsSync(join(dir, sub, marker))) return join(dir, sub);
  return dir;
}

/**
 * Names starting with a dot are passed over in image trees: tools leave them beside the images
 * (.ipynb_checkpoints/, .DS_Store, macOS's ._x.jpg resource forks, which are no images).
 */
export function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/**
 * Whether a folder entry is a folder, following a symbolic link as torchvision's ImageFolder does
 * (a class folder linked from elsewhere counts; a dangling link does not).
 */
export async function isFolderEntry(dir: string, e: Dirent): Promise<boolean> {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  return (await stat(join(dir, e.name)).catch(() => null))?.isDirectory() ?? false;
}

/** Names of the entries of `dir` that are folders (or links to folders), sorted by UTF-16 code unit. */
export async function subfolders(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new DataError(`${dir}: cannot list (${describe(err)})`);
  }
  const folders: string[] = [];
  for (const e of entries) if (!isHidden(e.name) && (await isFolderEntry(dir, e))) folders.push(e.name);
  return folders.sort();
}

/** Text lines of a small optional file, or null when it does not exist. */
export async function readLinesIfPresent(path: string): Promise<string[] | null> {
  if (!existsSync(path)) return null;
  const text = new TextDecoder().decode(await readDataFile(path));
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
