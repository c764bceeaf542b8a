// A reader for the numeric arrays of MATLAB Level 5 MAT-files (the format of SVHN's official
// train_32x32.mat / test_32x32.mat): a 128-byte header, then tagged data elements, each a
// miMATRIX (flags, dimensions, name, real part) either plain or zlib-compressed (miCOMPRESSED).
// Cell arrays, structs, sparse and complex arrays are skipped; v7.3 (HDF5) files are refused.
import { basename } from 'node:path';
import { inflateSync } from 'node:zlib';
import { DataError } from './dataset.js';

const MI_MATRIX = 14;
const MI_COMPRESSED = 15;

/** Element types (miINT8 ..) of the real part: byte size and the DataView getter that reads one. */
const ELEMENT_TYPES: Record<number, { bytes: number; get: (v: DataView, at: number, le: boolean) => number }> = {
  1: { bytes: 1, get: (v, at) => v.getInt8(at) },
  2: { bytes: 1, get: (v, at) => v.getUint8(at) },
  3: { bytes: 2, get: (v, at, le) => v.getInt16(at, le) },
  4: { bytes: 2, get: (v, at, le) => v.getUint16(at, le) },
  5: { bytes: 4, get: (v, at, le) => v.getInt32(at, le) },
  6: { bytes: 4, get: (v, at, le) => v.getUint32(at, le) },
  7: { bytes: 4, get: (v, at, le) => v.getFloat32(at, le) },
  9: { bytes: 8, get: (v, at, le) => v.getFloat64(at, le) },
  12: { bytes: 8, get: (v, at, le) => Number(v.getBigInt64(at, le)) },
  13: { bytes: 8, get: (v, at, le) => Number(v.getBigUint64(at, le)) },
};
const NUMERIC_CLASSES = new Set([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

/** One numeric array, its values in MATLAB's column-major order (first index fastest). */
export interface MatArray {
  name: string;
  dims: number[];
  length: number;
  /** The value at column-major position i. */
  at(i: number): number;
  /** The raw bytes when the stored element type is unsigned 8-bit (a fast path for images). */
  uint8?: Uint8Array;
}

interface Element {
  type: number;
  data: DataView;
  /** Offset of the next element. */
  next: number;
}

function readElement(view: DataView, at: number, le: boolean, name: string): Element {
  if (at + 8 > view.byteLength) throw new DataError(`${name}: truncated MAT-file (element tag at byte ${at} runs past the end)`);
  const first = view.getUint32(at, le);
  if (first >>> 16 !== 0) {
    // Small data element: type and size share the first word, data in the next four bytes.
    const size = first >>> 16;
    if (size > 4) throw new DataError(`${name}: corrupt MAT-file (small element at byte ${at} claims ${size} bytes; at most 4 fit)`);
    return { type: first & 0xffff, data: new DataView(view.buffer, view.byteOffset + at + 4, size), next: at + 8 };
  }
  const size = view.getUint32(at + 4, le);
  if (at + 8 + size > view.byteLength) {
    throw new DataError(`${name}: truncated MAT-file (element at byte ${at} needs ${size} bytes, ${view.byteLength - at - 8} remain)`);
  }
  const data = new DataView(view.buffer, view.byteOffset + at + 8, size);
  // Every element but a compressed one is padded to a multiple of 8 bytes.
  const padded = first === MI_COMPRESSED ? size : Math.ceil(size / 8) * 8;
  return { type: first, data, next: at + 8 + padded };
}

function parseMatrix(m: DataView, le: boolean, name: string): MatArray | null {
  try {
    return parseMatrixElements(m, le, name);
  } catch (e) {
    // A damaged tag can send a read past an element's end: say so, naming the file.
    if (e instanceof RangeError) throw new DataError(`${name}: corrupt MAT-file (${e.message})`);
    throw e;
  }
}

function parseMatrixElements(m: DataView, le: boolean, name: string): MatArray | null {
  const flags = readElement(m, 0, le, name);
  const cls = flags.data.getUint32(0, le) & 0xff;
  const complex = (flags.data.getUint32(0, le) & 0x800) !== 0;
  const dimsEl = readElement(m, flags.next, le, name);
  const dims = Array.from({ length: dimsEl.data.byteLength / 4 }, (_, i) => dimsEl.data.getInt32(4 * i, le));
  const nameEl = readElement(m, dimsEl.next, le, name);
  const arrayName = new TextDecoder().decode(new Uint8Array(nameEl.data.buffer, nameEl.data.byteOffset, nameEl.data.byteLength));
  if (!NUMERIC_CLASSES.has(cls) || complex) return null;
  const real = readElement(m, nameEl.next, le, name);
  const type = ELEMENT_TYPES[real.type];
  if (!type) throw new DataError(`${name}: array ${arrayName} stores values as unsupported element type ${real.type}`);
  const length = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => d < 0)) throw new DataError(`${name}: array ${arrayName} has negative dimensions ${dims.join('x')}; the file is corrupt`);
  if (real.data.byteLength < length * type.bytes) {
    throw new DataError(`${name}: array ${arrayName} of size ${dims.join('x')} holds only ${real.data.byteLength} bytes of data; the file is truncated or corrupt`);
  }
  const data = real.data;
  const uint8 = real.type === 2 ? new Uint8Array(data.buffer, data.byteOffset, length) : undefined;
  return { name: arrayName, dims, length, at: (i) => type.get(data, i * type.bytes, le), uint8 };
}

/** The numeric arrays of a Level 5 MAT-file, by variable name. */
export function readMat(bytes: Uint8Array, file: string): Map<string, MatArray> {
  const name = basename(file);
  if (bytes.length < 128) throw new DataError(`${name}: ${bytes.length} bytes is shorter than the 128-byte MAT-file header`);
  const text = new TextDecoder().decode(bytes.subarray(0, 116));
  if (!text.startsWith('MATLAB')) throw new DataError(`${name}: not a MATLAB MAT-file (no "MATLAB" header text)`);
  // v7.3 files say so at the start of their header text; a v5 file's text may name any writer (Octave 7.3.0, ...).
  if (/^MATLAB 7\.3 MAT-file/.test(text)) throw new DataError(`${name}: MAT-file v7.3 (HDF5) is not supported; save with -v7 or convert as the data docs describe`);
  const endian = String.fromCharCode(bytes[126], bytes[127]);
  if (endian !== 'IM' && endian !== 'MI') throw new DataError(`${name}: bad MAT-file endian indicator "${endian}"`);
  const le = endian === 'IM';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const arrays = new Map<string, MatArray>();
  for (let at = 128; at < bytes.length;) {
    const el = readElement(view, at, le, name);
    at = el.next;
    let matrix: DataView | null = null;
    if (el.type === MI_MATRIX) matrix = el.data;
    else if (el.type === MI_COMPRESSED) {
      let inflated: Uint8Array;
      try {
        inflated = inflateSync(new Uint8Array(el.data.buffer, el.data.byteOffset, el.data.byteLength));
      } catch (err) {
        throw new DataError(`${name}: corrupt compressed MAT-file element (${(err as Error).message})`);
      }
      const inner = readElement(new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength), 0, le, name);
      if (inner.type === MI_MATRIX) matrix = inner.data;
    }
    if (!matrix) continue;
    const arr = parseMatrix(matrix, le, name);
    if (arr) arrays.set(arr.name, arr);
  }
  return arrays;
}
