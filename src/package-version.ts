// The version of the installed gradmix package, read from its package.json (Node only: the CLI
// and the files a run writes carry it). The file is found by walking up from this module, which
// sits at src/ in a clone and at dist/src/ in the installed package.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The `version` field of gradmix's package.json, e.g. "0.1.0". */
export function packageVersion(): string {
  if (cached) return cached;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gradmix' && pkg.version) return (cached = pkg.version);
    }
    if (dirname(dir) === dir) throw new Error(`gradmix: no package.json of gradmix above ${fileURLToPath(import.meta.url)}`);
  }
}
