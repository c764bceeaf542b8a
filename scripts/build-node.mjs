// Builds the Node package (first half of npm run build; npm pack runs it through prepack):
//   dist/src, dist/runtime   JavaScript and declarations of src/ and runtime/ (tsconfig.build.json),
//                            kernels embedded through runtime/kernel-sources.generated.ts.
// The old output is removed first, so a renamed or deleted source never ships as a stale file.
// The declarations name WebGPU types (GPUDevice, GPUBuffer, ...), which are globals of the
// package `@webgpu/types`, a dependency: the entry's declaration references it, so a consumer's
// tsc finds them whatever its own `types` setting.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export const WEBGPU_TYPES_REFERENCE = '/// <reference types="@webgpu/types" />\n';

/** Puts the @webgpu/types reference at the top of a declaration file (once). */
export function referenceWebGpuTypes(file, text = readFileSync(file, 'utf8')) {
  writeFileSync(file, text.startsWith(WEBGPU_TYPES_REFERENCE) ? text : WEBGPU_TYPES_REFERENCE + text);
}

export async function buildNode({ outDir = join(root, 'dist') } = {}) {
  await import(pathToFileURL(join(root, 'scripts', 'embed-kernels.mjs')).href);
  for (const sub of ['src', 'runtime']) rmSync(join(outDir, sub), { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { cwd: root, stdio: 'inherit' });
  referenceWebGpuTypes(join(outDir, 'src', 'index.d.ts'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildNode();
  } catch (e) {
    // tsc has printed the errors, with their locations.
    console.error(`build (Node) failed${e.status ? '' : `: ${e.message}`}`);
    process.exit(1);
  }
  console.log('wrote dist/src and dist/runtime');
}
