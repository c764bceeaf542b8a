// Builds the Node package (first half of npm run build; npm pack runs it through prepack):
//   dist/src, dist/runtime   JavaScript and declarations of src/ and runtime/ (tsconfig.build.json),
//                            kernels embedded through runtime/kernel-sources.generated.ts.
// The old output is removed first, so a renamed or deleted source never ships as a stale file.
// The declarations name WebGPU types (GPUDevice, GPUBuffer, ...), globals of the package
// `@webgpu/types` (a dependency), and modules typed by hand-written declarations
// (runtime/wgsl-reflect.d.ts), which tsc does not emit: those are copied beside the output, and
// the entry's declaration references both, so a consumer's tsc finds them whatever its settings.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Copies the hand-written .d.ts files of runtime/ and src/ under `toDir` (same layout); returns the copies. */
export function copyHandWrittenDeclarations(toDir) {
  const copies = [];
  for (const dir of ['runtime', 'src']) {
    for (const f of readdirSync(join(root, dir), { recursive: true })) {
      if (!f.endsWith('.d.ts')) continue;
      copies.push(join(toDir, dir, f));
      cpSync(join(root, dir, f), copies.at(-1));
    }
  }
  return copies;
}

/** Writes an entry's declaration file: references to @webgpu/types and to `declarations`, then `body`. */
export function writeEntryDeclaration(file, body, declarations) {
  const paths = declarations.map((d) => relative(dirname(file), d).split('\\').join('/')).map((p) => (p.startsWith('.') ? p : `./${p}`));
  const refs = ['/// <reference types="@webgpu/types" />', ...paths.map((p) => `/// <reference path="${p}" />`)];
  writeFileSync(file, `${refs.join('\n')}\n${body}`);
}

export async function buildNode({ outDir = join(root, 'dist') } = {}) {
  await import(pathToFileURL(join(root, 'scripts', 'embed-kernels.mjs')).href);
  for (const sub of ['src', 'runtime']) rmSync(join(outDir, sub), { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { cwd: root, stdio: 'inherit' });
  const entry = join(outDir, 'src', 'index.d.ts');
  writeEntryDeclaration(entry, readFileSync(entry, 'utf8'), copyHandWrittenDeclarations(outDir));
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
