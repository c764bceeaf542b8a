// Image folders: PNG/JPEG decoding, class numbering by sorted folder name, luma, antialiased resizing,
// class filtering, the TinyImageNet layout, and the errors for corrupt, truncated, foreign and
// differently sized files (named by their paths), linked class folders, and reads that fail ahead of their turn.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadImageFolder, loadTinyImageNet } from '../src/data/image-folder.js';
import { decodeImage } from '../src/data/images.js';
import { resizeBilinear } from '../src/data/resize.js';
import { jpegBytes, pngBytes, put, rejects, removeTempDirs, rgbaImage, tempDir } from './data-fixtures.js';

test.after(removeTempDirs);

/** dog/ (2 PNGs, one in a sub-folder) and cat/ (1 JPEG): cat is class 0, dog class 1. */
function writeFolder(root: string) {
  const a = rgbaImage(3, 2, 1);
  const b = rgbaImage(3, 2, 2);
  put(root, 'dog/b.png', pngBytes(b));
  put(root, 'dog/deeper/a.PNG', pngBytes(a));
  put(root, 'dog/notes.txt', 'not an image');
  put(root, 'cat/x.jpg', jpegBytes(3, 2, [200, 100, 50]));
  return { a, b };
}

test('class-per-folder tree: sorted classes, sorted files, RGB planes in [0, 1]', async () => {
  const root = tempDir();
  const { a, b } = writeFolder(root);
  const ds = await loadImageFolder(root);
  assert.equal(ds.classNames, ['cat', 'dog']);
  assert.equal([ds.n, ds.channels, ds.height, ds.width], [3, 3, 2, 3]);
  assert.equal(Array.from(ds.labels), [0, 1, 1]);
  // dog/b.png sorts before dog/deeper/a.PNG; each image is R, G, B planes of 2x3.
  const planar = (img: typeof a) => [0, 1, 2].flatMap((ch) => Array.from({ length: 6 }, (_, p) => Math.fround(img.data[4 * p + ch] / 255)));
  assert.equal(Array.from(ds.images.subarray(18, 36)), planar(b));
  assert.equal(Array.from(ds.images.subarray(36, 54)), planar(a));
  const jpegPixel = [ds.images[0], ds.images[6], ds.images[12]].map((v) => Math.round(v * 255));
  jpegPixel.forEach((v, i) => assert.ok(Math.abs(v - [200, 100, 50][i]) <= 3, `JPEG channel ${i}: ${v}`));
});

test('one-channel luma, a class filter and resizing', async () => {
  const root = tempDir();
  const { b } = writeFolder(root);
  const gray = await loadImageFolder(root, { channels: 1, classes: [1] });
  assert.equal(Array.from(gray.labels), [1, 1]);
  const [r, g, bl] = [0, 1, 2].map((ch) => b.data[4 * 4 + ch] / 255);
  assert.ok(Math.abs(gray.images[4] - (0.299 * r + 0.587 * g + 0.114 * bl)) < 1e-6);
  put(root, 'cat/big.png', pngBytes(rgbaImage(6, 4)));
  // Both files by their paths: a file name alone (0.png) would not say which class folder it is in.
  await rejects(() => loadImageFolder(root), new RegExp(`^${join(root, 'cat', 'x.jpg')}: 2x3 pixels, but ${join(root, 'cat', 'big.png')} is 4x6; pass a size to resize every image$`));
  const resized = await loadImageFolder(root, { size: [4, 6] });
  assert.equal([resized.n, resized.height, resized.width], [4, 4, 6]);
  // Shrinking is antialiased, as torchvision's Resize does it.
  const small = await loadImageFolder(root, { size: [2, 3] });
  const big = rgbaImage(6, 4);
  const bigPlanar = Float32Array.from({ length: 3 * 24 }, (_, i) => big.data[4 * (i % 24) + Math.floor(i / 24)] / 255);
  assert.equal(Array.from(small.images.subarray(0, 18)), Array.from(resizeBilinear(bigPlanar, 3, 4, 6, 2, 3, true)));
  assert.not.equal(Array.from(small.images.subarray(0, 18)), Array.from(resizeBilinear(bigPlanar, 3, 4, 6, 2, 3)));
});

test('truncated, corrupt, foreign and empty files name the file', async () => {
  const png = pngBytes(rgbaImage(8, 8));
  const jpg = jpegBytes(16, 16, [10, 20, 30]);
  assert.throws(() => decodeImage(png.subarray(0, png.length - 20), 'cut.png'), /^cut\.png: cannot decode PNG \(.*\); the file is truncated or corrupt$/);
  const flipped = Uint8Array.from(png);
  flipped[40] ^= 0xff;
  assert.throws(() => decodeImage(flipped, 'crc.png'), /crc\.png: cannot decode PNG/);
  assert.throws(() => decodeImage(jpg.subarray(0, jpg.length >> 1), 'cut.jpg'), /cut\.jpg: cannot decode JPEG/);
  assert.throws(() => decodeImage(new TextEncoder().encode('GIF89a...'), 'a.png'), /^a\.png: not a PNG or JPEG file \(starts with 'GIF89a\.\.\.'\)$/);
  assert.throws(() => decodeImage(Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0]), 'b.png'), /^b\.png: not a PNG or JPEG file \(starts with 47 49 46 38 39 61 01 00 \.\.\.\)$/);
  assert.throws(() => decodeImage(new Uint8Array(0), 'e.jpg'), /e\.jpg: not a PNG or JPEG file \(starts with nothing: empty file\)/);
  const root = tempDir();
  writeFolder(root);
  put(root, 'dog/c.png', png.subarray(0, 50));
  await rejects(() => loadImageFolder(root), new RegExp(`^${join(root, 'dog', 'c.png')}: cannot decode PNG`));
  const empty = tempDir();
  put(empty, 'a/x.png', png);
  put(empty, 'b/readme.txt', 'hi');
  await rejects(() => loadImageFolder(empty), /b: no PNG or JPEG images in this class folder/);
  await rejects(() => loadImageFolder(join(empty, 'a')), /a: no class sub-folders/);
  await rejects(() => loadImageFolder(join(empty, 'zzz')), /zzz: no such file \(expected an image folder tree/);
});

test('linked class folders count (a loop is walked once), hidden entries do not; a file that fails while read ahead is no unhandled rejection', async () => {
  const root = tempDir();
  writeFolder(root);
  const elsewhere = tempDir();
  put(elsewhere, 'bird/z.png', pngBytes(rgbaImage(3, 2, 5)));
  symlinkSync(join(elsewhere, 'bird'), join(root, 'bird'));
  symlinkSync(join(root, 'dog'), join(root, 'dog', 'loop'));
  put(root, '.ipynb_checkpoints/x.png', pngBytes(rgbaImage(3, 2, 6)));
  put(root, 'cat/._x.jpg', 'an AppleDouble resource fork, no image');
  const ds = await loadImageFolder(root);
  assert.equal(ds.classNames, ['bird', 'cat', 'dog'], 'the linked folder is a class, as in torchvision; hidden ones are not');
  assert.equal(Array.from(ds.labels), [0, 1, 2, 2]);

  // The first file fails to decode while the second (a dangling link) is still being read ahead.
  const bad = tempDir();
  put(bad, 'a/0.png', pngBytes(rgbaImage(8, 8)).subarray(0, 50));
  symlinkSync(join(bad, 'nowhere.png'), join(bad, 'a', '1.png'));
  const unhandled: unknown[] = [];
  const record = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', record);
  try {
    await rejects(() => loadImageFolder(bad), /0\.png: cannot decode PNG/);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    process.off('unhandledRejection', record);
  }
  assert.equal(unhandled, [], 'no read left unhandled');
});

/** tiny-imagenet-200 with 3 wnids (folder order != sorted order of wnids.txt) and 4 val images. */
function writeTiny(parent: string) {
  const root = join(parent, 'tiny-imagenet-200');
  const wnids = ['n02', 'n01', 'n03'];
  put(root, 'wnids.txt', wnids.join('\n'));
  wnids.forEach((w, k) => {
    put(root, `train/${w}/images/${w}_0.JPEG`, pngBytes(rgbaImage(4, 4, k)));
    put(root, `train/${w}/images/${w}_1.JPEG`, jpegBytes(4, 4, [k * 50, 0, 0]));
    put(root, `train/${w}/${w}_boxes.txt`, 'boxes');
  });
  const val = [
    ['val_0.JPEG', 'n03'],
    ['val_1.JPEG', 'n01'],
    ['val_2.JPEG', 'n03'],
    ['val_3.JPEG', 'n02'],
  ];
  val.forEach(([f], k) => put(root, `val/images/${f}`, pngBytes(rgbaImage(4, 4, 10 + k))));
  put(root, 'val/val_annotations.txt', val.map(([f, w]) => `${f}\t${w}\t0\t0\t3\t3`).join('\n') + '\n');
  return root;
}

test('TinyImageNet: classes by sorted wnid, train images under <wnid>/images, val by annotations', async () => {
  const parent = tempDir();
  const root = writeTiny(parent);
  const train = await loadTinyImageNet(parent, 'train');
  assert.equal(train.classNames, ['n01', 'n02', 'n03']);
  assert.equal(Array.from(train.labels), [0, 0, 1, 1, 2, 2]);
  assert.equal([train.channels, train.height, train.width], [3, 4, 4]);
  const val = await loadTinyImageNet(root, 'val');
  assert.equal(Array.from(val.labels), [2, 0, 2, 1]);
  const known = await loadTinyImageNet(root, 'val', { classes: [2] });
  assert.equal(Array.from(known.labels), [2, 2]);
  assert.equal(Array.from(known.images.subarray(48, 96)), Array.from(val.images.subarray(96, 144)));
  put(root, 'val/val_annotations.txt', 'val_0.JPEG\tn99\t0\t0\t3\t3\n');
  await rejects(() => loadTinyImageNet(root, 'val'), /val_annotations\.txt: line 1 \("val_0\.JPEG\tn99.*"\) does not name an image and a wnid of train\//);
  put(root, 'val/val_annotations.txt', 'val_9.JPEG\tn01\t0\t0\t3\t3\n');
  await rejects(() => loadTinyImageNet(root, 'val'), /val_9\.JPEG: cannot read \(no such file\)/);
  await rejects(() => loadTinyImageNet(tempDir(), 'train'), /train: no such file \(expected TinyImageNet-200 train\//);
});

test.run();
