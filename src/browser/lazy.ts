// Code a page runs only for some of its features, loaded on first use: src/optional-code.ts, a
// chunk beside dist/browser/gradmix.js fetched only when called, so a page that never draws
// panels or plots does not download it. (Attentive CutMix is loaded with its network:
// attention-model.ts.)

/** The attribution panels: attributionPanels (GPU) and their pixels (renderPanels, panelColumns, ...), for drawPanels. */
export async function loadPanels() {
  return import('../optional-code.js');
}

/** SVG plots of open-set scores: rocSvg, histogramSvg and their axes (the same chunk as the panels). */
export const loadPlots = loadPanels;
