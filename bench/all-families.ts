// Every family the runners time, in the order they print (ceilings come first, separately): the
// engine's own (bench/families/) and the examples of your own kernel (bench/examples/). Shared by
// the Node runner and the benchmark page.
import type { Family } from './family.js';
import { matmulFamily } from './families/matmul.js';
import { convFamily } from './families/conv2d.js';
import { batchnormFamily } from './families/batchnorm.js';
import { contrastiveFamily } from './families/contrastive.js';
import { adamFamily } from './families/adam.js';
import { knnFamily } from './families/knn.js';
import { layercamFamily } from './families/layercam.js';
import { pasteFamily } from './families/paste.js';
import { trainStepFamily } from './families/train-step.js';
import { memoryFamily } from './families/memory.js';
import biasReluFamily from './examples/bias-relu.js';

export const FAMILIES: Family[] = [matmulFamily, convFamily, batchnormFamily, contrastiveFamily, adamFamily, knnFamily, layercamFamily, pasteFamily, trainStepFamily, memoryFamily, biasReluFamily];
