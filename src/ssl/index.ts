// Self-supervised pre-training (SimCLR, MoCo v1) with the mixing methods, and linear probing:
// portable.ts's browser-safe part and the Node side (the pre-training loop, the probe).
export * from './portable.js';
export { pretrain, pretrainData, MOCO_STATE_FILE, MOCO_PREFIX, type PretrainResult } from './pretrain.js';
export { DEFAULT_PROBE, encoderFeatures, linearProbe, topKAccuracy, trainLinearProbe, type ProbeFeatures, type ProbeOptions, type ProbeResult } from './probe.js';
