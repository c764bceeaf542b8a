// Code that only some pages run (panels, plots, Attentive CutMix, the intrinsic dimension, NNO,
// new images of another size fitted to a recogniser), as one module: the browser build makes it a
// single chunk fetched on first use (src/browser/lazy.ts, attention-model.ts;
// src/gradmix/attention.ts; src/osr/intrinsic-dim-entry.ts, scores.ts, open-set-model.ts), so a page that
// never draws panels or plots, or trains without Attentive CutMix, does not download it. One chunk
// rather than one per feature: every lazy entry splits the code it shares with the module into
// chunks of their own, and each chunk boundary costs imports and exports in the static files.
export * from './train/panels.js';
export * from './train/panel-image.js';
export * from './osr/plots.js';
export * from './gradmix/attentive-cutmix.js';
export { torchvisionResNetFromTensors } from './checkpoint/torchvision.js';
export { intrinsicDimension } from './osr/intrinsic-dim.js';
export { fitNno, scoreNno } from './osr/nno.js';
export { fitToInput } from './osr/fit-input.js';
