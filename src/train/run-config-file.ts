// A run folder's saved configuration (Node): <out>/config.json, else the 'config' metadata of the
// checkpoint beside it (config.json missing or damaged). What `--resume` continues from and what
// protocol and objectives compare a folder's run against.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metadataJson, readCheckpoint } from '../checkpoint/index.js';
import { CHECKPOINT_FILE } from './epoch-loop.js';
import { runConfigOf, type RunConfig } from './run-config.js';
import { fingerprintDiff } from './training-run.js';
import type { TrainOptions } from './options.js';

export interface SavedRunConfig {
  /** Where it was read: the config.json, or the checkpoint's metadata. */
  source: string;
  config: RunConfig;
}

/**
 * The run folder's saved configuration, or null when the folder has none. A damaged config.json is
 * passed over for the checkpoint's copy; `warn` hears about it (a command prints it).
 */
export async function readRunConfig(out: string, warn: (message: string) => void = () => undefined): Promise<SavedRunConfig | null> {
  const file = join(out, 'config.json');
  const checkpoint = join(out, CHECKPOINT_FILE);
  if (existsSync(file)) {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (!saved || typeof saved !== 'object' || Array.isArray(saved)) throw new Error('not a JSON object');
      return { source: file, config: runConfigOf(saved, '') };
    } catch (e) {
      // Without a checkpoint nothing was saved to continue: the run starts afresh from the flags given.
      const instead = existsSync(checkpoint) ? `using the configuration saved in ${checkpoint}` : 'no checkpoint was saved either, so the run starts from the flags given';
      warn(`${file} is damaged (${(e as Error).message.replace(/^: |; the file is damaged$/g, '')}); ${instead}`);
    }
  }
  if (!existsSync(checkpoint)) return null;
  const source = `${checkpoint} (metadata 'config')`;
  const saved = metadataJson<unknown>(await readCheckpoint(checkpoint), 'config');
  return saved ? { source, config: runConfigOf(saved, source) } : null;
}

/**
 * The settings, by flag, in which the run saved in `out` differs from `o` by the fingerprint a
 * resume checks ("--width 4 (the run's width: 2)"), with where they were read; null when the folder
 * holds no saved run. Empty `differ`: the same run.
 */
export async function savedRunDiff(out: string, o: TrainOptions, warn: (message: string) => void = () => undefined): Promise<{ source: string; differ: string[] } | null> {
  const saved = await readRunConfig(out, warn);
  return saved && { source: saved.source, differ: fingerprintDiff(saved.config as TrainOptions, o) };
}
