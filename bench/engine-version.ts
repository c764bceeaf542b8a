// The engine a Node benchmark run measured: gradmix's package version and, in a git clone, the
// commit and whether tracked files differ from it (a run of uncommitted kernels says so).
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageVersion } from '../src/package-version.js';

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null; // not a clone (the device kit, an installed package) or no git
  }
}

export function engineVersion(): { version: string; commit: string | null; dirty?: boolean } {
  let version = 'unknown';
  try {
    version = packageVersion();
  } catch {
    // a bundle without gradmix's package.json above it
  }
  const commit = git(['rev-parse', 'HEAD']);
  if (!commit) return { version, commit: null };
  const changed = git(['status', '--porcelain', '--untracked-files=no', '--', ':/kernels', ':/runtime', ':/src', ':/bench']);
  return { version, commit, ...(changed !== null ? { dirty: changed !== '' } : {}) };
}
