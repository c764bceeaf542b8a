// The .safetensors format, bytes in and bytes out (no file system, no GPU: browsers reuse it):
//   8 bytes   little-endian u64 N, the header's length
//   N bytes   UTF-8 JSON {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"key": "string value"}}   (padded with spaces to a multiple of 8)
//   the rest  raw little-endian tensor data; offsets are relative to the end of the header
// Decoding validates as strictly as the reference Rust implementation: offsets in range, byte
// counts matching the shapes, no overlaps and no unclaimed bytes.
import { fileStart } from '../file-start.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const ELEMENT_BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** A tensor on the host: its dtype, shape and raw little-endian bytes. */
export interface HostTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Raw little-endian data; after decoding, a view into the decoded bytes (not a copy). */
  data: Uint8Array;
}

export interface SafetensorsContents {
  /** Tensors in the order they are stored. */
  tensors: Map<string, HostTensor>;
  /** The header's __metadata__ (string to string), empty when absent. */
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

const METADATA_KEY = '__metadata__';
/** The reference implementation's limit on the header length: a bigger one is another kind of file. */
const MAX_HEADER_BYTES = 100_000_000;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ELEMENT_BYTES, s);
}

/**
 * Encodes tensors (in their iteration order, grouped by element size, largest first, so every
 * tensor's data is aligned to its element size) and optional string metadata.
 */
export function encodeSafetensors(tensors: Iterable<[string, HostTensor]>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = [...tensors].map(([name, t], order) => ({ name, t, order }));
  entries.sort((a, b) => ELEMENT_BYTES[b.t.dtype] - ELEMENT_BYTES[a.t.dtype] || a.order - b.order);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`encodeSafetensors: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const { name, t } of entries) {
    if (name === METADATA_KEY || name in header) throw new Error(`encodeSafetensors: duplicate or reserved tensor name '${name}'`);
    if (!isDtype(t.dtype)) throw new Error(`encodeSafetensors: tensor '${name}' has unknown dtype '${String(t.dtype)}'`);
    const bytes = elementCount(t.shape) * ELEMENT_BYTES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new Error(`encodeSafetensors: tensor '${name}' ${t.dtype} ${shapeText(t.shape)} needs ${bytes} bytes, has ${t.data.byteLength}`);
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((new TextEncoder().encode(json).length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const { t } of entries) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Decodes and validates a whole file; `source` (a file name) prefixes every error. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContents {
  const fail = (message: string): never => {
    throw new SafetensorsError(source, message);
  };
  if (bytes.byteLength < 8) fail(`${bytes.byteLength} bytes is too short for the 8-byte header length (truncated file?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  // Another file read as one (JSON, an image, a PyTorch .pt) gives a length far over the format's
  // limit: not a cut checkpoint, so not called one (its first bytes say what it is).
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`not a .safetensors checkpoint (starts with ${fileStart(bytes)})`);
  if (n > BigInt(bytes.byteLength - 8)) fail(`header length ${n} exceeds the ${bytes.byteLength - 8} bytes after the length field (corrupt or truncated file)`);
  const headerLength = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const data = bytes.subarray(8 + headerLength);
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, HostTensor>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bad = (what: string): never => fail(`tensor '${name}': ${what}`);
    if (typeof e !== 'object' || e === null) bad('header entry is not an object');
    if (!isDtype(e.dtype)) bad(`unknown dtype ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`invalid shape ${JSON.stringify(e.shape)}`);
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      bad(`invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) bad(`data_offsets [${begin}, ${end}] run backwards`);
    if (end > data.byteLength) bad(`data_offsets [${begin}, ${end}] are out of range: the data section has ${data.byteLength} bytes (truncated file?)`);
    const want = elementCount(shape) * ELEMENT_BYTES[dtype];
    if (end - begin !== want) bad(`shape ${shapeText(shape)} of ${dtype} needs ${want} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`);
    spans.push({ name, begin, end });
    tensors.set(name, { dtype, shape, data: data.subarray(begin, end) });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const s of spans) {
    if (s.begin < covered) fail(`tensor '${s.name}' overlaps the previous tensor's data (data_offsets [${s.begin}, ${s.end}])`);
    if (s.begin > covered) fail(`bytes [${covered}, ${s.begin}) of the data section belong to no tensor`);
    covered = s.end;
  }
  if (covered !== data.byteLength) fail(`the data section has ${data.byteLength} bytes but the tensors cover ${covered} (trailing bytes)`);
  // Storage order, which is the order a writer chose (state-dict order here).
  const ordered = new Map<string, HostTensor>();
  for (const s of spans) ordered.set(s.name, tensors.get(s.name)!);
  return { tensors: ordered, metadata };
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function dataView(t: HostTensor): DataView {
  return new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** IEEE half to float (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** bfloat16 is the upper half of a float32. */
function bfloat16ToFloat(b: number): number {
  scratchU32[0] = b << 16;
  return scratchF32[0];
}

/** The values as float64 numbers, whatever the stored dtype (integers beyond 2^53 are an error). */
export function toNumbers(t: HostTensor, name = 'tensor'): Float64Array {
  const n = elementCount(t.shape);
  const v = dataView(t);
  const out = new Float64Array(n);
  const read: (i: number) => number = (() => {
    switch (t.dtype) {
      case 'F64':
        return (i) => v.getFloat64(8 * i, true);
      case 'F32':
        return (i) => v.getFloat32(4 * i, true);
      case 'F16':
        return (i) => halfToFloat(v.getUint16(2 * i, true));
      case 'BF16':
        return (i) => bfloat16ToFloat(v.getUint16(2 * i, true));
      case 'I64':
        return (i) => {
          const x = v.getBigInt64(8 * i, true);
          if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`${name}: I64 value ${x} at index ${i} is not exactly representable`);
          return Number(x);
        };
      case 'I32':
        return (i) => v.getInt32(4 * i, true);
      case 'I16':
        return (i) => v.getInt16(2 * i, true);
      case 'I8':
        return (i) => v.getInt8(i);
      case 'U8':
      case 'BOOL':
        return (i) => v.getUint8(i);
    }
  })();
  for (let i = 0; i < n; i++) out[i] = read(i);
  return out;
}

/** The values as float32 (F32 copied exactly; F64, F16, BF16 and integers converted). */
export function toFloat32(t: HostTensor, name = 'tensor'): Float32Array {
  if (t.dtype === 'F32' && littleEndian) {
    // A byte copy: the view into the decoded buffer need not be 4-byte aligned.
    const out = new Float32Array(elementCount(t.shape));
    new Uint8Array(out.buffer).set(t.data);
    return out;
  }
  return Float32Array.from(toNumbers(t, name));
}

/** The values as int32 (integers only; values outside int32 are an error). */
export function toInt32(t: HostTensor, name = 'tensor'): Int32Array {
  if (t.dtype.startsWith('F') || t.dtype === 'BF16') throw new Error(`${name}: cannot read ${t.dtype} data as integers`);
  const values = toNumbers(t, name);
  const out = new Int32Array(values.length);
  values.forEach((x, i) => {
    if (x < -(2 ** 31) || x >= 2 ** 31) throw new Error(`${name}: value ${x} at index ${i} does not fit int32`);
    out[i] = x;
  });
  return out;
}

/** An F32 host tensor from float32 values. */
export function float32Tensor(shape: readonly number[], values: Float32Array): HostTensor {
  checkCount(shape, values.length);
  const data = new Uint8Array(values.length * 4);
  const v = new DataView(data.buffer);
  values.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return { dtype: 'F32', shape: [...shape], data };
}

/** An I64 host tensor from integer values (PyTorch's dtype for counters such as num_batches_tracked). */
export function int64Tensor(shape: readonly number[], values: ArrayLike<number>): HostTensor {
  checkCount(shape, values.length);
  const data = new Uint8Array(values.length * 8);
  const v = new DataView(data.buffer);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isSafeInteger(values[i])) throw new Error(`int64Tensor: value ${values[i]} at index ${i} is not an integer`);
    v.setBigInt64(8 * i, BigInt(values[i]), true);
  }
  return { dtype: 'I64', shape: [...shape], data };
}

function checkCount(shape: readonly number[], n: number): void {
  if (elementCount(shape) !== n) throw new Error(`${n} values do not fill shape ${shapeText(shape)}`);
}
