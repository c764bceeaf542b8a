// Self-supervised pre-training without file access, for Node and browsers alike: MoCo v1's parts,
// the options and one SSL step. index.ts adds the Node pre-training loop and the linear probe.
export { MOCO_V1, KeyQueue, MomentumEncoder, copyInto, emaUpdate, infoNce, type MocoOptions, type InfoNceOptions } from './moco.js';
export { SSL_OBJECTIVES, SSL_TAU, DEFAULT_PROBE_EPOCHS, resolvePretrainOptions, type SslObjective, type PretrainOptions } from './options.js';
export { SslStep, type SslForward } from './step.js';
