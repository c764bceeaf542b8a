// Writers for small data files of every format the loaders read (IDX, CIFAR records, MAT v5,
// PNG, JPEG) in throw-away temp folders, for the data-*.test.ts suites.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import * as assert from 'uvu/assert';

const made: string[] = [];

/** A fresh temp folder, removed by removeTempDirs(). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-data-'));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Writes `bytes` to dir/name, creating folders on the way; returns the path. */
export function put(dir: string, name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

function u32be(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

export function idxImages(n: number, h: number, w: number, pixels: ArrayLike<number>): Uint8Array {
  return Uint8Array.from([...u32be(0x803), ...u32be(n), ...u32be(h), ...u32be(w), ...Array.from(pixels)]);
}

export function idxLabels(labels: readonly number[]): Uint8Array {
  return Uint8Array.from([...u32be(0x801), ...u32be(labels.length), ...labels]);
}

/** Deterministic pixel bytes, different per position and image. */
export function pixelBytes(count: number, salt = 0): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (i * 37 + salt * 101 + 11) % 256);
}

/** CIFAR-style records: the label bytes of each record, then 3x32x32 pixels from pixelBytes. */
export function cifarRecords(labels: readonly (readonly number[])[], salt = 0): { bytes: Uint8Array; pixels: Uint8Array[] } {
  const pixels = labels.map((_, i) => pixelBytes(3072, salt * 1000 + i));
  const parts = labels.flatMap((l, i) => [Uint8Array.from(l), pixels[i]]);
  return { bytes: concat(parts), pixels };
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface MatVar {
  name: string;
  dims: number[];
  /** Column-major values. */
  values: ArrayLike<number>;
  type: 'uint8' | 'double';
  compress?: boolean;
}

/** A little-endian MATLAB Level 5 MAT-file holding numeric arrays (what scipy.io.savemat writes). */
export function matFile(vars: readonly MatVar[]): Uint8Array {
  const header = new Uint8Array(128).fill(0x20);
  header.set(new TextEncoder().encode('MATLAB 5.0 MAT-file, written by the gradmix tests'));
  header.set([0, 1, 0x49, 0x4d], 124); // version 0x0100, endian 'IM'
  const element = (type: number, data: Uint8Array, pad = true): Uint8Array => {
    const size = data.length;
    if (pad && size <= 4) {
      // Small data element, as scipy writes for names of up to 4 characters.
      const out = new Uint8Array(8);
      new DataView(out.buffer).setUint32(0, (size << 16) | type, true);
      out.set(data, 4);
      return out;
    }
    const padded = pad ? Math.ceil(size / 8) * 8 : size;
    const out = new Uint8Array(8 + padded);
    const v = new DataView(out.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, size, true);
    out.set(data, 8);
    return out;
  };
  const le32 = (vals: number[]) => {
    const b = new Uint8Array(4 * vals.length);
    vals.forEach((x, i) => new DataView(b.buffer).setInt32(4 * i, x, true));
    return b;
  };
  const parts = vars.map((m) => {
    const cls = m.type === 'uint8' ? 9 : 6;
    const data = m.type === 'uint8' ? Uint8Array.from(m.values) : new Uint8Array(Float64Array.from(m.values).buffer);
    const matrix = element(14, concat([element(6, le32([cls, 0])), element(5, le32(m.dims)), element(1, new TextEncoder().encode(m.name)), element(m.type === 'uint8' ? 2 : 9, data)]));
    return m.compress ? element(15, deflateSync(matrix), false) : matrix;
  });
  return concat([header, ...parts]);
}

/** An 8-bit RGBA image with deterministic content. */
export function rgbaImage(w: number, h: number, salt = 0): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(w * h * 4);
  for (let p = 0; p < w * h; p++) {
    data[4 * p] = (p * 29 + salt * 7) % 256;
    data[4 * p + 1] = (p * 53 + salt * 13 + 40) % 256;
    data[4 * p + 2] = (p * 71 + salt * 3 + 90) % 256;
    data[4 * p + 3] = 255;
  }
  return { width: w, height: h, data };
}

export function pngBytes(img: { width: number; height: number; data: Uint8Array }): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data);
  return PNG.sync.write(png);
}

/** A flat-coloured JPEG (flat so the lossy round trip is near exact). */
export function jpegBytes(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let p = 0; p < w * h; p++) data.set([...rgb, 255], 4 * p);
  return jpeg.encode({ width: w, height: h, data }, 100).data;
}

/** Asserts that `fn` rejects with a message matching every pattern; returns the error. */
export async function rejects(fn: () => Promise<unknown>, ...patterns: RegExp[]): Promise<Error> {
  let error: Error | null = null;
  try {
    await fn();
  } catch (err) {
    error = err as Error;
  }
  assert.ok(error !== null, `expected an error matching ${patterns.join(' and ')}, but nothing was thrown`);
  for (const p of patterns) assert.match(error!.message, p);
  return error!;
}
