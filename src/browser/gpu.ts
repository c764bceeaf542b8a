// WebGPU in a page: the device comes from navigator.gpu through runtime/device.ts (initGpu), with
// its errors; this adds what only a browser can get wrong, said in a browser's terms.
import { initGpu, type Gpu } from '../../runtime/gpu.js';
import { NoAdapterError, type DeviceOptions } from '../../runtime/device.js';

/** Why this page cannot have WebGPU, or null when navigator.gpu is there. */
export function webGpuProblem(): string | null {
  const g = globalThis as { isSecureContext?: boolean; navigator?: { gpu?: unknown; userAgent?: string } };
  if (g.navigator?.gpu) return null;
  if (g.isSecureContext === false) {
    return 'WebGPU is only available to secure pages: open this page over https:// or from http://localhost.';
  }
  return (
    `This browser does not expose WebGPU (navigator.gpu)${g.navigator?.userAgent ? ` (${g.navigator.userAgent})` : ''}. ` +
    'Use a browser with WebGPU enabled (e.g. Chrome or Edge 113 or later); on Linux, Chromium needs ' +
    '--enable-unsafe-webgpu (and falls back to its software adapter, SwiftShader, without a usable GPU).'
  );
}

/** The engine's GPU (initGpu), failing with a NoAdapterError that says what the page lacks. */
export async function initBrowserGpu(options: DeviceOptions = {}): Promise<Gpu> {
  const problem = webGpuProblem();
  if (problem) throw new NoAdapterError(problem);
  return initGpu(options);
}
