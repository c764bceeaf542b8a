// A saved run's configuration (src/train/run-config.ts: what a run folder or a checkpoint says
// about the run that wrote it, typed) applied to a command's flags:
// - dataChoice: the protocol, split, data folder and own-data settings a checkpoint was trained
//   on, the fallback of every command that takes --checkpoint (eval, corrupt, probe, ood);
// - resumeFrom: `--resume` continues a run from its own configuration (<out>/config.json, else the
//   checkpoint's 'config' metadata); flags given beside it apply on top, and one that changes what
//   the run is (its fingerprint) is an error naming that flag, as is a folder holding no run;
// - checkSameRun: commands that resume implicitly (protocol, objectives) name each setting that
//   differs from the run already in a folder, instead of failing on its fingerprint later.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { FOLDER_PROTOCOL, PROTOCOL_NAMES, protocolInfo } from '../data/index.js';
import { CHECKPOINT_FILE } from '../train/epoch-loop.js';
import type { TrainOptions } from '../train/options.js';
import type { RunConfig } from '../train/run-config.js';
import { readRunConfig, savedRunDiff } from '../train/run-config-file.js';
import { UsageError, type FlagValues } from './args.js';
import { flagOf, showOption } from '../train/option-flags.js';

/** The own-data part of a data choice (the 'folder' protocol): flags of eval, or a saved run's. */
export interface FolderChoice {
  /** How the run shrank its images (a saved run's; flags do not choose it). */
  antialias?: boolean;
  known?: string[];
  unknownDataDir?: string;
  valFraction?: number;
  imageSize?: number;
  channels?: 1 | 3;
}

export interface DataChoice extends FolderChoice {
  protocol: string;
  split: number;
  dataDir?: string;
}

/** The flags that describe your own image folder, which a built-in protocol would silently ignore. */
const OWN_DATA_FLAG_NAMES = ['known', 'unknown-data', 'val-fraction', 'size', 'channels'];

/** Refuses own-data flags given for a built-in protocol (it has its own images and splits), naming them. */
export function refuseOwnDataFlags(v: FlagValues, protocol: string): void {
  if (protocol === FOLDER_PROTOCOL) return;
  const given = OWN_DATA_FLAG_NAMES.filter((name) => v[name] !== undefined).map((name) => `--${name}`);
  if (given.length === 0) return;
  throw new UsageError(`${given.join(', ')}: for your own image folder (--data with --known); ${protocol} has its own images and splits, so drop ${given.length > 1 ? 'them' : 'it'}`);
}

/**
 * The data a command evaluates a checkpoint on: --protocol, --split and --data when given (--known
 * alone: your own image folder, with `own`'s other folder flags), else the checkpoint's own (its
 * split, folder and own-data settings only when it is the same protocol), else mnist-mini split 0.
 * The split is checked against the protocol's splits, before anything loads; own data needs its
 * folder, and may not change the checkpoint's --known order or --val-fraction (that split is its own).
 */
export function dataChoice(v: FlagValues, run: RunConfig, own: FolderChoice = {}): DataChoice {
  const protocol = (v.protocol as string | undefined) ?? (own.known !== undefined ? FOLDER_PROTOCOL : undefined) ?? run.protocol ?? 'mnist-mini';
  const same = protocol === run.protocol;
  const split = v.split !== undefined ? Number(v.split) : ((same ? run.split : undefined) ?? 0);
  const dataDir = (v.data as string | undefined) ?? (same ? recordedFolder(run.dataDir, '--data') : undefined);
  if ((PROTOCOL_NAMES as readonly string[]).includes(protocol)) {
    const splits = protocolInfo(protocol).knownSplits.length;
    if (split >= splits) throw new UsageError(`--split must be 0..${splits - 1} for ${protocol}, got ${split}`);
  }
  if (protocol !== FOLDER_PROTOCOL) {
    refuseOwnDataFlags(v, protocol);
    return { protocol, split, dataDir };
  }
  if (split !== 0) throw new UsageError(`--split ${split}: an image folder has one split (its held-out images); drop --split`);
  if (!dataDir) throw new UsageError('--data is required with --known: the image folder whose class folders --known names');
  const saved: FolderChoice = same ? run : {};
  // The held-out images of each class are drawn by its position in --known and by the fraction:
  // another order or fraction than the checkpoint trained with would test on its training images.
  if (own.known && saved.known && own.known.join() !== saved.known.join()) {
    throw new UsageError(
      `--known ${own.known.join(',')} differs from the checkpoint's ${saved.known.join(',')}: its held-out test images would then include images it trained on; leave --known out to evaluate on the checkpoint's split`,
    );
  }
  if (own.valFraction !== undefined && saved.valFraction !== undefined && own.valFraction !== saved.valFraction) {
    throw new UsageError(
      `--val-fraction ${own.valFraction} differs from the checkpoint's ${saved.valFraction}: its held-out test images would then include images it trained on; leave --val-fraction out`,
    );
  }
  return {
    protocol,
    split,
    dataDir,
    known: own.known ?? saved.known,
    unknownDataDir: own.unknownDataDir ?? recordedFolder(saved.unknownDataDir, '--unknown-data'),
    valFraction: own.valFraction ?? saved.valFraction,
    imageSize: own.imageSize ?? saved.imageSize,
    channels: own.channels ?? saved.channels,
    antialias: saved.antialias,
  };
}

/**
 * A folder the checkpoint's run recorded, checked here: runs record them absolute, but an older
 * run kept them as typed, relative to where it trained, and from elsewhere the loader's own error
 * would not say where the path came from or which flag replaces it.
 */
function recordedFolder(folder: string | undefined, flag: string): string | undefined {
  if (folder === undefined || existsSync(folder)) return folder;
  const relativeTo = isAbsolute(folder) ? '' : `, relative to the directory it was trained in (here: ${resolve(folder)})`;
  throw new UsageError(`${folder}: no such folder; it is the data folder the checkpoint's run recorded${relativeTo}; pass ${flag} <folder>`);
}

/**
 * Options that do not change what a run is: a resume may give other values for them. The paths
 * among them (data folders, the attention model) may move between sessions.
 */
const FREE_ON_RESUME = new Set(['out', 'resume', 'progress', 'pictures', 'evaluate', 'k', 'score', 'dataDir', 'unknownDataDir', 'attentionModel', 'tpr', 'probeEpochs']);

/** The error of a typed `--resume` in `out` where no run was saved (it never starts a run of defaults). */
export function noRunToResume(out: string, why = ''): UsageError {
  return new UsageError(`${out} holds no run to resume${why}; drop --resume to start a new run there`);
}

/**
 * The options of `--resume` in `out`: the saved configuration with the given options on top
 * (undefined = not given). A given option that changes what the run is throws a UsageError naming
 * its flag; so does a folder with no run saved (a mistyped --out must not start a run of the
 * defaults). The library's `resume: true` (protocol, sweep) still continues or starts.
 */
export async function resumeFrom<T extends object>(out: string, given: Partial<T>): Promise<Partial<T>> {
  const notes: string[] = [];
  const saved = await readRunConfig(out, (note) => notes.push(note));
  if (!saved) throw noRunToResume(out, existsSync(join(out, 'config.json')) ? ' (its config.json is damaged and no checkpoint was saved)' : '');
  for (const note of notes) console.error(`note: ${note}`);
  const config: Record<string, unknown> = saved.config;
  const base = { ...config };
  for (const key of ['out', 'resume', 'progress']) delete base[key];
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined || FREE_ON_RESUME.has(key) || !(key in config)) continue;
    if (JSON.stringify(value) !== JSON.stringify(config[key])) {
      throw new UsageError(`--${flagOf(key)} ${showOption(value)} conflicts with the run's ${key} ${showOption(config[key])} in ${saved.source}; drop it or use another --out`);
    }
  }
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { ...base, ...defined, out, resume: true } as unknown as Partial<T>;
}

/**
 * The settings that make `b` another run than `a` (free ones and `ignore` aside), by flag:
 * "--width 4 (runs/x: 2)", `a`'s value after its folder.
 */
export function settingsDiff<T extends { out?: string }>(a: T, b: T, ignore: string[] = []): string[] {
  const value = (o: T, key: string) => (o as Record<string, unknown>)[key];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((key) => !FREE_ON_RESUME.has(key) && !ignore.includes(key) && JSON.stringify(value(a, key)) !== JSON.stringify(value(b, key)))
    .map((key) => `--${flagOf(key)} ${showOption(value(b, key))} (${a.out}: ${showOption(value(a, key))})`);
}

/**
 * Throws a UsageError naming, by flag, each setting of `o` that differs from the run whose
 * checkpoint is already in `o.out` (so continuing it would fail); nothing there: no error.
 */
export async function checkSameRun(o: TrainOptions): Promise<void> {
  if (!existsSync(join(o.out, CHECKPOINT_FILE))) return;
  const saved = await savedRunDiff(o.out, o, (note) => console.error(`note: ${note}`));
  if (!saved?.differ.length) return;
  throw new UsageError(`${saved.differ.join(', ')}: not the settings of the run already in ${o.out} (${saved.source}); give the run's values to continue it, or another --out`);
}
