// The option checks of --layers (src/train/options.ts checkLayers): what LayerCAM cannot take is
// refused before the data load, naming the flag, not at the first training step.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_CAM_LAYERS } from '../src/gradmix/layercam.js';
import { resolveOptions } from '../src/train/options.js';
import { asFlag } from '../src/train/option-flags.js';

const test = suite('options-layers');

const resolve = (layers: string[]) => resolveOptions({ layers }, asFlag);

test(`--layers takes at most ${MAX_CAM_LAYERS} layers`, () => {
  const many = ['conv1', 'bn1', 'layer1', 'layer1.0', 'layer1.1', 'layer2.0', 'layer2.1', 'layer3.0', 'layer4.1'];
  assert.equal(resolve(many.slice(0, MAX_CAM_LAYERS)).layers, many.slice(0, MAX_CAM_LAYERS));
  assert.throws(() => resolve(many), /--layers names 9 layers; LayerCAM takes at most 8 \(default layer2\.1,layer3\.1,layer4\.1\)/);
});

test("--layers refuses modules whose output is not the encoder's feature map", () => {
  for (const name of ['head', 'head.0', 'classifier', 'encoder', 'fc', 'avgpool', 'layers2.1', 'encoder.head']) {
    assert.throws(
      () => resolve(['layer2.1', name]),
      (e: Error) => e.message.includes(`--layers: '${name}' is not a feature map of the encoder`),
      name,
    );
  }
  const maps = ['conv1', 'bn1', 'encoder.conv1', 'encoder.bn1', 'layer2', 'encoder.layer3.1', 'layer2.1.conv1'];
  assert.equal(resolve(maps).layers, maps);
});

test.run();
