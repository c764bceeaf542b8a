// Part a of the device run (bundled to app/js/adapter.mjs): which adapter Dawn gives us, its
// features and limits, which Vulkan loader and driver libraries the process loaded, and whether it
// is the expected one (--expect). Writes --json FILE; exit code 2 when the adapter is not expected.
//   node adapter.mjs --expect nvidia|llvmpipe|<regex> --json FILE
import { readFileSync, writeFileSync } from 'node:fs';
import { destroyGpu, initGpu } from '../../runtime/gpu.js';
import { adapterMatches, wrongAdapter } from './expect.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Shared libraries of this process whose path matches `re` (Linux: /proc/self/maps). */
function loaded(re: RegExp): string[] {
  try {
    const paths = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .map((l) => l.split(/\s+/)[5] ?? '')
      .filter((p) => re.test(p));
    return [...new Set(paths)].sort();
  } catch {
    return [];
  }
}

const expect = flag('--expect');
const json = flag('--json');
if (!expect) {
  console.error('adapter: --expect is required (nvidia, llvmpipe, or a regular expression on the adapter description)');
  process.exit(1);
}
const g = await initGpu();
const adapter = g.describe();
const limits = g.adapter.limits;
const report = {
  adapter,
  info: g.description,
  expect,
  matches: adapterMatches(expect, adapter),
  cpuAdapter: g.cpuAdapter,
  kernelVariant: g.kernelVariant,
  timestamps: g.hasTimestamps,
  features: [...g.adapter.features].sort(),
  limits: {
    maxBufferSize: limits.maxBufferSize,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
  },
  node: process.version,
  vulkanLoader: loaded(/\/libvulkan\.so/),
  driverLibraries: loaded(/nvidia|lvp|vulkan_lvp|swiftshader/i),
  env: Object.fromEntries(['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'LD_LIBRARY_PATH', 'GRADMIX_ADAPTER', 'GRADMIX_BACKEND', 'GRADMIX_KERNEL_VARIANT'].map((k) => [k, process.env[k] ?? null])),
};
destroyGpu();
if (json) writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
console.log(`adapter: ${adapter} (kernel variant ${report.kernelVariant}, timestamps ${report.timestamps ? 'yes' : 'no'}, ${report.features.length} features)`);
console.log(`vulkan loader: ${report.vulkanLoader.join(', ') || 'none seen'}; driver: ${report.driverLibraries.join(', ') || 'none seen'}`);
if (!report.matches) {
  console.error(wrongAdapter(expect, adapter, 'part a'));
  process.exit(2);
}
console.log(`adapter check: matches --expect ${expect}`);
process.exit(0);
