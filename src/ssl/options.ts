// Options of self-supervised pre-training (paper section 4.5): the training options (data,
// encoder, schedule, mixing method) plus the SSL objective and MoCo's settings. SupCon's theta
// and the SimCLR weight lambda do not apply: the loss is L_ssl + mean_i(w_i * L_ssl,i(mixed)).
import { resolveOptions, type OptionNamer, type TrainOptions } from '../train/options.js';
import { MOCO_V1 } from './moco.js';
import { FOLDER_PROTOCOL, PROTOCOL_NAMES } from '../data/open-set.js';

export const SSL_OBJECTIVES = ['simclr', 'moco'] as const;
export type SslObjective = (typeof SSL_OBJECTIVES)[number];

export interface PretrainOptions extends TrainOptions {
  ssl: SslObjective;
  /** Train on every class of the protocol's data set (default), not only a split's known classes. */
  allClasses: boolean;
  /** MoCo key encoder momentum. */
  momentum: number;
  /** MoCo queue length K. */
  queueSize: number;
  /** Epochs of the linear probe run after pre-training (when `evaluate`). */
  probeEpochs: number;
}

/**
 * Temperatures: SimCLR's 0.5 (its CIFAR setting, also SupContrast's SimCLR command), MoCo v1's
 * 0.07; the open-set training's 0.05 is tuned for SupCon + SimCLR, not for either alone.
 */
export const SSL_TAU: Record<SslObjective, number> = { simclr: 0.5, moco: MOCO_V1.tau };

export const DEFAULT_PROBE_EPOCHS = 30;

/** Fills defaults and checks every value; `n` names options in errors (flags on the command line). */
export function resolvePretrainOptions(given: Partial<PretrainOptions>, n: OptionNamer = (option) => option): PretrainOptions {
  const ssl = given.ssl ?? 'simclr';
  if (!(SSL_OBJECTIVES as readonly string[]).includes(ssl)) throw new Error(`unknown ${n('ssl')} objective '${ssl}'; use one of ${SSL_OBJECTIVES.join(', ')}`);
  const method = given.method ?? 'gradmix';
  // Refused before the GPU starts: pretrain() takes the input's channels and augmentation from the
  // built-in protocols' table, where an image folder would fail after the GPU started.
  if ((given.protocol ?? (given.known !== undefined ? FOLDER_PROTOCOL : undefined)) === FOLDER_PROTOCOL) {
    throw new Error(`pre-training runs on a built-in protocol (${PROTOCOL_NAMES.join(', ')}); your own image folder (${n('known')}, ${n('protocol')} ${FOLDER_PROTOCOL}) is not supported`);
  }
  if (method === 'attentive-cutmix')
    throw new Error(`${n('method')} attentive-cutmix is a baseline of the open-set training (gradmix train, protocol, sweep); pre-training mixes with none, mixup, cutmix or gradmix`);
  const base = resolveOptions(
    {
      ...given,
      tau: given.tau ?? SSL_TAU[ssl],
      theta: 0,
      lambda: 1,
      out: given.out ?? `runs/pretrain-${ssl}-${method}`,
    },
    n,
  );
  const o: PretrainOptions = {
    ...base,
    ssl,
    allClasses: given.allClasses ?? true,
    momentum: given.momentum ?? MOCO_V1.momentum,
    queueSize: given.queueSize ?? MOCO_V1.queueSize,
    probeEpochs: given.probeEpochs ?? DEFAULT_PROBE_EPOCHS,
  };
  if (!(o.momentum >= 0 && o.momentum <= 1)) throw new Error(`${n('momentum')} must be in [0, 1], got ${o.momentum}`);
  // The queue is MoCo's alone: a SimCLR run's batch is not bounded by it.
  if (ssl === 'moco' && (!Number.isInteger(o.queueSize) || o.queueSize < o.batchSize)) {
    throw new Error(`${n('queueSize')} must be an integer of at least the batch size (${o.batchSize}), got ${o.queueSize}`);
  }
  if (!Number.isInteger(o.probeEpochs) || o.probeEpochs < 1) throw new Error(`${n('probeEpochs')} must be a positive integer, got ${o.probeEpochs}`);
  return o;
}
