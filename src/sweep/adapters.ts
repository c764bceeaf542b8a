// The adapters of this machine as Dawn lists them, for `sweep run --adapters`: Dawn has no listing
// call, but names every adapter it found when asked for one that does not exist. Each worker is
// then pinned to one by name with GRADMIX_ADAPTER (runtime/device.ts).
import { nodeModule } from '../../runtime/platform.js';

export interface AdapterEntry {
  backend: string;
  name: string;
}

/** Parses Dawn's " * backend: 'vulkan', name: 'llvmpipe (...)'" lines. */
export function parseAdapterList(message: string): AdapterEntry[] {
  return [...message.matchAll(/\*\s*backend:\s*'([^']*)',\s*name:\s*'([^']*)'/g)].map((m) => ({ backend: m[1], name: m[2] }));
}

export async function listAdapters(): Promise<AdapterEntry[]> {
  const dawn = await nodeModule<{ create: (flags: string[]) => GPU }>('webgpu');
  if (!dawn) throw new Error('sweep: listing adapters needs Node (Dawn, the webgpu package)');
  let message = '';
  try {
    const gpu = dawn.create(['adapter=gradmix: no adapter has this name']);
    await gpu.requestAdapter();
  } catch (e) {
    message = (e as Error).message;
  }
  const adapters = parseAdapterList(message);
  if (adapters.length === 0) throw new Error(`sweep: Dawn listed no adapters${message ? ` (${message.split('\n')[0]})` : ''}; run gradmix info to see why`);
  return adapters;
}

/** CPU renderers Dawn may list beside the GPUs. */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|basic render driver/i;

/**
 * The adapters `--adapters all` means: each name once (Dawn lists a GPU under every backend that
 * drives it), and only the GPUs when there are any, a CPU renderer being far slower than a GPU
 * worker; on a machine without a GPU, the CPU renderers.
 */
export function allAdapters(listed: AdapterEntry[]): string[] {
  const names = [...new Set(listed.map((a) => a.name))];
  const hardware = names.filter((n) => !SOFTWARE.test(n));
  return hardware.length ? hardware : names;
}
