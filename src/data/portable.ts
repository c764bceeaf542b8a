// The part of src/data without file access, for Node and browsers alike: in-memory data sets,
// batches, the MNIST digits' format and mnist-mini's split, the open-set protocols. index.ts adds
// the Node file loaders; src/browser.ts adds mnist-mini over HTTP. Engine modules import the file
// they need, not a barrel.
export {
  type Dataset,
  DataError,
  UNKNOWN_LABEL,
  valuesPerImage,
  checkDataset,
  subsetDataset,
  indicesOfClasses,
  filterClasses,
  datasetDigest,
  concatDatasets,
  padImages,
  classCounts,
} from './dataset.js';
export { batches, epochOrder, batchesPerEpoch, gatherBatch, type Batch, type BatchOptions } from './batches.js';
export { MNIST_CLASS_NAMES, MNIST_MEAN, MNIST_STD, MNIST_MINI_TRAIN_FRACTION, parseMnistDigits, splitMnistMini, type MnistMini } from './mnist-digits.js';
export {
  PROTOCOL_NAMES,
  PROTOCOLS,
  FOLDER_PROTOCOL,
  inputInfo,
  type InputInfo,
  protocolInfo,
  knownClasses,
  unknownClasses,
  remapLabels,
  openSet,
  type ProtocolName,
  type ProtocolInfo,
  type OpenSetData,
  type SourceData,
} from './open-set.js';
