// The user's own images as an open-set problem: a folder with one sub-folder of PNG/JPEG images
// per class, of which the classes named by --known are known. Each known class is split into
// training images and a held-out fraction (--val-fraction) that serves as the known test set and
// calibrates the open-set threshold; the folder's other classes, or every image of a second
// folder (--unknown-data), are the unknown test set. Images of any size are resized to the model's
// input; channels come from the images (all grey: 1, all colour: 3) unless chosen.
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { DataError, UNKNOWN_LABEL, type Dataset } from './dataset.js';
import { epochOrder } from './batches.js';
import { decodeImageFiles, listImageFolder, type LabelledFile } from './image-folder.js';
import { requireFolder, subfolders } from './files.js';
import { FOLDER_PROTOCOL, type OpenSetData } from './open-set.js';
import { closestName } from '../closest-name.js';

export interface FolderDataOptions {
  /** The image folder tree: one sub-folder of images per class. */
  dataDir: string;
  /** Names of the known classes' sub-folders, in the order that defines labels 0..K-1. */
  known: readonly string[];
  /** A folder whose images are all unknown (default: the data folder's other classes). */
  unknownDataDir?: string;
  /** Fraction of each known class held out as the known test set, in (0, 1). */
  valFraction: number;
  /** Every image is resized to imageSize x imageSize. */
  imageSize: number;
  /** 1 or 3 converts every image; default: from the images. */
  channels?: 1 | 3;
  /** Shrink with antialiasing, as torchvision's Resize (default true; runs recorded before it existed shrank plainly). */
  antialias?: boolean;
}

/** Which images of a known class are held out: a fixed shuffle per class (the same for every seed). */
function heldOutCount(n: number, fraction: number, folder: string): number {
  if (n < 2) throw new DataError(`${folder}: ${n} image; a known class needs at least 2 (one to train on, one held out by --val-fraction)`);
  return Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
}

/** The known class names checked against the folder's classes (typos get a suggestion). */
function knownLabels(root: string, classNames: string[], known: readonly string[]): number[] {
  if (known.length < 2) throw new DataError(`--known: open-set recognition needs at least 2 known classes, got ${known.length} (${known.join(', ') || 'none'})`);
  const seen = new Set<string>();
  return known.map((name) => {
    if (seen.has(name)) throw new DataError(`--known: class '${name}' is named twice`);
    seen.add(name);
    const label = classNames.indexOf(name);
    if (label < 0) {
      const near = closestName(name, classNames);
      throw new DataError(`--known: ${root} has no class folder '${name}'${near ? `; did you mean '${near}'?` : ''} (classes: ${classNames.join(', ')})`);
    }
    return label;
  });
}

/** The unknown images: every image under unknownDataDir (its sub-folders name the classes), or the other classes of the data folder. */
async function unknownFiles(o: FolderDataOptions, files: LabelledFile[], classNames: string[], known: Set<number>): Promise<{ files: LabelledFile[]; names: string[] }> {
  if (!o.unknownDataDir) {
    const others = classNames.map((_, c) => c).filter((c) => !known.has(c));
    const names = others.map((c) => classNames[c]);
    const index = new Map(others.map((c, i) => [c, i]));
    return { files: files.filter((f) => !known.has(f.label)).map((f) => ({ ...f, label: index.get(f.label)! })), names };
  }
  await requireFolder(o.unknownDataDir, 'a folder of unknown-class images (--unknown-data)');
  const [unknownReal, dataReal] = [await realpath(o.unknownDataDir), await realpath(o.dataDir)];
  if (unknownReal === dataReal) {
    throw new DataError(`--unknown-data ${o.unknownDataDir} is the --data folder; its known classes would be scored as unknown (leave --unknown-data out to use the folder's other classes)`);
  }
  // Images are listed recursively: a folder above --data holds its known images, one inside it some of them.
  const inside = (dir: string, root: string) => {
    const rel = relative(root, dir);
    return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  };
  const below = inside(unknownReal, dataReal);
  if (below || inside(dataReal, unknownReal)) {
    throw new DataError(
      `--unknown-data ${o.unknownDataDir} ${below ? 'lies inside' : 'holds'} the --data folder ${o.dataDir}; images of --data would be scored as unknown (give --unknown-data a folder apart from --data)`,
    );
  }
  if ((await subfolders(o.unknownDataDir)).length > 0) {
    const listed = await listImageFolder(o.unknownDataDir, {}, () => `; every sub-folder of --unknown-data ${o.unknownDataDir} is an unknown class: add images or remove it`);
    const clash = listed.classNames.filter((n) => known.has(classNames.indexOf(n)));
    if (clash.length) {
      throw new DataError(
        `--unknown-data ${o.unknownDataDir}: class folder${clash.length > 1 ? 's' : ''} ${clash.join(', ')} ${clash.length > 1 ? 'are' : 'is'} also known (--known); an unknown set must hold other classes`,
      );
    }
    return { files: listed.files, names: listed.classNames };
  }
  throw new DataError(`${o.unknownDataDir}: no sub-folders; --unknown-data expects one sub-folder of images per unknown class (a single one will do)`);
}

/** Loads the open-set view of an image folder (protocol 'folder', split 0). */
export async function loadFolderOpenSet(o: FolderDataOptions): Promise<OpenSetData> {
  if (!(o.valFraction > 0 && o.valFraction < 1)) throw new DataError(`--val-fraction must be between 0 and 1 (exclusive), got ${o.valFraction}`);
  const listed = await listImageFolder(o.dataDir, {}, (name) => {
    if (o.known.includes(name)) return '; it is a --known class: add its images, or leave it out of --known';
    // With --unknown-data the other class folders are not used.
    if (o.unknownDataDir) return null;
    return `; every class folder of ${o.dataDir} not in --known (${o.known.join(', ')}) is an unknown class: remove it, or give the unknown classes a folder of their own with --unknown-data`;
  });
  const labels = knownLabels(o.dataDir, listed.classNames, o.known);
  const knownSet = new Set(labels);
  const trainFiles: LabelledFile[] = [];
  const heldOutFiles: LabelledFile[] = [];
  labels.forEach((folderLabel, label) => {
    const own = listed.files.filter((f) => f.label === folderLabel);
    const held = heldOutCount(own.length, o.valFraction, `${o.dataDir}/${listed.classNames[folderLabel]}`);
    const order = epochOrder(own.length, label, -3);
    order.forEach((i, rank) => (rank < held ? heldOutFiles : trainFiles).push({ path: own[i].path, label }));
  });
  const byPath = (a: LabelledFile, b: LabelledFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  trainFiles.sort(byPath);
  heldOutFiles.sort(byPath);
  const unknown = await unknownFiles(o, listed.files, listed.classNames, knownSet);

  // One decode of every image, so the channel count is decided over all of them.
  const all = [...trainFiles, ...heldOutFiles, ...unknown.files];
  const antialias = o.antialias ?? true;
  const decoded = await decodeImageFiles(o.dataDir, all, { channels: o.channels ?? 'auto', size: [o.imageSize, o.imageSize], antialias });
  const part = (start: number, count: number, unknownSet: boolean): Dataset => {
    const per = decoded.channels * o.imageSize * o.imageSize;
    const source = decoded.labels.slice(start, start + count);
    return {
      images: decoded.images.subarray(start * per, (start + count) * per),
      labels: unknownSet ? new Int32Array(count).fill(UNKNOWN_LABEL) : source,
      n: count,
      channels: decoded.channels,
      height: o.imageSize,
      width: o.imageSize,
      classNames: unknownSet ? undefined : [...o.known],
      sourceLabels: source,
    };
  };
  const train = part(0, trainFiles.length, false);
  const testKnown = part(trainFiles.length, heldOutFiles.length, false);
  const testUnknown = part(trainFiles.length + heldOutFiles.length, unknown.files.length, true);
  return {
    protocol: FOLDER_PROTOCOL,
    split: 0,
    knownClasses: labels,
    unknownClasses: unknown.names.map((_, i) => i),
    train,
    testKnown,
    testUnknown,
    knownClassNames: [...o.known],
    unknownClassNames: unknown.names,
    antialias,
  };
}
