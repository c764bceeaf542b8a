// The attribution panels' code as one lazily loaded chunk (lazy.ts loadPanels): the panels
// (GPU) and their pixels.
export * from '../train/panels.js';
export * from '../train/panel-image.js';
