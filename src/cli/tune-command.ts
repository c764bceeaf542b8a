// `gradmix tune`: autotunes the kernels of a training step on this adapter ahead of time and
// prints each choice (src/ops/kernel-choice.ts). Choices are cached per adapter and shape class
// (~/.cache/gradmix), so a later `gradmix train` with the same shapes starts with them.
import { initGpu, gpu } from '../../runtime/gpu.js';
import { autotuneMode } from '../../runtime/autotune.js';
import { ARCHS, SupConResNet, type Arch } from '../nn/resnet.js';
import { METHODS, defaultOptions, type Method } from '../train/options.js';
import { autotuneTraining } from '../train/autotune.js';
import type { TuneReport } from '../ops/kernel-choice.js';
import { Rng } from '../random.js';
import { numberFlag, parseFlags, usage, type FlagSpecs } from './args.js';
import { int, oneOf } from './flag-values.js';

const d = defaultOptions();

export const TUNE_FLAGS: FlagSpecs = {
  arch: { type: 'string', value: oneOf(ARCHS), help: `encoder: ${ARCHS.join(' | ')} (default ${d.arch})` },
  width: { type: 'string', value: int(1), help: `model width (default ${d.width})` },
  batch: { type: 'string', value: int(2), help: `images per batch (default ${d.batchSize}; the model sees 2x for the two views)` },
  'in-channels': { type: 'string', value: oneOf(['1', '3']), help: 'input channels (default 3)' },
  size: { type: 'string', value: int(8, 512), help: 'input side in pixels (default 32)' },
  method: { type: 'string', value: oneOf(METHODS), help: `${METHODS.join(' | ')} (default ${d.method}: gradmix also tunes the mixed view's shapes)` },
  refresh: { type: 'boolean', help: 'time again even where a choice is cached' },
};

function formatReport(r: TuneReport): string {
  const times = Object.entries(r.timings)
    .map(([c, ms]) => `${c} ${ms.toFixed(2)}`)
    .join(' / ');
  return `  ${r.op.padEnd(19)} ${r.shapeClass.padEnd(52)} ${r.choice.padEnd(9)} ${r.source}${times ? ` (${times} ms)` : ''}`;
}

export async function tuneCommand(argv: string[]): Promise<void> {
  const v = parseFlags(argv, TUNE_FLAGS);
  if (v.help) return console.log(usage('tune', 'Autotunes the matmul and conv2d kernels of a training step on this adapter and caches the choices.', TUNE_FLAGS));
  const arch = (v.arch as Arch | undefined) ?? d.arch;
  const method = (v.method as Method | undefined) ?? d.method;
  const [width, batchSize, channels, size] = [numberFlag(v, 'width') ?? d.width, numberFlag(v, 'batch') ?? d.batchSize, numberFlag(v, 'in-channels') ?? 3, numberFlag(v, 'size') ?? 32];
  if (autotuneMode() === 'off') return console.log('GRADMIX_AUTOTUNE=0: autotuning is off; every op runs the adapter default.');
  await initGpu();
  console.log(`adapter: ${gpu().describe()} (default variant ${gpu().kernelVariant})`);
  console.log(`tuning ${arch} width ${width}, batch ${batchSize} (x2 views), ${channels}x${size}x${size}, method ${method}`);
  const model = new SupConResNet(new Rng(0), { arch: arch as Arch, width, inChannels: channels });
  try {
    const reports = await autotuneTraining(
      model,
      { batchSize, method: method as Method },
      { channels, height: size, width: size },
      {
        mode: v.refresh ? 'refresh' : undefined,
        onChoice: (r) => console.log(formatReport(r)),
      },
    );
    const measured = reports.filter((r) => r.source === 'measured').length;
    console.log(`${reports.length} shape classes: ${measured} timed now, ${reports.length - measured} from the cache`);
  } finally {
    model.dispose();
  }
}
