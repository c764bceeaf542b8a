// `gradmix <command>`: the command-line entry.
import { destroyGpu, gpu, initGpu } from '../../runtime/gpu.js';
import { formatProfile } from '../../runtime/profiler.js';
import { NoAdapterError } from '../../runtime/device.js';
import { UsageError } from './args.js';
import { interruptedRuns } from '../train/epoch-loop.js';
import { didYouMean } from './did-you-mean.js';
import { evalCommand, infoCommand, protocolCommand, trainCommand } from './commands.js';
import { oodCommand } from './ood-command.js';
import { pretrainCommand, probeCommand } from './ssl-commands.js';
import { corruptCommand } from './corrupt-command.js';
import { objectivesCommand } from './objectives-command.js';
import { tuneCommand } from './tune-command.js';
import { predictCommand } from './predict-command.js';
import { sweepCommand } from './sweep-command.js';
import { packageVersion } from '../package-version.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; help: string }> = {
  train: { run: trainCommand, help: 'train an encoder (SupCon + SimCLR + GradMix), then evaluate open-set recognition' },
  predict: { run: predictCommand, help: 'known class or unknown, with the kNN score, for image files or folders (from a checkpoint of gradmix train)' },
  eval: { run: evalCommand, help: 'evaluate a checkpoint on a protocol split (kNN scores, AUROC, ...)' },
  protocol: { run: protocolCommand, help: 'train and evaluate all five splits of a protocol, with mean and std' },
  ood: { run: oodCommand, help: 'out-of-distribution detection of an all-classes checkpoint (TNR@95TPR, AUROC, DTACC, AUIN, AUOUT)' },
  pretrain: { run: pretrainCommand, help: 'self-supervised pre-training (SimCLR or MoCo v1, + Mixup/CutMix/GradMix), then a linear probe' },
  probe: { run: probeCommand, help: "linear probe of a checkpoint's frozen encoder: top-1 and top-5 accuracy" },
  corrupt: { run: corruptCommand, help: 'corruption robustness: kNN accuracy under 15 corruptions x 5 severities (generated, or CIFAR-10-C / Tiny-ImageNet-C files)' },
  tune: { run: tuneCommand, help: 'autotune the matmul and conv2d kernels of a training step on this adapter (cached per adapter)' },
  objectives: { run: objectivesCommand, help: "the paper's Table 1: ce, ce+ssl, supcon, supcon+ssl under every open-set score, with intrinsic dimension" },
  sweep: { run: sweepCommand, help: 'grids of runs (protocols x methods x seeds x splits): plan, run on every adapter or through Slurm / Kubernetes, report' },
  info: { run: infoCommand, help: 'print the WebGPU adapter in use' },
};

function help(): string {
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.help}`);
  return `usage: gradmix <command> [flags]   (gradmix <command> --help for its flags; gradmix --version)\n\ncommands:\n${rows.join('\n')}`;
}

function hasGpu(): boolean {
  try {
    return gpu() !== null;
  } catch {
    return false;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(packageVersion());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`gradmix: unknown command '${name}'${didYouMean(name, Object.keys(COMMANDS))}\n\n${help()}`);
    return 2;
  }
  // A device that was there before (a test process's, a library caller's) is not ours to destroy.
  const ownsGpu = !hasGpu();
  // Not for --help; inside the try, so a missing adapter is the usual clear message.
  const profile = process.env.GRADMIX_PROFILE === '1' && !rest.some((a) => a === '--help' || a === '-h');
  try {
    if (profile) await (await initGpu()).startProfiling();
    const interruptedBefore = interruptedRuns();
    await command.run(rest);
    if (profile) console.error(`GPU time per kernel (GRADMIX_PROFILE=1):\n${formatProfile(await gpu().stopProfiling())}`);
    return interruptedRuns() > interruptedBefore ? 130 : 0; // 130: stopped by Ctrl-C (checkpoint saved), as shells report SIGINT
  } catch (e) {
    // Library errors may open with the command's name themselves (`ood: ...`): say it once.
    const message = (e as Error).message.replace(new RegExp(`^${name}: `), '');
    if (e instanceof UsageError) console.error(`gradmix ${name}: ${message} (see gradmix ${e.helpCommand ?? name} --help)`);
    else if (e instanceof NoAdapterError) console.error(message);
    else console.error(`gradmix ${name}: ${message}${process.env.GRADMIX_DEBUG === '1' ? `\n${(e as Error).stack}` : ''}`);
    // An error may carry the status it exits with (sweep run: 75 when another worker holds the run).
    const status = (e as { exitStatus?: unknown }).exitStatus;
    return typeof status === 'number' ? status : 1;
  } finally {
    if (ownsGpu) destroyGpu();
  }
}
