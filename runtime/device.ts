// Device acquisition: Dawn through the `webgpu` npm package in Node, `navigator.gpu` in
// browsers. Both paths end in the same GPUDevice; everything else in runtime/ is shared.
import { env, isNode, nodeModule } from './platform.js';

export interface DeviceOptions {
  /** 'low-power' | 'high-performance'; forwarded to requestAdapter. */
  powerPreference?: GPUPowerPreference;
  /** Node only: Dawn backend ('vulkan', 'metal', 'd3d12', ...). Env: GRADMIX_BACKEND. */
  backend?: string;
  /** Node only: substring of the adapter name to pick (Dawn's `adapter=` option). Env: GRADMIX_ADAPTER. */
  adapter?: string;
  /** Print the adapter in use (vendor, architecture, description). Env: GRADMIX_VERBOSE=1. */
  verbose?: boolean;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

const NODE_ADVICE =
  "Without a GPU, WebGPU needs a software Vulkan driver: on Debian/Ubuntu install Mesa's lavapipe,\n" +
  '  apt-get install mesa-vulkan-drivers libvulkan1   (Mesa >= 24; on Debian bookworm use -t bookworm-backports)\n' +
  'or run `npm run setup`, which does this on Debian as root. To choose a backend or adapter set\n' +
  'GRADMIX_BACKEND (vulkan, metal, d3d12) or GRADMIX_ADAPTER (an adapter name as Dawn lists them).';

export class NoAdapterError extends Error {
  /** `advice`: what to do about it, in the terms of where it runs (Node's by default; src/browser/gpu.ts gives a page's). */
  constructor(
    readonly detail: string,
    advice = NODE_ADVICE,
  ) {
    super(`No WebGPU adapter found${detail ? ` (${detail})` : ''}.${advice ? `\n${advice}` : ''}`);
    this.name = 'NoAdapterError';
  }
}

/** The GPU entry point: navigator.gpu in a browser, Dawn's `create()` in Node. */
async function getGpu(options: DeviceOptions): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!isNode()) throw new NoAdapterError('this browser does not expose navigator.gpu');
  let dawn: { create: (opts: string[]) => GPU; globals: Record<string, unknown> };
  try {
    dawn = (await nodeModule<typeof dawn>('webgpu'))!;
  } catch (e) {
    throw new NoAdapterError(`the 'webgpu' npm package could not be loaded: ${(e as Error).message}`);
  }
  // Dawn's constructors (GPUBufferUsage, GPUMapMode, ...) are what kernels and readback refer to.
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  // Dawn rounds timestamps to 65.5 us against timing attacks across web origins, which a Node
  // process does not have; every GPU figure under ~1 ms (the profiler's, the benchmarks') would
  // carry that grain. GRADMIX_DAWN_FLAGS adds Dawn's own flags, separated by spaces (a flag's value
  // is itself a comma-separated list, e.g. enable-dawn-features=a,b).
  const flags = (env('GRADMIX_DAWN_FLAGS') ?? '').split(/\s+/).filter(Boolean);
  const disabled = flags.findIndex((f) => f.startsWith('disable-dawn-features='));
  if (disabled < 0) flags.unshift('disable-dawn-features=timestamp_quantization');
  else flags[disabled] += ',timestamp_quantization'; // a user's own list of disabled features keeps this one
  const backend = options.backend ?? env('GRADMIX_BACKEND');
  const adapter = options.adapter ?? env('GRADMIX_ADAPTER');
  if (backend) flags.push(`backend=${backend}`);
  if (adapter) flags.push(`adapter=${adapter}`);
  try {
    return dawn.create(flags);
  } catch (e) {
    // Dawn lists the available adapters/backends in this message.
    throw new NoAdapterError(`Dawn rejected [${flags.join(', ')}]: ${(e as Error).message}`);
  }
}

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

/** Limits the kernels need, raised to what the adapter offers (never above it). */
function wantedLimits(adapter: GPUAdapter): Record<string, number> {
  const l = adapter.limits;
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 10),
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
  };
}

export interface AcquiredDevice {
  /**
   * The GPU entry point. Held for the device's lifetime: with Dawn, a collected instance leaves
   * the device's event processing pointing at freed memory (seen as a crash on the first submit).
   */
  instance: GPU;
  device: GPUDevice;
  adapter: GPUAdapter;
  description: AdapterDescription;
  hasTimestamps: boolean;
  /**
   * The device has the `subgroups` feature (requested wherever the adapter offers it, unless
   * GRADMIX_SUBGROUPS=0): kernels may then pick their subgroup variants.
   */
  hasSubgroups: boolean;
}

export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const gpu = await getGpu(options);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  } catch (e) {
    // Dawn rejects an unknown `adapter=`/`backend=` choice here, listing what is available.
    throw new NoAdapterError((e as Error).message);
  }
  if (!adapter) throw new NoAdapterError('requestAdapter returned null');
  const hasTimestamps = adapter.features.has('timestamp-query');
  const hasSubgroups = adapter.features.has('subgroups') && env('GRADMIX_SUBGROUPS') !== '0';
  const requiredFeatures = (['timestamp-query', 'subgroups'] as GPUFeatureName[]).filter((_, i) => [hasTimestamps, hasSubgroups][i]);
  const device = await adapter.requestDevice({ requiredLimits: wantedLimits(adapter), requiredFeatures });
  const description = describeAdapter(adapter);
  if (options.verbose ?? env('GRADMIX_VERBOSE') === '1') {
    console.log(`gradmix: adapter ${formatAdapter(description)}`);
  }
  return { instance: gpu, device, adapter, description, hasTimestamps, hasSubgroups };
}

export function formatAdapter(d: AdapterDescription): string {
  const parts = [d.vendor, d.architecture, d.device, d.description].filter((s) => s.length > 0);
  return parts.length ? parts.join(' / ') : '(adapter gave no description)';
}
