// Preloaded (node --import) into the CLI child processes of test/fault-injection.test.ts: kills
// the process in the middle of a checkpoint save, through the checkpoint writer's seam.
// GRADMIX_FAULT_SAVE=<n>:<stage>:<signal>: at the n-th save's stage ('partial': half the bytes
// written to the temporary file; 'written': all of them, before the rename), send <signal>.
import { writeFaults, type WriteStage } from '../src/checkpoint/files.js';

const spec = process.env.GRADMIX_FAULT_SAVE;
if (spec) {
  const [n, stage, signal] = spec.split(':');
  let seen = 0;
  writeFaults.hook = async (at: WriteStage, file: string) => {
    if (at !== stage || !file.endsWith('checkpoint.safetensors') || ++seen !== Number(n)) return;
    process.kill(process.pid, signal as NodeJS.Signals);
    if (signal === 'SIGKILL') await new Promise(() => {}); // dies here
  };
}
