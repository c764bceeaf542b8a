// Host-side data set operations: subsets, class filters, concatenation, padding, invariants.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkDataset, classCounts, concatDatasets, filterClasses, padImages, subsetDataset, type Dataset } from '../src/data/dataset.js';

/** n images of c x h x w whose values are their flat index + 1, label = index mod 3. */
function ramp(n: number, c = 2, h = 2, w = 3, names?: string[]): Dataset {
  const images = Float32Array.from({ length: n * c * h * w }, (_, i) => i + 1);
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 3), n, channels: c, height: h, width: w, classNames: names };
}

test('subsetDataset copies the chosen images in the given order', () => {
  const ds = ramp(4);
  const s = subsetDataset(ds, [3, 0, 3]);
  assert.equal([s.n, s.images.length], [3, 36]);
  assert.equal(Array.from(s.labels), [0, 0, 0]);
  assert.equal(Array.from(s.images.subarray(0, 12)), Array.from(ds.images.subarray(36, 48)));
  assert.equal(Array.from(s.images.subarray(12, 24)), Array.from(ds.images.subarray(0, 12)));
  assert.throws(() => subsetDataset(ds, [4]), /subsetDataset: index 4 is outside 0\.\.3/);
  assert.equal(Array.from(filterClasses(ds, [1, 2]).labels), [1, 2]);
});

test('concatDatasets joins in order, keeps agreeing class names, refuses other shapes', () => {
  const a = ramp(2, 2, 2, 3, ['x', 'y', 'z']);
  const b = ramp(3, 2, 2, 3, ['x', 'y', 'z']);
  const c = concatDatasets([a, b]);
  assert.equal([c.n, c.images.length], [5, 60]);
  assert.equal(Array.from(c.labels), [0, 1, 0, 1, 2]);
  assert.equal(Array.from(c.images.subarray(24, 36)), Array.from(b.images.subarray(0, 12)));
  assert.equal(c.classNames, ['x', 'y', 'z']);
  assert.is(concatDatasets([a, ramp(1)]).classNames, undefined);
  assert.throws(() => concatDatasets([a, ramp(1, 3)]), /image shape 3x2x3 differs from 2x2x3/);
  assert.throws(() => concatDatasets([]), /no data sets given/);
});

test('padImages zero-pads every plane', () => {
  const ds = ramp(2, 2, 1, 2);
  const p = padImages(ds, 1);
  assert.equal([p.height, p.width, p.images.length], [3, 4, 2 * 2 * 12]);
  // Plane 3 (image 1, channel 1) holds 7, 8 in its middle row.
  assert.equal(Array.from(p.images.subarray(36, 48)), [0, 0, 0, 0, 0, 7, 8, 0, 0, 0, 0, 0]);
  assert.is(padImages(ds, 0), ds);
});

test('checkDataset and classCounts', () => {
  const ds = ramp(3);
  checkDataset(ds);
  assert.throws(() => checkDataset({ ...ds, n: 4 }, 'train'), /train: images hold 36 values, expected 4 x 2x2x3 = 48/);
  assert.throws(() => checkDataset({ ...ds, labels: new Int32Array(2) }), /2 labels for 3 images/);
  assert.equal(classCounts(Int32Array.from([2, -1, 2, 0])), [1, 0, 2]);
});

test.run();
