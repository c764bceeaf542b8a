// WebGPU in a page: the device comes from navigator.gpu through runtime/device.ts (initGpu), with
// its errors; this adds what only a browser can get wrong, said in a browser's terms.
import { gpu, initGpu, type Gpu } from '../../runtime/gpu.js';
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

const PAGE_ADVICE =
  'The browser offers WebGPU but no adapter: turn on hardware acceleration in its settings, see chrome://gpu (WebGPU status) ' +
  'for a GPU it blocks, or try another browser; on Linux, Chromium needs --enable-unsafe-webgpu.';

/** The engine's GPU (initGpu), failing with a NoAdapterError that says what the page lacks, in a browser's terms. */
export async function initBrowserGpu(options: DeviceOptions = {}): Promise<Gpu> {
  const problem = webGpuProblem();
  if (problem) throw new NoAdapterError(problem, '');
  try {
    return await initGpu(options);
  } catch (e) {
    throw e instanceof NoAdapterError ? new NoAdapterError(e.detail, PAGE_ADVICE) : e;
  }
}

/** Frees the GPU memory that disposed tensors left pooled for reuse (after a page drops a model or session of other sizes). */
export function releasePooledMemory(): void {
  gpu().trimPool();
}

/**
 * Calls `handler` with the reason when the page's GPU device is lost (a driver reset, the machine
 * sleeping, a GPU watchdog), at once rather than at the next use; not when it was destroyed on purpose.
 */
export function onGpuLost(handler: (reason: string) => void): void {
  void gpu().device.lost.then((info) => {
    if (info.reason !== 'destroyed') handler(info.message || info.reason || 'unknown reason');
  });
}
