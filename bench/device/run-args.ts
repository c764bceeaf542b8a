// The device run's command line and the two sets of sizes: the GPU run (--full) and the dry run.
import { join, resolve } from 'node:path';

export const USAGE = `usage: run.sh --expect nvidia|llvmpipe|<regex> [--full] [--out DIR] [--only PARTS] [--skip PARTS]
              [--budget PART=SECONDS,...] [--deadline SECONDS] [--variants register,tiled] [--tests REGEX] [--shards N] [--mnist-epochs N]
parts: a adapter, b kernels, c bench, d step, e train (letters or names, comma-separated); the adapter
check runs before any other part whatever --only says. --deadline: the whole run's seconds (default
with --full: 440); each part's budget shrinks to what is left, so the summary and the bar are written
before a caller's time limit.`;

/** The --full run's seconds from run.sh's start (GRADMIX_KIT_T0; the device call allows ~480). */
export const FULL_DEADLINE_S = 440;
/** Kept back from the last part for its stop's grace, the summary and the bar. */
export const DEADLINE_RESERVE_S = 25;

export const PARTS = ['adapter', 'kernels', 'bench', 'step', 'train'] as const;
export type Part = (typeof PARTS)[number];
export const LETTER: Record<string, Part> = { a: 'adapter', b: 'kernels', c: 'bench', d: 'step', e: 'train' };

export interface MiniRuns {
  width: number;
  epochs: number;
  batch: number;
  maxTrain: number;
  seeds: number[];
  methods: string[];
}

export interface Sizes {
  budgets: Record<Part, number>;
  tests: string | null;
  /** Groups run in order; each gets its weight's share of what is left, so the last inherits any time the others did not use. */
  bench: { mode: 'quick' | 'full'; width: number; batch: number; groups: { filters: string[]; weight: number; args?: string[] }[] };
  /** The step rows, then bench/encode-cost.ts (pacer on/off, the CPU side of a step) in `encodeShare` of the part's budget. */
  step: { mode: 'quick' | 'full'; width: number; batch: number; filters: string[]; encodeSteps: number; encodeShare: number };
  mini: MiniRuns;
  mnist: { width: number; epochs: number; batch: number; maxTrain: number; evaluate: boolean; weight: number };
}

/** The GPU run of item 2: about 7 minutes in all (410 s of budgets). */
export const FULL: Sizes = {
  budgets: { adapter: 10, kernels: 90, bench: 90, step: 80, train: 140 },
  tests: null,
  bench: {
    mode: 'full',
    width: 64,
    batch: 256,
    groups: [
      // The first call also measures the ceilings (4096^3 GEMMs, a 1 GiB copy) for all: half again.
      { filters: ['^matmul '], weight: 1.5 },
      { filters: ['^(batchnorm|contrastive|adam|knn|layercam|paste) '], weight: 1 },
      // The convolutions are the bar's first line: most of the budget (32 rows: the 11 shapes of
      // ResNet18's 20 convolutions, each timed 4 ways: ours, TF.js, PyTorch fp32 and TF32), last so
      // that it inherits what the others leave, and each timing capped at 0.6 s of repeats. A
      // group over its share loses only its own rows and gives no verdict: rerun the part alone
      // with more time (--only bench --budget bench=300).
      { filters: ['^conv2d '], weight: 5, args: ['--row-budget-ms', '600'] },
    ],
  },
  step: { mode: 'full', width: 64, batch: 256, filters: ['^train-step step resnet18 ', '^memory peak'], encodeSteps: 3, encodeShare: 0.3 },
  mini: { width: 16, epochs: 15, batch: 256, maxTrain: 0, seeds: [0, 1, 2], methods: ['none', 'gradmix'] },
  mnist: { width: 64, epochs: 4, batch: 256, maxTrain: 0, evaluate: true, weight: 4 },
};

/** The dry run on lavapipe: every path taken once, at sizes a 2-core CPU finishes in minutes. */
export const TINY: Sizes = {
  budgets: { adapter: 30, kernels: 100, bench: 90, step: 90, train: 150 },
  tests: '^(matmul|conv-gemm|knn)$',
  bench: {
    mode: 'quick',
    width: 2,
    batch: 2,
    groups: [
      { filters: ['^conv2d .*layer1\\.0\\.conv1'], weight: 1 },
      { filters: ['^matmul ', '^knn '], weight: 1 },
    ],
  },
  step: { mode: 'quick', width: 2, batch: 2, filters: ['^train-step step resnet18 ', '^memory peak'], encodeSteps: 2, encodeShare: 0.3 },
  mini: { width: 2, epochs: 1, batch: 32, maxTrain: 64, seeds: [0], methods: ['gradmix'] },
  mnist: { width: 2, epochs: 1, batch: 32, maxTrain: 64, evaluate: false, weight: 1 },
};

export interface Args {
  expect: string;
  full: boolean;
  out: string;
  work: string;
  parts: Set<Part>;
  budgets: Partial<Record<Part, number>>;
  variants: string[];
  tests: string | null | undefined;
  /** Kernel-suite processes per variant family (default: by the cores, part-kernels.ts kernelShards). */
  shards: number | undefined;
  mnistEpochs: number | undefined;
  /** The whole run's seconds (Infinity: none). */
  deadlineS: number;
}

export class UsageError extends Error {}

export function parts(list: string, flag: string): Part[] {
  return list
    .split(',')
    .filter(Boolean)
    .map((p) => {
      const part = LETTER[p] ?? ((PARTS as readonly string[]).includes(p) ? (p as Part) : null);
      if (!part) throw new UsageError(`${flag}: unknown part '${p}'; parts are a adapter, b kernels, c bench, d step, e train`);
      return part;
    });
}

export function parseArgs(argv: string[]): Args {
  let expect: string | undefined;
  let full = false;
  let out = process.env.OUT || '';
  let work = process.env.GRADMIX_KIT_WORK || '';
  let only: Part[] | null = null;
  let skip: Part[] = [];
  const budgets: Partial<Record<Part, number>> = {};
  let variants = ['register', 'tiled'];
  let tests: string | null | undefined;
  let mnistEpochs: number | undefined;
  let shards: number | undefined;
  let deadlineS: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--expect') expect = value();
    else if (a === '--full') full = true;
    else if (a === '--out') out = value();
    else if (a === '--work') work = value();
    else if (a === '--only') only = parts(value(), a);
    else if (a === '--skip') skip = parts(value(), a);
    else if (a === '--budget') {
      for (const kv of value().split(',')) {
        const [k, v] = kv.split('=');
        const [part] = parts(k ?? '', a);
        const s = Number(v);
        if (!(s > 0)) throw new UsageError(`--budget ${kv}: the seconds must be a positive number, e.g. --budget kernels=120`);
        budgets[part] = s;
      }
    } else if (a === '--variants') {
      variants = value().split(',');
      const bad = variants.filter((v) => v !== 'register' && v !== 'tiled');
      if (bad.length) throw new UsageError(`--variants: '${bad.join(',')}' is not a variant family; GRADMIX_KERNEL_VARIANT takes register or tiled`);
    } else if (a === '--tests') tests = value();
    else if (a === '--shards') {
      shards = Number(value());
      if (!Number.isInteger(shards) || shards < 1) throw new UsageError('--shards needs a positive integer (kernel-suite processes per variant family)');
    } else if (a === '--deadline') {
      deadlineS = Number(value());
      if (!(deadlineS > 0)) throw new UsageError('--deadline needs a positive number of seconds');
    } else if (a === '--mnist-epochs') {
      mnistEpochs = Number(value());
      if (!Number.isInteger(mnistEpochs) || mnistEpochs < 1) throw new UsageError('--mnist-epochs needs a positive integer');
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown argument '${a}'`);
  }
  if (!expect) throw new UsageError('--expect is required: nvidia on the GPU machine, llvmpipe for the dry run on lavapipe (or a regular expression on the adapter description)');
  if (!out) throw new UsageError('no output folder: pass --out DIR (on the device machine $OUT is used)');
  const chosen = new Set<Part>(only ?? PARTS);
  for (const p of skip) chosen.delete(p);
  chosen.add('adapter');
  return {
    expect,
    full,
    out: resolve(out),
    work: resolve(work || join(out, 'work')),
    parts: chosen,
    budgets,
    variants,
    tests,
    shards,
    mnistEpochs,
    deadlineS: deadlineS ?? (full ? FULL_DEADLINE_S : Infinity),
  };
}
