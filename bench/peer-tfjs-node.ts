// Loads TF.js for the Node runner (bench/run.ts) on our Dawn adapter, in the same process:
// navigator.gpu is set to our Dawn GPU object before the backend module is imported (it checks
// navigator.gpu on import). tfjs-core's Node bundle registers no gradients: its ES-module sources'
// register_all_gradients is bundled with esbuild (a dev dependency) into the temporary directory
// and imported; the copy of tfjs-core inside it shares the engine and registries through globals.
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gpu } from '../runtime/gpu.js';
import { TfjsPeer } from './peer-tfjs.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** Registers tfjs-core's gradients (see the header); the reason as a string when it cannot. */
async function registerGradients(): Promise<string | null> {
  try {
    const { buildSync } = await import('esbuild');
    const core = join(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json'), '..');
    const out = join(tmpdir(), `gradmix-tfjs-gradients-${process.pid}.mjs`);
    buildSync({ entryPoints: [join(core, 'dist', 'register_all_gradients.js')], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error' });
    await import(pathToFileURL(out).href);
    return null;
  } catch (e) {
    return `TF.js gradients could not be registered: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** TF.js's WebGPU backend on our adapter; the reason as a string when it cannot start. */
export async function startTfjsNode(): Promise<TfjsPeer | string> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: gpu().instance }, configurable: true, writable: true });
  }
  let tf: Tf;
  try {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return `TF.js is not installed (npm install: @tensorflow/tfjs-core, @tensorflow/tfjs-backend-webgpu): ${(e as Error).message}`;
  }
  return TfjsPeer.open(tf, await registerGradients());
}
