// `gradmix pretrain` (self-supervised SimCLR or MoCo v1 with a mixing method, then a linear probe)
// and `gradmix probe` (a linear classifier on a checkpoint's frozen encoder): paper section 4.5.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { augmentPreset } from '../augment/index.js';
import { inputInfo, type OpenSetData } from '../data/index.js';
import type { SupConResNet } from '../nn/index.js';
import type { Method } from '../train/options.js';
import { pretrain, pretrainData } from '../ssl/pretrain.js';
import { SSL_OBJECTIVES, SSL_TAU, DEFAULT_PROBE_EPOCHS, type PretrainOptions, type SslObjective } from '../ssl/options.js';
import { MOCO_V1 } from '../ssl/moco.js';
import { DEFAULT_PROBE, linearProbe, type ProbeFeatures, type ProbeOptions, type ProbeResult } from '../ssl/probe.js';
import { UsageError, numberFlag, parseFlags, usage, type FlagSpecs } from './args.js';
import { TRAIN_FLAGS, trainOptionsFrom } from './commands.js';
import { DATA_FLAG, checkpointFlag, outFlag, protocolFlag, splitFlag } from './common-flags.js';
import { int, num, oneOf } from './flag-values.js';
import { buildModel, checkChannels, readModelFile } from './model-file.js';
import { checkPretrainOptions } from './option-flags.js';
import { CHECKPOINT_FILE, PROBE_FOLDER } from '../train/epoch-loop.js';
import { dataChoice, noRunToResume, refuseOwnDataFlags, resumeFrom, settingsDiff } from './run-config.js';

/** Train flags that mean nothing without labels or that `train` handles alone. */
const NOT_FOR_PRETRAIN = ['theta', 'lambda', 'k', 'all-classes', 'objective', 'score', 'pictures', 'tpr', 'attention-model', 'attention-grid', 'attention-top-k'];
/** The methods pre-training mixes with, in the order of --method all's runs and table (the paper's rows; Attentive CutMix is a baseline of the open-set training only). */
const PRETRAIN_METHODS = ['none', 'mixup', 'cutmix', 'gradmix'] as const satisfies readonly Method[];

export const PRETRAIN_FLAGS: FlagSpecs = {
  ssl: { type: 'string', value: oneOf(SSL_OBJECTIVES), help: `self-supervised objective: ${SSL_OBJECTIVES.join(' | ')} (default simclr)` },
  ...Object.fromEntries(Object.entries(TRAIN_FLAGS).filter(([name]) => !NOT_FOR_PRETRAIN.includes(name))),
  method: {
    type: 'string',
    value: oneOf([...PRETRAIN_METHODS, 'all']),
    help: `extra augmentation on the SSL loss: ${PRETRAIN_METHODS.join(' | ')}, or all (each in <out>/<method>, then a table) (default gradmix)`,
  },
  split: splitFlag('split 0-4, for --known-only (default 0)'),
  'known-only': { type: 'boolean', help: "pre-train and probe on the split's known classes only (default: every class of the data set)" },
  tau: { type: 'string', value: num({ above: 0 }), help: `temperature (default ${SSL_TAU.simclr} for simclr, ${SSL_TAU.moco} for moco)` },
  momentum: { type: 'string', value: num({ min: 0, max: 1 }), help: `MoCo key encoder momentum (default ${MOCO_V1.momentum})` },
  queue: { type: 'string', value: int(1), help: `MoCo queue length, at least --batch (default ${MOCO_V1.queueSize})` },
  'no-eval': { type: 'boolean', help: 'skip the linear probe after pre-training' },
  'probe-epochs': { type: 'string', value: int(1), help: `linear probe epochs (default ${DEFAULT_PROBE_EPOCHS})` },
  out: outFlag('output folder (default runs/pretrain-<ssl>-<method>, or runs/pretrain-<ssl> with --method all)'),
  resume: { type: 'boolean', help: 'continue the run in --out from its checkpoint, with its saved configuration (flags given beside it must agree with it)' },
};

export const PROBE_FLAGS: FlagSpecs = {
  checkpoint: checkpointFlag('a .safetensors model (gradmix pretrain or train, or a PyTorch SupContrast model)'),
  protocol: protocolFlag("protocol whose images to classify (default: the checkpoint's, else mnist-mini)"),
  split: splitFlag("split (default: the checkpoint's, else 0)"),
  data: { ...DATA_FLAG, help: "data folder of the on-disk protocols (default: the checkpoint's)" },
  'all-classes': { type: 'boolean', help: "classify every class of the data set (default: as the checkpoint's run did, e.g. pretrain without --known-only)" },
  'known-only': { type: 'boolean', help: "classify the split's known classes only (default: as the checkpoint's run did, e.g. train without --all-classes)" },
  epochs: { type: 'string', value: int(1), help: `training epochs over the cached features (default ${DEFAULT_PROBE.epochs})` },
  lr: { type: 'string', value: num({ above: 0 }), help: `Adam learning rate, cosine-annealed to 0 (default ${DEFAULT_PROBE.lr})` },
  batch: { type: 'string', value: int(1), help: `mini-batch size (default ${DEFAULT_PROBE.batchSize})` },
  'weight-decay': { type: 'string', value: num({ min: 0 }), help: `L2 weight decay (default ${DEFAULT_PROBE.weightDecay})` },
  features: { type: 'string', value: oneOf(['raw', 'l2']), help: 'raw (pooled encoder features) | l2 (L2-normalised) (default raw)' },
  seed: { type: 'string', value: int(0, 2 ** 32 - 1), help: `classifier seed (default: the checkpoint's run seed, as pretrain's own probe uses; else ${DEFAULT_PROBE.seed})` },
  out: outFlag("output folder for probe.json (default: probe/ beside the checkpoint, so a pre-training run's own probe.json stays)"),
};

const PROBE_SUMMARY =
  "Linear probe: freezes the checkpoint's encoder, caches the pooled features of the unaugmented train and test images on the GPU, standardises them per dimension, " +
  'trains a linear classifier (no BatchNorm) with cross-entropy and Adam on them, and reports top-1 and top-5 test accuracy.';

const METHOD_LABELS: Record<Method, string> = { none: '', mixup: ' + Mixup', cutmix: ' + CutMix', gradmix: ' + GradMix', 'attentive-cutmix': ' + Attentive CutMix' };
const SSL_LABELS: Record<SslObjective, string> = { simclr: 'SimCLR', moco: 'MoCo' };

const percent = (x: number) => `${(100 * x).toFixed(2).padStart(6)}%`;

/** The paper's layout: one row per pre-training, top-1 and top-5 of its linear probe. */
export function probeTable(rows: { ssl: SslObjective; method: Method; result: ProbeResult }[]): string {
  const k = rows[0]?.result.topK ?? 5;
  const lines = rows.map(({ ssl, method, result }) => `  ${(SSL_LABELS[ssl] + METHOD_LABELS[method]).padEnd(18)} ${percent(result.top1)}  ${percent(result.top5)}`);
  return [`  ${'pre-training'.padEnd(18)}   top-1    top-${k}`, ...lines].join('\n');
}

function probeOptionsFrom(v: Record<string, string | boolean | undefined>): Partial<ProbeOptions> {
  const features = v.features as ProbeFeatures | undefined;
  return { epochs: numberFlag(v, 'epochs'), lr: numberFlag(v, 'lr'), batchSize: numberFlag(v, 'batch'), weightDecay: numberFlag(v, 'weight-decay'), seed: numberFlag(v, 'seed'), features };
}

/** Probes a model on a data view (train = probe training set, testKnown = its test set) and writes <out>/probe.json. */
async function probeAndReport(model: SupConResNet, data: OpenSetData, protocol: string, out: string, options: Partial<ProbeOptions>, context: Record<string, unknown>): Promise<ProbeResult> {
  const numClasses = data.knownClasses.length;
  console.log(`linear probe: ${numClasses} classes, ${data.train.n} train / ${data.testKnown.n} test images, frozen encoder`);
  const input = inputInfo(protocol, data.train);
  const result = await linearProbe(model, { train: data.train, test: data.testKnown, numClasses }, augmentPreset(input.augmentation, input.imageSize), options);
  mkdirSync(out, { recursive: true });
  const file = join(out, 'probe.json');
  writeFileSync(file, JSON.stringify({ ...result, options: { ...DEFAULT_PROBE, ...stripUndefined(options) }, protocol, ...context }, null, 2) + '\n');
  console.log(`  top-1 ${percent(result.top1)}   top-${result.topK} ${percent(result.top5)}   (train top-1 ${percent(result.trainTop1)})\nwrote ${file}`);
  return result;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `--method all --resume` in `root`: each method whose folder holds a run continues it; one not
 * started yet takes the settings those runs saved (all but the method must agree), not the
 * defaults. No method's folder holding a run is resume's "holds no run" error.
 */
async function resumeAll(root: string, given: Partial<PretrainOptions>): Promise<Partial<PretrainOptions>[]> {
  const folder = (method: Method) => join(root, method);
  const started = PRETRAIN_METHODS.filter((m) => existsSync(join(folder(m), 'config.json')) || existsSync(join(folder(m), CHECKPOINT_FILE)));
  if (!started.length) throw noRunToResume(root, ` (none of ${PRETRAIN_METHODS.map(folder).join(', ')})`);
  const saved = new Map<Method, Partial<PretrainOptions>>();
  for (const method of started) saved.set(method, await resumeFrom(folder(method), { ...given, method }));
  const [first, ...others] = started.map((m) => saved.get(m)!);
  for (const o of others) {
    const differ = settingsDiff(first, o, ['method']);
    if (differ.length) throw new UsageError(`${o.out} holds a run of other settings than ${first.out} (${differ.join(', ')}); --method all resumes one run per method, all of the same settings`);
  }
  return PRETRAIN_METHODS.map((method) => saved.get(method) ?? { ...first, method, out: folder(method) });
}

export async function pretrainCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, PRETRAIN_FLAGS);
  if (v.help) {
    return console.log(
      usage(
        'pretrain',
        'Self-supervised pre-training (paper section 4.5): SimCLR or MoCo v1 on unlabelled images, with no extra augmentation, Mixup, CutMix or GradMix on the SSL loss (L = L_ssl + mean(gamma^2 L_ssl(mixed))), then a linear probe (top-1, top-5).',
        PRETRAIN_FLAGS,
      ),
    );
  }
  const given: Partial<PretrainOptions> = {
    ...stripUndefined(trainOptionsFrom(v)),
    ssl: v.ssl as SslObjective | undefined,
    allClasses: v['known-only'] === true ? false : undefined,
    momentum: numberFlag(v, 'momentum'),
    queueSize: numberFlag(v, 'queue'),
    probeEpochs: numberFlag(v, 'probe-epochs'),
  };
  const all = v.method === 'all';
  // No --method stays undefined until the saved run's is merged in: resumeFrom takes what is given
  // for typed, so a default filled in here would conflict with a resumed run of another method.
  const methods = all ? PRETRAIN_METHODS : [given.method];
  const root = given.out ?? `runs/pretrain-${given.ssl ?? 'simclr'}${all ? '' : `-${given.method ?? 'gradmix'}`}`;
  // Every run's options are settled (and checked, with flag names) before the first one starts.
  const wanted = methods.map((method) => ({ ...given, method, out: all && method ? join(root, method) : root }));
  const settled = !given.resume ? wanted : all ? await resumeAll(root, given) : [await resumeFrom(root, wanted[0])];
  const runs = settled.map(checkPretrainOptions);
  refuseOwnDataFlags(v, runs[0].protocol); // an image folder's flags, which a built-in protocol would ignore
  const rows: { ssl: SslObjective; method: Method; result: ProbeResult }[] = [];
  for (const o of runs) {
    const { ssl, method } = o;
    console.log(`pre-training ${SSL_LABELS[ssl]}${METHOD_LABELS[method]} on ${o.allClasses ? `all classes of ${o.protocol}` : `${o.protocol} split ${o.split} known classes`} in ${o.out}`);
    const r = await pretrain(o);
    try {
      const last = r.epochs[r.epochs.length - 1];
      if (last) console.log(`pre-trained ${r.epochs.length} epoch(s): final epoch loss ${last.loss.toFixed(4)}, ${last.imagesPerSecond.toFixed(1)} img/s`);
      if (r.interrupted) return;
      if (o.evaluate) {
        const result = await probeAndReport(
          r.model,
          r.data,
          o.protocol,
          o.out,
          { epochs: o.probeEpochs, seed: o.seed },
          { checkpoint: r.checkpoint, ssl, method, allClasses: o.allClasses, split: o.split },
        );
        rows.push({ ssl, method, result });
      }
    } finally {
      r.model.dispose(); // interrupted, failed or probed: the next run starts from a flat GPU memory
    }
  }
  if (rows.length > 1) console.log(`\nlinear probe after self-supervised pre-training:\n${probeTable(rows)}`);
}

export async function probeCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, PROBE_FLAGS);
  if (v.help) return console.log(usage('probe', PROBE_SUMMARY, PROBE_FLAGS));
  if (typeof v.checkpoint !== 'string') throw new UsageError('--checkpoint <file.safetensors> is required');
  if (v['all-classes'] && v['known-only']) throw new UsageError('--all-classes and --known-only exclude each other');
  const file = await readModelFile(v.checkpoint);
  const choice = dataChoice(v, file.run);
  const { protocol, split } = choice;
  // The classes the checkpoint's run saw, unless told otherwise: its saved allClasses (a pre-training
  // with --known-only, or a training with --all-classes, says so); older pre-trainings saved none and saw every class.
  const allClasses = v['all-classes'] === true || (v['known-only'] !== true && (file.run.allClasses ?? file.run.ssl !== undefined));
  checkChannels(file, protocol);
  // The seed of the checkpoint's run by default, as pretrain's own probe uses it, so both agree.
  const options = { ...probeOptionsFrom(v), seed: numberFlag(v, 'seed') ?? file.run.seed };
  const loaded = await buildModel(file);
  try {
    const data = await pretrainData({ ...choice, allClasses, channels: choice.channels ?? (loaded.inChannels as 1 | 3) });
    const out = (v.out as string | undefined) ?? join(dirname(v.checkpoint), PROBE_FOLDER);
    const result = await probeAndReport(loaded.model, data, protocol, out, options, { checkpoint: v.checkpoint, allClasses, split, arch: loaded.arch, width: loaded.width });
    const { ssl, method } = file.run;
    if (ssl && method) console.log(probeTable([{ ssl, method, result }]));
  } finally {
    loaded.model.dispose();
  }
}
