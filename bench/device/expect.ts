// The adapter the device kit expects (--expect): a run on the wrong adapter must fail loudly, since
// a silent fallback to a CPU rasteriser would make every figure meaningless.

/** CPU rasterisers, as runtime/gpu.ts's cpuAdapter tells them. */
const CPU_ADAPTER = /llvmpipe|lavapipe|swiftshader|software/i;

/**
 * Whether the adapter (as Gpu.describe() writes it) is the expected one: 'nvidia' is an NVIDIA GPU
 * and never a CPU rasteriser; 'llvmpipe' and 'lavapipe' are Mesa's CPU driver; anything else is a
 * case-insensitive regular expression on the description.
 */
export function adapterMatches(expect: string, adapter: string): boolean {
  const e = expect.toLowerCase();
  if (e === 'nvidia') return /nvidia/i.test(adapter) && !CPU_ADAPTER.test(adapter);
  if (e === 'llvmpipe' || e === 'lavapipe') return /llvmpipe|lavapipe/i.test(adapter);
  return new RegExp(expect, 'i').test(adapter);
}

/** The loud message for a wrong adapter, naming the flag and the way to choose another. */
export function wrongAdapter(expect: string, adapter: string, where: string): string {
  return (
    `ADAPTER CHECK FAILED (${where}): expected --expect ${expect}, got '${adapter}'. ` +
    'Every figure on this adapter would be meaningless. Dawn lists the adapters it found when GRADMIX_ADAPTER names one that does not exist; ' +
    'on the GPU machine check that the NVIDIA Vulkan driver is found (run.sh sets VK_DRIVER_FILES and LD_LIBRARY_PATH; see its log).'
  );
}
