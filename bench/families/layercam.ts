// Aggregated LayerCAM (src/gradmix/layercam.ts) at GradMix's three default layers (layer2.1,
// layer3.1, layer4.1 of ResNet18; docs/TRAINING.md section 3) up to the 32 x 32 input, with argmax
// centres, from given activations and gradients. Memory-bound: it reads each layer's A and G
// once and writes one map and one centre per image.
import { randn } from '../../src/creation.js';
import { Rng } from '../../src/random.js';
import { layerCam } from '../../src/gradmix/layercam.js';
import { stageOutputs, type BenchConfig, type Family, type Row } from '../family.js';

const LAYERS = ['layer2.1', 'layer3.1', 'layer4.1'];

function row(w: number, batch: number, size: number): Row {
  const shapes = stageOutputs(w, size, batch)
    .filter((s) => LAYERS.includes(s.layer))
    .map((s) => s.shape);
  const inputs = shapes.reduce((t, s) => t + 2 * s.reduce((p, d) => p * d, 1), 0);
  return {
    family: 'layercam',
    name: `3 layers w${w} B${batch}`,
    shape: shapes.map((s) => `${s[1]}@${s[2]}x${s[3]}`).join(' + ') + ` -> ${size}x${size}`,
    bytes: 4 * (inputs + batch * size * size + batch),
    bound: 'memory',
    setup: () => {
      const rng = new Rng(71);
      const acts = shapes.map((s) => randn(s, rng));
      const grads = shapes.map((s) => randn(s, rng));
      return {
        run: () => layerCam(acts, grads, size, size),
        dispose: () => [...acts, ...grads].forEach((t) => t.dispose()),
      };
    },
  };
}

export const layercamFamily: Family = {
  name: 'layercam',
  rows: async (cfg: BenchConfig) => cfg.widths.flatMap((w) => cfg.batches.map((b) => row(w, b, cfg.imageSize))),
};
