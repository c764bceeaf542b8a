// Decoding one PNG or JPEG file (chosen by its magic bytes, not its extension) into planar
// [0, 1] floats.
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { DataError } from './dataset.js';
import { crc32 } from '../crc32.js';
import { fileStart } from '../file-start.js';

export interface RgbaImage {
  width: number;
  height: number;
  /** 8-bit RGBA, row-major. */
  data: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What is wrong with a PNG's chunks, or null: each chunk's CRC must match, IHDR come first, image
 * data be there and IEND come last. The decoder skips chunks it does not know, so a damaged chunk
 * type could otherwise decode as an image without its data.
 */
function pngChunkProblem(bytes: Uint8Array): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: string[] = [];
  for (let at = PNG_MAGIC.length; at < bytes.length && types[types.length - 1] !== 'IEND';) {
    if (at + 12 > bytes.length) return `chunk ${types.length + 1} is cut off at byte ${at}`;
    const end = at + 12 + view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) return `chunk ${types.length + 1} at byte ${at} has no valid type`;
    if (end > bytes.length) return `chunk ${type} at byte ${at} runs past the end of the file`;
    if (crc32([bytes.subarray(at + 4, end - 4)]) !== view.getUint32(end - 4)) return `the CRC of chunk ${type} at byte ${at} does not match its contents`;
    types.push(type);
    at = end;
  }
  if (types[0] !== 'IHDR' || !types.includes('IDAT') || types[types.length - 1] !== 'IEND') {
    return `its chunks are ${types.join(', ') || 'none'}; a PNG needs IHDR first, IDAT and IEND last`;
  }
  return null;
}

/** Decodes PNG or JPEG bytes to RGBA; a corrupt or truncated file throws naming the file (its path as given). */
export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  const name = file;
  if (startsWith(bytes, PNG_MAGIC)) {
    const problem = pngChunkProblem(bytes);
    if (problem) throw new DataError(`${name}: cannot decode PNG (${problem}); the file is truncated or corrupt`);
    try {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: png.data };
    } catch (err) {
      throw new DataError(`${name}: cannot decode PNG (${errorText(err)}); the file is truncated or corrupt`);
    }
  }
  if (startsWith(bytes, JPEG_MAGIC)) {
    try {
      // tolerantDecoding off: a truncated JPEG must fail rather than come back half grey.
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, data: img.data };
    } catch (err) {
      throw new DataError(`${name}: cannot decode JPEG (${errorText(err)}); the file is truncated or corrupt`);
    }
  }
  throw new DataError(`${name}: not a PNG or JPEG file (starts with ${fileStart(bytes)})`);
}

/**
 * RGBA -> planar C x H x W floats in [0, 1]. Alpha is dropped; one channel is the ITU-R 601
 * luma 0.299 R + 0.587 G + 0.114 B (what PIL's convert('L') computes, without its rounding).
 */
export function toPlanar(img: RgbaImage, channels: 1 | 3): Float32Array {
  const { width: w, height: h, data } = img;
  const plane = w * h;
  const out = new Float32Array(channels * plane);
  for (let p = 0; p < plane; p++) {
    const r = data[4 * p] / 255;
    const g = data[4 * p + 1] / 255;
    const b = data[4 * p + 2] / 255;
    if (channels === 1) {
      out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    } else {
      out[p] = r;
      out[plane + p] = g;
      out[2 * plane + p] = b;
    }
  }
  return out;
}
