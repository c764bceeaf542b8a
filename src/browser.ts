// The browser package entry: the engine's portable API (src/portable.ts: no file loaders,
// checkpoint files, CLI or Node training loop) and what a page needs instead (src/browser/).
// Bundled by scripts/build-browser.mjs (platform=browser, no Node externals) into
// dist/browser/gradmix.js with the kernels embedded.
export * from './portable.js';
export * from './browser/index.js';
