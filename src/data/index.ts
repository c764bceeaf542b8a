// Data sets, loaders, open-set protocols and batching (host side, no GPU).
export {
  type Dataset, DataError, UNKNOWN_LABEL, valuesPerImage, checkDataset, subsetDataset, indicesOfClasses, filterClasses, concatDatasets, padImages, classCounts,
} from './dataset.js';
export { readDataFile } from './files.js';
export { parseIdxImages, parseIdxLabels, loadIdxPair, loadMnistIdx } from './idx.js';
export { CIFAR10_CLASS_NAMES, loadCifar10, loadCifar100, type Cifar100Dataset } from './cifar.js';
export { loadSvhn, svhnFromMat } from './svhn.js';
export { readMat, type MatArray } from './mat.js';
export { decodeImage, toPlanar, resizeBilinear, type RgbaImage } from './images.js';
export { loadImageFolder, listImageFolder, loadTinyImageNet, type ImageFolderOptions } from './image-folder.js';
export { MNIST_CLASS_NAMES, MNIST_MEAN, MNIST_STD, MNIST_MINI_TRAIN_FRACTION, parseMnistDigits, splitMnistMini, type MnistMini } from './mnist-digits.js';
export { loadMnistMini, readMnistDigits, mnistDigitsDir } from './mnist-mini.js';
export {
  PROTOCOL_NAMES, PROTOCOLS, protocolInfo, knownClasses, unknownClasses, remapLabels, openSet,
  type ProtocolName, type ProtocolInfo, type OpenSetData, type SourceData,
} from './open-set.js';
export { loadProtocol, type LoadProtocolOptions } from './protocols.js';
export { batches, epochOrder, batchesPerEpoch, gatherBatch, type Batch, type BatchOptions } from './batches.js';
