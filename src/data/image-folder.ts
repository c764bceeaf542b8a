// Image folder trees decoded into a Dataset: the generic class-per-folder layout of torchvision's
// ImageFolder (root/<class>/**/<image>, classes numbered in sorted folder-name order) and the
// TinyImageNet-200 layout (train/<wnid>/images/*.JPEG; val/images/*.JPEG labelled by
// val/val_annotations.txt). Images are PNG or JPEG.
import { readdir, realpath } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, type Dataset } from './dataset.js';
import { isFolderEntry, isHidden, readDataFile, readLinesIfPresent, requireFolder, resolveRoot, subfolders } from './files.js';
import { decodeImage, toPlanar, type RgbaImage } from './images.js';
import { resizeBilinear } from './resize.js';

const IMAGE_EXTENSIONS = /\.(png|jpe?g)$/i;
/** Files read ahead of the decoder, so disk latency overlaps decoding. */
const READ_AHEAD = 16;

export interface ImageFolderOptions {
  /**
   * 3 = RGB (default), 1 = luma, 'auto' = 1 when every image is grey (R = G = B at every pixel),
   * 3 when every image is colour; a mix is an error naming one image of each kind.
   */
  channels?: 1 | 3 | 'auto';
  /** Resize every image to [height, width]; without it all images must share the first one's size. */
  size?: readonly [number, number];
  /** Shrink with antialiasing, as torchvision's Resize does (default true); false: plain bilinear, as interpolate. */
  antialias?: boolean;
  /** Load only these class indices (labels keep their index in the full class list). */
  classes?: readonly number[];
}

export interface LabelledFile {
  path: string;
  label: number;
}

/** All image files under `dir` (recursively, through links to folders, each folder once), sorted by path. */
export async function listImageFiles(dir: string): Promise<string[]> {
  return (await findImageFiles(dir)).files;
}

/** listImageFiles, with how many other (not hidden) files it passed over. */
async function findImageFiles(dir: string): Promise<{ files: string[]; skipped: number }> {
  const out: string[] = [];
  let skipped = 0;
  const seen = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    const real = await realpath(d);
    if (seen.has(real)) return; // a link back up the tree
    seen.add(real);
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (isHidden(e.name)) continue;
      const p = join(d, e.name);
      if (await isFolderEntry(d, e)) await walk(p);
      else if (IMAGE_EXTENSIONS.test(e.name)) out.push(p);
      else skipped++;
    }
  };
  await walk(dir);
  return { files: out, skipped };
}

function keepClass(opts: ImageFolderOptions): (label: number) => boolean {
  if (!opts.classes) return () => true;
  const keep = new Set(opts.classes);
  return (l) => keep.has(l);
}

/** Reads and decodes `files` in order into one data set of a single image size. */
export async function decodeImageFiles(source: string, files: readonly LabelledFile[], opts: ImageFolderOptions, classNames?: string[]): Promise<Dataset> {
  if (files.length === 0) throw new DataError(`${source}: no images to load${opts.classes ? ` for classes ${opts.classes.join(',')}` : ''}`);
  const auto = opts.channels === 'auto';
  // 'auto' decodes RGB and keeps one plane at the end when every image turned out grey.
  const channels: 1 | 3 = opts.channels === 1 ? 1 : 3;
  const kinds = { grey: '', colour: '' };
  let size = opts.size;
  let sizeFrom = 'the size option';
  let images: Float32Array | null = null;
  const labels = new Int32Array(files.length);
  // Reads run ahead of the decoding; one that fails before its turn must not be an unhandled
  // rejection (which ends the process): its error is raised when the loop awaits it.
  const read = (i: number) => {
    const bytes = readDataFile(files[i].path);
    bytes.catch(() => undefined);
    return bytes;
  };
  const pending = new Map<number, Promise<Uint8Array>>();
  for (let i = 0; i < Math.min(READ_AHEAD, files.length); i++) pending.set(i, read(i));
  for (let i = 0; i < files.length; i++) {
    const bytes = await pending.get(i)!;
    pending.delete(i);
    if (i + READ_AHEAD < files.length) pending.set(i + READ_AHEAD, read(i + READ_AHEAD));
    const img = decodeImage(bytes, files[i].path);
    if (auto) {
      const kind = isGrey(img) ? 'grey' : 'colour';
      kinds[kind] ||= files[i].path;
      if (kinds.grey && kinds.colour) {
        throw new DataError(
          `${source}: mixed channel counts: ${kinds.grey} is grey (1 channel) but ${kinds.colour} is colour (3 channels); convert the images, or choose the channels (--channels 1 or 3)`,
        );
      }
    }
    if (!size) {
      size = [img.height, img.width];
      sizeFrom = files[i].path;
    }
    const [H, W] = size;
    if (!opts.size && (img.height !== H || img.width !== W)) {
      throw new DataError(`${files[i].path}: ${img.height}x${img.width} pixels, but ${sizeFrom} is ${H}x${W}; pass a size to resize every image`);
    }
    images ??= new Float32Array(files.length * channels * H * W);
    const planar = resizeBilinear(toPlanar(img, channels), channels, img.height, img.width, H, W, opts.antialias ?? true);
    images.set(planar, i * channels * H * W);
    labels[i] = files[i].label;
  }
  const [height, width] = size!;
  if (auto && !kinds.colour) return { images: firstPlanes(images!, files.length, height * width), labels, n: files.length, channels: 1, height, width, classNames };
  return { images: images!, labels, n: files.length, channels, height, width, classNames };
}

/** True when every pixel has R = G = B (a grey PNG or JPEG decodes so). */
function isGrey(img: RgbaImage): boolean {
  const d = img.data;
  for (let p = 0; p < d.length; p += 4) if (d[p] !== d[p + 1] || d[p] !== d[p + 2]) return false;
  return true;
}

/** The first of three planes of each of n planar RGB images (for grey images, their luma). */
function firstPlanes(rgb: Float32Array, n: number, plane: number): Float32Array {
  const out = new Float32Array(n * plane);
  for (let i = 0; i < n; i++) out.set(rgb.subarray(3 * i * plane, (3 * i + 1) * plane), i * plane);
  return out;
}

/**
 * What to do with a class folder without images: the hint its error ends with (what the folder is
 * for, what to do), or null to pass it over (a class the caller does not use).
 */
export type EmptyClass = (className: string) => string | null;

/** The labelled image files of a class-per-folder tree; classes are the sorted sub-folder names. */
export async function listImageFolder(root: string, opts: ImageFolderOptions = {}, emptyClass: EmptyClass = () => ''): Promise<{ files: LabelledFile[]; classNames: string[] }> {
  await requireFolder(root, 'an image folder tree (one sub-folder of PNG/JPEG images per class)');
  const classNames = await subfolders(root);
  if (classNames.length === 0) throw new DataError(`${root}: no class sub-folders (expected one sub-folder of images per class)`);
  const keep = keepClass(opts);
  const files: LabelledFile[] = [];
  for (let label = 0; label < classNames.length; label++) {
    if (!keep(label)) continue;
    const { files: paths, skipped } = await findImageFiles(join(root, classNames[label]));
    if (paths.length === 0) {
      const hint = emptyClass(classNames[label]);
      if (hint === null) continue;
      const others = skipped ? ` (${skipped} other file(s) skipped: only .png, .jpg and .jpeg files are read)` : '';
      throw new DataError(`${join(root, classNames[label])}: no PNG or JPEG images in this class folder${others}${hint}`);
    }
    for (const path of paths) files.push({ path, label });
  }
  return { files, classNames };
}

/** A class-per-folder tree (torchvision ImageFolder numbering), PNG/JPEG decoded. */
export async function loadImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<Dataset> {
  const { files, classNames } = await listImageFolder(root, opts);
  return decodeImageFiles(root, files, opts, classNames);
}

/** TinyImageNet-200's folders and its classes: class i is the i-th wnid of the sorted train/ folder names. */
export async function tinyImageNetClasses(dir: string): Promise<{ root: string; trainDir: string; wnids: string[] }> {
  await requireFolder(dir, 'TinyImageNet-200 (tiny-imagenet-200 with train/ and val/)');
  const root = resolveRoot(dir, 'tiny-imagenet-200', 'train');
  const trainDir = join(root, 'train');
  await requireFolder(trainDir, 'TinyImageNet-200 train/ with one folder per wnid');
  return { root, trainDir, wnids: await subfolders(trainDir) };
}

/**
 * TinyImageNet-200 train or val, from `tiny-imagenet-200` or its parent. Class i is the i-th
 * wnid of the sorted train/ folder names (the numbering the OSR splits use). val/ is read through
 * val/val_annotations.txt, or as class folders when it has been reorganised into them.
 */
export async function loadTinyImageNet(dir: string, split: 'train' | 'val', opts: ImageFolderOptions = {}): Promise<Dataset> {
  const { root, trainDir, wnids } = await tinyImageNetClasses(dir);
  if (split === 'train') {
    const { files } = await listImageFolder(trainDir, opts);
    return decodeImageFiles(trainDir, files, opts, wnids);
  }
  const valDir = join(root, 'val');
  await requireFolder(valDir, 'TinyImageNet-200 val/');
  const annotations = join(valDir, 'val_annotations.txt');
  if (!existsSync(annotations)) {
    const listed = await listImageFolder(valDir, opts);
    if (listed.classNames.join() !== wnids.join()) throw new DataError(`${valDir}: its class folders differ from train/'s ${wnids.length} wnids`);
    return decodeImageFiles(valDir, listed.files, opts, wnids);
  }
  const index = new Map(wnids.map((w, i) => [w, i]));
  const keep = keepClass(opts);
  const files: LabelledFile[] = [];
  const lines = (await readLinesIfPresent(annotations)) ?? [];
  lines.forEach((line, i) => {
    const [file, wnid] = line.split('\t');
    const label = index.get(wnid);
    if (!file || label === undefined) {
      throw new DataError(`val_annotations.txt: line ${i + 1} ("${line.slice(0, 60)}") does not name an image and a wnid of train/`);
    }
    if (keep(label)) files.push({ path: join(valDir, 'images', file), label });
  });
  return decodeImageFiles(valDir, files, opts, wnids);
}
