// SVHN cropped digits (http://ufldl.stanford.edu/housenumbers/), 32x32 RGB, read from either
//  - the official train_32x32.mat / test_32x32.mat (MAT v5: X is 32x32x3xN uint8, y is Nx1 with
//    digit 0 written as 10), or
//  - train_32x32.bin / test_32x32.bin in the CIFAR-10 binary record layout (1 label byte, then
//    3x32x32 pixel bytes, planes R, G, B, rows top to bottom), for .mat files this reader cannot
//    open (e.g. re-saved as v7.3). A label of 10 is read as digit 0 in both. Conversion (scipy
//    reads v5 files only and raises NotImplementedError on v7.3, which h5py reads: HDF5 holds
//    MATLAB's column-major arrays with their axes reversed, X as N x 3 x 32(columns) x 32(rows)):
//
//      import numpy as np
//      for split in ('train', 'test'):
//          path = f'{split}_32x32.mat'
//          try:
//              import scipy.io; m = scipy.io.loadmat(path)
//              x, y = m['X'].transpose(3, 2, 0, 1), m['y'].ravel()     # N x C x H x W
//          except NotImplementedError:                                # v7.3
//              import h5py; f = h5py.File(path, 'r')
//              x, y = f['X'][()].transpose(0, 1, 3, 2), f['y'][()].ravel()
//          x = x.reshape(len(y), -1)                                  # N x (C*H*W), CHW order
//          y = (y % 10).astype(np.uint8)                              # the .mat writes 0 as 10
//          np.concatenate([y[:, None], x], axis=1).astype(np.uint8).tofile(f'{split}_32x32.bin')
import { basename } from 'node:path';
import { DataError, type Dataset } from './dataset.js';
import { findFile, readDataFile, requireFolder } from './files.js';
import { loadRecordFiles, recordsToDataset } from './cifar.js';
import { readMat } from './mat.js';
import { MNIST_CLASS_NAMES } from './mnist-digits.js';

const SIZE = 32;

function digitLabel(raw: number): number {
  return raw === 10 ? 0 : raw;
}

/** Decodes the X and y arrays of an official SVHN .mat file. */
export function svhnFromMat(bytes: Uint8Array, file: string): Dataset {
  const name = basename(file);
  const arrays = readMat(bytes, file);
  const X = arrays.get('X');
  const y = arrays.get('y');
  if (!X || !y) throw new DataError(`${name}: expected variables X and y (SVHN format), found ${[...arrays.keys()].join(', ') || 'none'}`);
  const [h, w, c, n] = X.dims;
  if (X.dims.length !== 4 || h !== SIZE || w !== SIZE || c !== 3) {
    throw new DataError(`${name}: X has size ${X.dims.join('x')}, expected 32x32x3xN`);
  }
  if (y.length !== n) throw new DataError(`${name}: y holds ${y.length} labels for ${n} images`);
  const plane = SIZE * SIZE;
  const images = new Float32Array(n * 3 * plane);
  // Column-major X(r, c, ch, i) lies at r + 32 c + 1024 ch + 3072 i: a transpose per plane.
  const src = X.uint8;
  for (let i = 0; i < n * 3; i++) {
    for (let col = 0; col < SIZE; col++) {
      for (let row = 0; row < SIZE; row++) {
        const s = i * plane + col * SIZE + row;
        images[i * plane + row * SIZE + col] = (src ? src[s] : X.at(s)) / 255;
      }
    }
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = digitLabel(y.at(i));
    if (!(Number.isInteger(l) && l >= 0 && l <= 9)) throw new DataError(`${name}: y(${i + 1}) = ${y.at(i)} is not a digit label 1..10`);
    labels[i] = l;
  }
  return { images, labels, n, channels: 3, height: SIZE, width: SIZE, classNames: MNIST_CLASS_NAMES };
}

/** SVHN train or test from a folder holding <split>_32x32.mat or <split>_32x32.bin. */
export async function loadSvhn(dir: string, split: 'train' | 'test'): Promise<Dataset> {
  await requireFolder(dir, 'SVHN (train_32x32.mat and test_32x32.mat, or their .bin conversions)');
  const bin = findFile(dir, [`${split}_32x32.bin`]);
  if (bin) {
    const records = await loadRecordFiles([bin], { labelClasses: [10], format: 'SVHN (CIFAR-10 record layout)' }, digitLabel);
    return recordsToDataset(records, 0, MNIST_CLASS_NAMES);
  }
  const mat = findFile(dir, [`${split}_32x32.mat`]);
  if (!mat) throw new DataError(`${dir}: no ${split}_32x32.mat or ${split}_32x32.bin (expected SVHN cropped digits; the top of src/data/svhn.ts shows the .bin conversion)`);
  return svhnFromMat(await readDataFile(mat), mat);
}
