// What a run records about itself: its resolved options, written by the epoch loop to
// <out>/config.json and into every checkpoint it saves (metadata 'config'). Read back with types:
// any field may be missing (a run of an older version, a PyTorch state dict has no config at all),
// but one that is there has its type, or the file is damaged. Browser-safe (no file access: see
// run-config-file.ts for reading a run folder).
import type { PretrainOptions } from '../ssl/options.js';
import { FOLDER_PROTOCOL } from '../data/open-set.js';

/** A saved run's configuration: training options, and pre-training's when the run was one. */
export type RunConfig = Partial<PretrainOptions>;

type FieldType = 'string' | 'number' | 'boolean' | 'string[]';

/**
 * The JSON type of every option a run records: complete (a new option must say its type here), and
 * open to names an older or newer version of the options has.
 */
const FIELD_TYPES: Record<keyof PretrainOptions, FieldType> & Record<string, FieldType> = {
  protocol: 'string',
  split: 'number',
  dataDir: 'string',
  arch: 'string',
  width: 'number',
  epochs: 'number',
  batchSize: 'number',
  seed: 'number',
  method: 'string',
  objective: 'string',
  lr: 'number',
  lrMin: 'number',
  tau: 'number',
  theta: 'number',
  lambda: 'number',
  gammaMin: 'number',
  gammaMax: 'number',
  fill: 'string',
  layers: 'string[]',
  camNormalize: 'string',
  mixAlpha: 'number',
  attentionModel: 'string',
  attentionGrid: 'number',
  attentionTopK: 'number',
  maxTrain: 'number',
  out: 'string',
  resume: 'boolean',
  pictures: 'boolean',
  evaluate: 'boolean',
  allClasses: 'boolean',
  k: 'number',
  score: 'string',
  progress: 'boolean',
  known: 'string[]',
  unknownDataDir: 'string',
  valFraction: 'number',
  imageSize: 'number',
  channels: 'number',
  antialias: 'boolean',
  tpr: 'number',
  ssl: 'string',
  momentum: 'number',
  queueSize: 'number',
  probeEpochs: 'number',
};

const typeOf = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? 'string[]' : typeof v);

/**
 * The typed view of a saved configuration (null or undefined: none, an empty config). `source`
 * names the file in errors. Fields this version does not know are dropped; a known one of the
 * wrong type is an error.
 */
export function runConfigOf(saved: unknown, source: string): RunConfig {
  if (saved === null || saved === undefined) return {};
  if (typeof saved !== 'object' || Array.isArray(saved)) throw new Error(`${source}: the run's configuration should be a JSON object, got ${JSON.stringify(saved)}; the file is damaged`);
  const config: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(FIELD_TYPES)) {
    const v = (saved as Record<string, unknown>)[key];
    if (v === undefined || v === null) continue;
    if (typeOf(v) !== type) throw new Error(`${source}: '${key}' should be a ${type}, got ${JSON.stringify(v)}; the file is damaged`);
    config[key] = v;
  }
  // An image-folder run saved before the resize rule was recorded shrank its images plainly.
  if (config.protocol === 'folder' && config.antialias === undefined) config.antialias = false;
  return config;
}

/** The data a run trains or is evaluated on, for messages: a protocol's split, or your own folder and its known classes. */
export function dataLabel(c: Pick<RunConfig, 'protocol' | 'split' | 'dataDir' | 'known'>): string {
  if (c.protocol !== FOLDER_PROTOCOL) return `${c.protocol ?? 'mnist-mini'} split ${c.split ?? 0}`;
  return `your folder ${c.dataDir ?? '(no --data)'}${c.known ? ` (known: ${c.known.join(', ')})` : ''}`;
}
