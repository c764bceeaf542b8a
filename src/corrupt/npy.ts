// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the header, and row ranges of C-ordered
// integer arrays read from disk without loading the whole file (CIFAR-10-C's files are 150 MB).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DataError } from '../data/index.js';

export interface NpyHeader {
  /** The dtype string as written, e.g. '|u1', '<i8'. */
  descr: string;
  kind: 'u' | 'i' | 'b';
  /** Bytes per element. */
  itemSize: number;
  littleEndian: boolean;
  shape: number[];
  /** Where the data starts. */
  dataOffset: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses the header at the start of `bytes` (at least the first 10 bytes plus the header). */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new DataError(`${file}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new DataError(`${file}: .npy format version ${major}.${bytes[7]} is not supported (1.0 to 3.0 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [lenBytes, headerLen] = major === 1 ? [2, view.getUint16(8, true)] : [4, bytes.length >= 12 ? view.getUint32(8, true) : -1];
  const start = 8 + lenBytes;
  if (headerLen < 0 || bytes.length < start + headerLen) throw new DataError(`${file}: truncated .npy header`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new DataError(`${file}: unreadable .npy header: ${text.trim()}`);
  if (fortran === 'True') throw new DataError(`${file}: the array is in Fortran order; save it C-ordered (np.ascontiguousarray)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new DataError(`${file}: bad shape (${shapeText}) in the .npy header`);
  const m = /^([<>|=]?)([uib])(\d+)$/.exec(descr);
  if (!m || ![1, 2, 4, 8].includes(Number(m[3]))) throw new DataError(`${file}: dtype '${descr}' is not supported; expected unsigned or signed integers (uint8 images, integer labels)`);
  return { descr, kind: m[2] as NpyHeader['kind'], itemSize: Number(m[3]), littleEndian: m[1] !== '>', shape, dataOffset: start + headerLen };
}

/** An open .npy file of a C-ordered integer array; rows are slices along the first axis. */
export class NpyFile {
  readonly header: NpyHeader;
  /** Elements per row (the product of all but the first dimension). */
  readonly rowSize: number;
  private fd: number;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new DataError(`${path}: cannot open (${code === 'ENOENT' ? 'no such file' : (e as Error).message})`);
    }
    try {
      const head = new Uint8Array(Math.min(fstatSync(this.fd).size, 65536 + 12));
      readSync(this.fd, head, 0, head.length, 0);
      this.header = parseNpyHeader(head, path);
      const [, ...rest] = this.header.shape;
      this.rowSize = rest.reduce((a, b) => a * b, 1);
      const rows = this.header.shape[0] ?? 1;
      const need = this.header.dataOffset + rows * this.rowSize * this.header.itemSize;
      const size = fstatSync(this.fd).size;
      if (size < need)
        throw new DataError(
          `${path}: truncated: the header promises ${need - this.header.dataOffset} data bytes (shape [${this.header.shape.join(', ')}]), the file holds ${size - this.header.dataOffset}`,
        );
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  get rows(): number {
    return this.header.shape[0] ?? 1;
  }

  /** The raw bytes of rows [start, start + count). */
  readRowBytes(start: number, count: number): Uint8Array {
    if (!(start >= 0 && count >= 0 && start + count <= this.rows)) throw new RangeError(`${this.path}: rows ${start}..${start + count - 1} are outside 0..${this.rows - 1}`);
    const bytes = new Uint8Array(count * this.rowSize * this.header.itemSize);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.fd, bytes, done, bytes.length - done, this.header.dataOffset + start * this.rowSize * this.header.itemSize + done);
      if (n === 0) throw new DataError(`${this.path}: unexpected end of file`);
      done += n;
    }
    return bytes;
  }

  /** Rows [start, start + count) as numbers (integers of any supported width). */
  readRows(start: number, count: number): Float64Array {
    const bytes = this.readRowBytes(start, count);
    const { kind, itemSize, littleEndian } = this.header;
    if (itemSize === 1) return Float64Array.from(kind === 'u' || kind === 'b' ? bytes : new Int8Array(bytes.buffer));
    const view = new DataView(bytes.buffer);
    const out = new Float64Array(bytes.length / itemSize);
    for (let i = 0; i < out.length; i++) {
      const at = i * itemSize;
      if (itemSize === 2) out[i] = kind === 'u' ? view.getUint16(at, littleEndian) : view.getInt16(at, littleEndian);
      else if (itemSize === 4) out[i] = kind === 'u' ? view.getUint32(at, littleEndian) : view.getInt32(at, littleEndian);
      else out[i] = Number(kind === 'u' ? view.getBigUint64(at, littleEndian) : view.getBigInt64(at, littleEndian));
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Writes a C-ordered integer array as a .npy (version 1.0) file's bytes; for tests and tools. */
export function encodeNpy(values: ArrayLike<number>, shape: readonly number[], descr: '|u1' | '<i8' | '<i4' | '<u2' = '|u1'): Uint8Array {
  const itemSize = Number(descr.slice(2));
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + values.length * itemSize);
  out.set(MAGIC);
  out.set([1, 0, header.length & 0xff, header.length >> 8], 6);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < values.length; i++) {
    if (itemSize === 1) view.setUint8(i, values[i]);
    else if (itemSize === 2) view.setUint16(2 * i, values[i], true);
    else if (itemSize === 4) view.setInt32(4 * i, values[i], true);
    else view.setBigInt64(8 * i, BigInt(values[i]), true);
  }
  return out;
}
