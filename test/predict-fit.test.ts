// New images reach a recogniser as its training images did: MNIST's 28 x 28 digits padded to 32 x 32
// (not stretched), own images shrunk with the run's resize rule, by `predict` on files and by the
// library's predict on pixels of any size alike.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { padImages, type Dataset } from '../src/data/dataset.js';
import { protocolInfo, type InputInfo } from '../src/data/open-set.js';
import { resizeBilinear } from '../src/data/resize.js';
import { decodeImageFiles } from '../src/data/image-folder.js';
import { SupConResNet } from '../src/nn/index.js';
import { fitToInput, inputPadding } from '../src/osr/fit-input.js';
import { OpenSetModel } from '../src/osr/open-set-model.js';
import { predictFiles } from '../src/osr/open-set-file.js';
import { Rng } from '../src/random.js';
import { pngBytes, put, removeTempDirs, tempDir } from './data-fixtures.js';
import { writeShapesFolder } from './shapes-folder.js';
import { seeded, setupGpu } from './helpers.js';

const test = suite('predict fit');
test.before(setupGpu);
test.after(removeTempDirs);

function randomImages(rng: Rng, n: number, channels: number, height: number, width: number): Dataset {
  const images = Float32Array.from({ length: n * channels * height * width }, () => rng.uniform());
  return { images, labels: new Int32Array(n), n, channels, height, width };
}

/** As storeRecogniser records a protocol run's input: the protocol's, antialiased for new images of other sizes. */
const MNIST_INPUT: InputInfo = { ...protocolInfo('mnist-mini'), antialias: true };

test('fitToInput: a digit of 28 x 28 is padded as MNIST was; the input size is kept; other sizes resized with the rule', () => {
  const { rng, seed } = seeded();
  const digits = randomImages(rng, 3, 1, 28, 28);
  assert.equal(fitToInput(digits, MNIST_INPUT).images, padImages(digits, 2).images, `seed ${seed}`);
  const whole = randomImages(rng, 2, 1, 32, 32);
  assert.is(fitToInput(whole, MNIST_INPUT), whole);
  // A 56 x 56 digit: to 28 x 28 (antialiased), then padded; a recogniser without the rule shrinks plainly.
  const big = randomImages(rng, 1, 1, 56, 56);
  const shrunk = (antialias: boolean) => padImages({ ...big, images: resizeBilinear(big.images, 1, 56, 56, 28, 28, antialias), height: 28, width: 28 }, 2).images;
  assert.equal(fitToInput(big, MNIST_INPUT).images, shrunk(true));
  assert.equal(fitToInput(big, { ...MNIST_INPUT, antialias: undefined }).images, shrunk(false));
  // Own colour images, antialiased and not padded; two images of 40 x 30 each resized alone.
  const own: InputInfo = { channels: 3, imageSize: 16, augmentation: 'cifar', antialias: true };
  const photos = randomImages(rng, 2, 3, 40, 30);
  const want = new Float32Array(2 * 3 * 16 * 16);
  for (let i = 0; i < 2; i++) want.set(resizeBilinear(photos.images.subarray(i * 3600, (i + 1) * 3600), 3, 40, 30, 16, 16, true), i * 768);
  const got = fitToInput(photos, own);
  assert.equal([got.n, got.channels, got.height, got.width], [2, 3, 16, 16]);
  assert.equal(got.images, want);
});

test('a recogniser stored before the padding was recorded: MNIST protocols are padded by their name, own images not', () => {
  const { padding: _, ...older } = MNIST_INPUT;
  assert.is(inputPadding(older), 2);
  assert.is(inputPadding({ channels: 1, imageSize: 24, augmentation: 'mnist' }), 0);
});

/** A recogniser of an untrained width-2 network: the rule under test is the input's, not the model's. */
async function recogniserOf(input: InputInfo, gallery: Dataset): Promise<OpenSetModel> {
  const model = new SupConResNet(new Rng(5), { width: 2, inChannels: input.channels });
  model.eval();
  const labels = Int32Array.from({ length: gallery.n }, (_, i) => i % 2);
  return OpenSetModel.calibrate(model, { ...gallery, labels }, gallery, { classNames: ['a', 'b'], input, k: 1 });
}

test('predict on a 28 x 28 digit file scores it padded, as the library scores the padded digit', async () => {
  const { rng } = seeded();
  const recogniser = await recogniserOf(MNIST_INPUT, randomImages(rng, 6, 1, 32, 32));
  try {
    const digit = randomImages(rng, 1, 1, 28, 28);
    const grey = Uint8Array.from(digit.images, (v) => Math.round(v * 255));
    const rgba = new Uint8Array(28 * 28 * 4);
    grey.forEach((g, p) => rgba.set([g, g, g, 255], 4 * p));
    const file = put(tempDir(), 'digit.png', pngBytes({ width: 28, height: 28, data: rgba }));
    const [fromFile] = await predictFiles(recogniser, [file]);
    const decoded = Float32Array.from(grey, (g) => g / 255);
    const [padded] = await recogniser.predict(padImages({ ...digit, images: decoded }, 2));
    const [stretched] = await recogniser.predict(resizeBilinear(decoded, 1, 28, 28, 32, 32), [1, 1, 32, 32]);
    assert.is(fromFile.score, padded.score);
    assert.is.not(fromFile.score, stretched.score, 'the padded digit is another input than the stretched one');
  } finally {
    recogniser.model.dispose();
    recogniser.dispose();
  }
});

test("own images: predict on files and the library's predict on pixels of any size both shrink with the run's rule", async () => {
  const root = writeShapesFolder(tempDir(), { perClass: 2, colour: true });
  const files = ['bars', 'disc'].flatMap((c) => [0, 1].map((i) => join(root, c, `${i}.png`)));
  const input: InputInfo = { channels: 3, imageSize: 16, augmentation: 'cifar', antialias: true };
  const asTrained = await decodeImageFiles(
    'test',
    files.map((path) => ({ path, label: 0 })),
    { channels: 3, size: [16, 16], antialias: true },
  );
  const recogniser = await recogniserOf(input, asTrained);
  try {
    const want = (await recogniser.predict(asTrained)).map((p) => p.score);
    assert.equal(
      (await predictFiles(recogniser, files)).map((p) => p.score),
      want,
    );
    // Folders are searched as gradmix predict searches them: their images, in sorted order.
    assert.equal(
      (await predictFiles(recogniser, [join(root, 'bars'), join(root, 'disc')])).map((p) => [p.file, p.score]),
      files.map((f, i) => [f, want[i]]),
    );
    // The library, given one file's pixels at their own size, scores them as the file.
    const native = await decodeImageFiles('test', [{ path: files[2], label: 0 }], { channels: 3 });
    assert.ok(native.height !== 16, `the shape image is ${native.height} px`);
    const [one] = await recogniser.predict(native);
    assert.is(one.score, want[2]);
  } finally {
    recogniser.model.dispose();
    recogniser.dispose();
  }
});

test.run();
