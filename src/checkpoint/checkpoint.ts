// Training checkpoints as one .safetensors file (bytes in/out, browser-safe):
// - model tensors under their PyTorch state-dict names: float32 as F32, int32 as I32, and
//   `num_batches_tracked` as I64, PyTorch's dtype, so `model.load_state_dict(load_file(path))`
//   works in Python once the optimiser entries are filtered out;
// - optimiser buffers as F32 tensors named `__optimizer__.<param index>.<slot>` (e.g.
//   `__optimizer__.0.exp_avg`), PyTorch's state[index][slot];
// - metadata: `format: pt`, and `gradmix.optimizer` = JSON {kind, steps, options, counters} (the
//   step counts and hyper-parameters), plus any string metadata of the caller's.
// Loading validates names and shapes against the model before writing anything. A schedule's
// position is the optimiser's `steps` (or the caller's own metadata, e.g. the epoch).
import { crc32 } from '../crc32.js';
import { gpu } from '../../runtime/gpu.js';
import { Tensor, formatShape } from '../tensor.js';
import { tensor } from '../creation.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import { decodeSafetensors, encodeSafetensors, float32Tensor, int64Tensor, toFloat32, toInt32, type HostTensor } from './safetensors.js';

/** A state dict: PyTorch names to tensors, as a Map (nn.Module.stateDict()) or a plain object. */
export type StateDict = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export interface Checkpoint {
  model: StateDict;
  optimizer?: OptimizerState;
  /** Extra string metadata (epoch, config, ...); the keys 'format' and 'gradmix.*' are reserved. */
  metadata?: Record<string, string>;
  /** Host tensors kept beside the model under names of EXTRA_PREFIX (e.g. an open-set gallery). */
  extras?: ReadonlyMap<string, HostTensor>;
}

/** A decoded checkpoint, still on the host. */
export interface DecodedCheckpoint {
  source: string;
  model: Map<string, HostTensor>;
  /** The optimiser's state without its tensors, and its tensors keyed `${index}.${slot}`. */
  optimizer: { state: Omit<OptimizerState, 'tensors'>; tensors: Map<string, HostTensor> } | null;
  /** The caller's metadata (reserved keys removed). */
  metadata: Record<string, string>;
  /** Tensors named EXTRA_PREFIX* that are not the optimiser's: not part of the model. */
  extras: Map<string, HostTensor>;
}

export const OPTIMIZER_PREFIX = '__optimizer__.';
/** Names that start so are no model tensors (PyTorch users drop them before load_state_dict). */
export const EXTRA_PREFIX = '__';
const OPTIMIZER_KEY = 'gradmix.optimizer';
/** The checkpoint layout's version, in metadata 'gradmix.format_version'; files without it are version 1. */
export const CHECKPOINT_FORMAT_VERSION = 1;
const VERSION_KEY = 'gradmix.format_version';
/** CRC-32 of every tensor (name, dtype, shape, bytes) and every other metadata entry: a damaged file is an error, not wrong weights. */
const CHECKSUM_KEY = 'gradmix.crc32';

/** The checksum of a file's contents, independent of the order tensors are stored in. */
function contentChecksum(tensors: Iterable<[string, HostTensor]>, metadata: Record<string, string>): string {
  const text = new TextEncoder();
  const sorted = [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const meta = Object.entries(metadata)
    .filter(([k]) => k !== CHECKSUM_KEY)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  function* chunks() {
    for (const [name, t] of sorted) {
      yield text.encode(`${name}\0${t.dtype}\0${t.shape.join(',')}\0`);
      yield t.data;
    }
    for (const [k, v] of meta) yield text.encode(`${k}\0${v}\0`);
  }
  return crc32(chunks()).toString(16).padStart(8, '0');
}

function entries(sd: StateDict): [string, Tensor][] {
  // `instanceof Map` alone would type the entries as any.
  return sd instanceof Map ? [...(sd as ReadonlyMap<string, Tensor>).entries()] : Object.entries(sd as Readonly<Record<string, Tensor>>);
}

/** BatchNorm's batch counter (`num_batches_tracked`), which PyTorch stores as int64. */
export function isBatchCounter(name: string): boolean {
  return name === 'num_batches_tracked' || name.endsWith('.num_batches_tracked');
}

/** A checkpoint must never hold NaN or Inf: a diverged run's weights are not saved as good. */
export function checkFinite(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new Error(`refusing to save tensor '${name}': element ${i} is ${values[i]} (a diverged run; the last good checkpoint is kept)`);
    }
  }
}

/**
 * A digest of a state dict's names, shapes and values (read back from the GPU), independent of
 * their order: whether a network is the one a run was saved with (CRC-32, then the tensor count).
 */
export async function stateDigest(sd: StateDict): Promise<string> {
  const text = new TextEncoder();
  const sorted = entries(sd).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const chunks: Uint8Array[] = [];
  for (const [name, t] of sorted) {
    const v = await t.data();
    chunks.push(text.encode(`${name}\0${t.dtype}\0${t.shape.join(',')}\0`), new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return `${crc32(chunks).toString(16).padStart(8, '0')}-${sorted.length}`;
}

/** Reads a GPU tensor back into a host tensor of the dtype PyTorch would use for it (refusing NaN/Inf). */
export async function toHost(name: string, t: Tensor): Promise<HostTensor> {
  const values = await t.data();
  if (t.dtype === 'float32') checkFinite(name, values);
  if (isBatchCounter(name)) return int64Tensor(t.shape, Array.from(values, Math.round));
  if (t.dtype === 'int32') {
    const data = new Uint8Array(values.length * 4);
    const v = new DataView(data.buffer);
    values.forEach((x, i) => v.setInt32(4 * i, x, true));
    return { dtype: 'I32', shape: [...t.shape], data };
  }
  return float32Tensor(t.shape, values as Float32Array);
}

/** Encodes a model state dict, optionally with an optimiser's state, as .safetensors bytes. */
export async function encodeCheckpoint(c: Checkpoint): Promise<Uint8Array> {
  const out: [string, HostTensor][] = [];
  for (const [name, t] of entries(c.model)) {
    if (name.startsWith(EXTRA_PREFIX)) throw new Error(`encodeCheckpoint: model tensor name '${name}' uses the reserved prefix '${EXTRA_PREFIX}'`);
    out.push([name, await toHost(name, t)]);
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.metadata ?? {})) {
    if (k === 'format' || k.startsWith('gradmix.')) throw new Error(`encodeCheckpoint: metadata key '${k}' is reserved`);
    metadata[k] = v;
  }
  metadata.format = 'pt';
  metadata[VERSION_KEY] = String(CHECKPOINT_FORMAT_VERSION);
  if (c.optimizer) {
    const { tensors, ...state } = c.optimizer;
    for (const [key, t] of Object.entries(tensors)) out.push([OPTIMIZER_PREFIX + key, await toHost(OPTIMIZER_PREFIX + key, t)]);
    metadata[OPTIMIZER_KEY] = JSON.stringify(state);
  }
  for (const [name, t] of c.extras ?? []) {
    if (!name.startsWith(EXTRA_PREFIX) || name.startsWith(OPTIMIZER_PREFIX)) throw new Error(`encodeCheckpoint: extra tensor '${name}' must be named ${EXTRA_PREFIX}* (and not ${OPTIMIZER_PREFIX}*)`);
    if (t.dtype === 'F32') checkFinite(name, toFloat32(t, name));
    out.push([name, t]);
  }
  metadata[CHECKSUM_KEY] = contentChecksum(out, metadata);
  return encodeSafetensors(out, metadata);
}

/** Decodes checkpoint bytes (any .safetensors file, such as one written by PyTorch). */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const model = new Map<string, HostTensor>();
  const optTensors = new Map<string, HostTensor>();
  const extras = new Map<string, HostTensor>();
  for (const [name, t] of tensors) {
    if (name.startsWith(OPTIMIZER_PREFIX)) optTensors.set(name.slice(OPTIMIZER_PREFIX.length), t);
    else if (name.startsWith(EXTRA_PREFIX)) extras.set(name, t);
    else model.set(name, t);
  }
  const { [OPTIMIZER_KEY]: optJson, [VERSION_KEY]: version, [CHECKSUM_KEY]: checksum, format: _format, ...rest } = metadata;
  if (version !== undefined) {
    const v = Number(version);
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${source}: metadata '${VERSION_KEY}' is ${JSON.stringify(version)}, not a format version (a positive integer)`);
    if (v > CHECKPOINT_FORMAT_VERSION) {
      throw new Error(`${source}: checkpoint format version ${v} is newer than this gradmix reads (up to ${CHECKPOINT_FORMAT_VERSION}); upgrade gradmix to load it`);
    }
  }
  // A reserved key this version does not know: a damaged key (a checksum's name flipped) or a newer writer.
  const unknown = Object.keys(rest).find((k) => k.startsWith('gradmix.'));
  if (unknown) throw new Error(`${source}: unknown metadata key '${unknown}' (the file is damaged, or was written by a newer gradmix)`);
  // Ours carry both a version and a checksum: one without the other is a damaged key.
  if (version !== undefined && checksum === undefined) throw new Error(`${source}: metadata has '${VERSION_KEY}' but no '${CHECKSUM_KEY}': the file is damaged`);
  // Files without a checksum (PyTorch's, ours before it existed) load unchecked.
  if (checksum !== undefined && checksum !== contentChecksum(tensors, metadata)) {
    throw new Error(`${source}: the contents do not match the checksum '${CHECKSUM_KEY}' stored in the file: it is damaged (a changed byte in a tensor or the metadata)`);
  }
  let optimizer: DecodedCheckpoint['optimizer'] = null;
  if (optJson !== undefined) {
    let state: Omit<OptimizerState, 'tensors'>;
    try {
      state = JSON.parse(optJson) as typeof state;
    } catch (e) {
      throw new Error(`${source}: metadata '${OPTIMIZER_KEY}' is not valid JSON (${(e as Error).message})`);
    }
    if (typeof state?.kind !== 'string' || typeof state.steps !== 'number' || typeof state.options !== 'object' || typeof state.counters !== 'object') {
      throw new Error(`${source}: metadata '${OPTIMIZER_KEY}' lacks kind, steps, options or counters`);
    }
    optimizer = { state, tensors: optTensors };
  } else if (optTensors.size) {
    throw new Error(`${source}: has '${OPTIMIZER_PREFIX}*' tensors but no '${OPTIMIZER_KEY}' metadata`);
  }
  return { source, model, optimizer, metadata: rest, extras };
}

/** A JSON value of the caller's metadata (null when the key is absent); broken JSON names the file and the key. */
export function metadataJson<T = unknown>(decoded: Pick<DecodedCheckpoint, 'metadata' | 'source'>, key: string): T | null {
  const text = decoded.metadata[key];
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${decoded.source}: metadata '${key}' is not valid JSON (${(e as Error).message}); the file is damaged`);
  }
}

/** Metadata for re-written contents: a stale checksum (a checkpoint edited in place) is recomputed. */
export function refreshChecksum(tensors: Iterable<[string, HostTensor]>, metadata: Record<string, string>): Record<string, string> {
  return CHECKSUM_KEY in metadata ? { ...metadata, [CHECKSUM_KEY]: contentChecksum(tensors, metadata) } : metadata;
}

function listNames(names: string[]): string {
  const shown = names
    .slice(0, 8)
    .map((n) => `'${n}'`)
    .join(', ');
  return names.length > 8 ? `${shown} (+${names.length - 8} more)` : shown;
}

/**
 * Copies host tensors into the tensors of a state dict (a model's live parameters and buffers),
 * converting dtypes (F64/F16/BF16/I64 to float32, integers to int32). Names and shapes are all
 * checked first, so a mismatch changes nothing; with strict false, missing and unexpected names
 * are allowed (shapes are still checked).
 */
export function loadStateDictInto(target: StateDict, tensors: ReadonlyMap<string, HostTensor>, source: string, options: { strict?: boolean } = {}): void {
  const own = new Map(entries(target));
  if (options.strict ?? true) {
    const missing = [...own.keys()].filter((k) => !tensors.has(k));
    const unexpected = [...tensors.keys()].filter((k) => !own.has(k));
    if (missing.length || unexpected.length) {
      const parts = [];
      if (missing.length) parts.push(`missing tensor${missing.length > 1 ? 's' : ''} ${listNames(missing)}`);
      if (unexpected.length) parts.push(`unexpected tensor${unexpected.length > 1 ? 's' : ''} ${listNames(unexpected)}`);
      throw new Error(`${source}: does not match the model: ${parts.join('; ')}`);
    }
  }
  const writes: [Tensor, Float32Array | Int32Array][] = [];
  for (const [name, dst] of own) {
    const src = tensors.get(name);
    if (!src) continue;
    if (src.shape.join() !== dst.shape.join()) {
      throw new Error(`${source}: tensor '${name}' has shape ${formatShape(src.shape)} in the file, the model expects ${formatShape(dst.shape)}`);
    }
    const label = `${source}: tensor '${name}'`;
    writes.push([dst, dst.dtype === 'int32' ? toInt32(src, label) : toFloat32(src, label)]);
  }
  for (const [dst, data] of writes) if (data.length) gpu().write(dst.buffer, data);
}

/** A new GPU tensor holding a host tensor's values (float32, or int32 for integer data if asked). */
export function fromHost(t: HostTensor, dtype: 'float32' | 'int32' = 'float32', name = 'tensor'): Tensor {
  return tensor(dtype === 'int32' ? toInt32(t, name) : toFloat32(t, name), t.shape, { dtype });
}

/** Restores an optimiser from a decoded checkpoint (errors name the file). */
export function restoreOptimizer(opt: Optimizer<{ lr: number }>, decoded: DecodedCheckpoint): void {
  if (!decoded.optimizer) throw new Error(`${decoded.source}: holds no optimiser state`);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [key, h] of decoded.optimizer.tensors) tensors[key] = fromHost(h, 'float32', `tensor '${OPTIMIZER_PREFIX}${key}'`);
    opt.loadStateDict({ ...decoded.optimizer.state, tensors });
  } catch (e) {
    throw new Error(`${decoded.source}: ${(e as Error).message}`);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** Loads a decoded checkpoint into a model's state dict and, if given, an optimiser. */
export function applyCheckpoint(decoded: DecodedCheckpoint, into: { model: StateDict; optimizer?: Optimizer<{ lr: number }>; strict?: boolean }): void {
  loadStateDictInto(into.model, decoded.model, decoded.source, { strict: into.strict });
  if (into.optimizer) restoreOptimizer(into.optimizer, decoded);
}
