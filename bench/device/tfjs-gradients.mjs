// Stands in for `esbuild` inside the device kit's bundle (build-kit.mjs resolves the import to this
// file). bench/peer-tfjs-node.ts registers tfjs-core's gradients by bundling register_all_gradients with
// esbuild at run time and importing the result; in the kit the gradients are bundled already, here,
// and buildSync only writes the empty module that peer-tfjs-node then imports.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { writeFileSync } from 'node:fs';

export function buildSync({ outfile }) {
  writeFileSync(outfile, '// tfjs-core gradients: registered by the device kit bundle\nexport {};\n');
  return { errors: [], warnings: [] };
}
