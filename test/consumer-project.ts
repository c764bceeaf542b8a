// An empty project that depends on a packed gradmix tarball, with a package-lock.json that pins
// the tarball and the dependencies it declares, so `npm install --offline` installs it from the
// npm cache alone: a plain `npm install <tarball>` would resolve each version range from registry
// metadata, which `npm ci` does not leave in the cache. The pinned versions and integrities are
// the repository's package-lock.json's; what gets installed follows the packed package.json's
// dependencies, so a dependency missing there is missing in the project too.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type LockEntry = Record<string, unknown> & { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
interface PackedManifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** The package.json inside a tarball. */
export function packedManifest(tarball: string): PackedManifest {
  return JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as PackedManifest;
}

/** The lock key `name` resolves to from the package at lock key `from`, as Node's lookup walks up node_modules. */
function resolveKey(lock: Record<string, LockEntry>, from: string, name: string): string | null {
  for (let at = from; ; at = at.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, '')) {
    const key = `${at ? `${at}/` : ''}node_modules/${name}`;
    if (lock[key]) return key;
    if (!at) return null;
  }
}

/** The lock entries of `deps` and everything they need; optional where only optional paths lead. */
function closure(lock: Record<string, LockEntry>, manifest: PackedManifest): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  const add = (from: string, name: string, optional: boolean): void => {
    const key = resolveKey(lock, from, name);
    if (!key) throw new Error(`${name} (a dependency of ${from || manifest.name}) is not in package-lock.json`);
    if (out[key]) {
      if (!optional) delete out[key].optional;
      return;
    }
    const { dev: _d, devOptional: _do, peer: _p, optional: _o, ...entry } = lock[key];
    out[key] = optional ? { ...entry, optional: true } : entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) add(key, dep, optional);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) add(key, dep, true);
  };
  for (const dep of Object.keys(manifest.dependencies ?? {})) add('', dep, false);
  for (const dep of Object.keys(manifest.optionalDependencies ?? {})) add('', dep, true);
  return out;
}

/** Writes package.json and package-lock.json of a project in `dir` that depends on `tarball`. */
export function writeConsumerProject(dir: string, tarball: string, repoLockFile: string): void {
  const lock = (JSON.parse(readFileSync(repoLockFile, 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  const manifest = packedManifest(tarball);
  const spec = `file:${tarball}`;
  const pick = (fields: string[]) => Object.fromEntries(fields.filter((f) => manifest[f] !== undefined).map((f) => [f, manifest[f]]));
  const project = { name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: { [manifest.name]: spec } };
  const projectLock = {
    name: project.name,
    version: project.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: project.name, version: project.version, dependencies: project.dependencies },
      [`node_modules/${manifest.name}`]: {
        version: manifest.version,
        resolved: spec,
        integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
        ...pick(['license', 'dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'engines']),
      },
      ...closure(lock, manifest),
    },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(project, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(projectLock, null, 2)}\n`);
}
