// Browser stand-in for src/data/index.ts, whose re-exports include the Node file loaders. Engine
// modules that import the barrel (train/options.ts, osr/features.ts) get this one in the browser
// bundle (scripts/build-browser.mjs): the in-memory data set operations, batch order and gathering,
// mnist-mini over HTTP and the mnist-mini protocol. `batches()` is left out: it schedules its
// prefetch with Node's setImmediate; TrainingSession gathers with epochOrder + gatherBatch instead.
export {
  type Dataset, DataError, UNKNOWN_LABEL, valuesPerImage, checkDataset, subsetDataset, indicesOfClasses, filterClasses, concatDatasets, padImages, classCounts,
} from '../data/dataset.js';
export { epochOrder, batchesPerEpoch, gatherBatch, type Batch, type BatchOptions } from '../data/batches.js';
export { MNIST_MEAN, MNIST_STD, MNIST_CLASS_NAMES, MNIST_MINI_TRAIN_FRACTION, parseMnistDigits, splitMnistMini, type MnistMini } from '../data/mnist-digits.js';
export { fetchMnistMini } from './fetch-mnist-mini.js';
export {
  PROTOCOL_NAMES, PROTOCOLS, protocolInfo, knownClasses, unknownClasses, remapLabels, openSet,
  type ProtocolInfo, type OpenSetData, type SourceData,
} from './protocols.js';
