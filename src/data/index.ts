// Data sets, loaders, open-set protocols and batching (host side, no GPU): portable.ts's
// browser-safe part and the Node file loaders.
export * from './portable.js';
export { readDataFile } from './files.js';
export { parseIdxImages, parseIdxLabels, loadIdxPair, loadMnistIdx } from './idx.js';
export { CIFAR10_CLASS_NAMES, loadCifar10, loadCifar100, type Cifar100Dataset } from './cifar.js';
export { loadSvhn, svhnFromMat } from './svhn.js';
export { readMat, type MatArray } from './mat.js';
export { decodeImage, toPlanar, type RgbaImage } from './images.js';
export { resizeBilinear } from './resize.js';
export { loadImageFolder, listImageFolder, loadTinyImageNet, type ImageFolderOptions } from './image-folder.js';
export { loadMnistMini, readMnistDigits, mnistDigitsDir } from './mnist-mini.js';
export { loadProtocol, type LoadProtocolOptions } from './protocols.js';
export { loadFolderOpenSet, type FolderDataOptions } from './folder-data.js';
