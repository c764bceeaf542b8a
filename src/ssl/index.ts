// Self-supervised pre-training (SimCLR, MoCo v1) with the mixing methods, and linear probing.
export { MOCO_V1, KeyQueue, MomentumEncoder, copyInto, emaUpdate, infoNce, type MocoOptions, type InfoNceOptions } from './moco.js';
export { SSL_OBJECTIVES, SSL_TAU, DEFAULT_PROBE_EPOCHS, resolvePretrainOptions, type SslObjective, type PretrainOptions } from './options.js';
export { SslStep, type SslForward } from './step.js';
export { pretrain, pretrainData, MOCO_STATE_FILE, type PretrainResult } from './pretrain.js';
export { DEFAULT_PROBE, encoderFeatures, linearProbe, topKAccuracy, trainLinearProbe, type ProbeFeatures, type ProbeOptions, type ProbeResult } from './probe.js';
