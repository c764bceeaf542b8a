// A run folder's saved configuration (Node): <out>/config.json, else the 'config' metadata of the
// checkpoint beside it (config.json missing or damaged). What `--resume` continues from and what
// protocol and objectives compare a folder's run against.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metadataJson, readCheckpoint } from '../checkpoint/index.js';
import { CHECKPOINT_FILE } from './epoch-loop.js';
import { runConfigOf, type RunConfig } from './run-config.js';
import { fingerprintDiff } from './training-run.js';

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
 * holds no saved run. Empty `differ`: the same run. `fingerprint` is the kind of run's own
 * (training's by default, pre-training's for pretrain).
 */
export async function savedRunDiff<O extends object>(
  out: string,
  o: O,
  warn: (message: string) => void = () => undefined,
  fingerprint?: (o: O) => string,
): Promise<{ source: string; config: RunConfig; differ: string[] } | null> {
  const saved = await readRunConfig(out, warn);
  return saved && { ...saved, differ: fingerprintDiff(saved.config as unknown as O, o, fingerprint) };
}

/**
 * A fresh start replaces the run saved in its folder (checkpoint, log, results): a rerun of the
 * same settings, with a note; a run of other settings, or of the other kind (training vs
 * pre-training: `ssl` is set only by pretrain), is refused, as nothing of it would be left.
 */
export async function checkFreshStart<O extends { out: string; ssl?: unknown }>(o: O, command: 'train' | 'pretrain', fingerprint?: (o: O) => string): Promise<void> {
  const ways = `${command} into another --out, continue that run with --resume (its own settings), or delete ${o.out} first`;
  let saved: Awaited<ReturnType<typeof savedRunDiff<O>>>;
  try {
    saved = await savedRunDiff(o.out, o, (note) => console.error(`note: ${note}`), fingerprint);
  } catch (e) {
    throw new Error(`${o.out} holds a run whose settings cannot be read (${(e as Error).message}); a fresh start would replace it: ${ways}`);
  }
  if (!saved) return;
  const kind = (c: { ssl?: unknown }) => (c.ssl === undefined ? 'a training run (gradmix train)' : 'a pre-training run (gradmix pretrain)');
  if (kind(saved.config) !== kind(o)) throw new Error(`${o.out} holds ${kind(saved.config)} (${saved.source}); a fresh ${command} would replace it: ${ways}`);
  if (saved.differ.length) throw new Error(`${o.out} holds a run of other settings (${saved.source}): ${saved.differ.join(', ')}; a fresh start would replace it: ${ways}`);
  console.error(`note: ${o.out} holds a run of the same settings; training it again from the start (--resume would continue it)`);
}
