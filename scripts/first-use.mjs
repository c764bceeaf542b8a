// Lets `npm run demo` and `npm test` work on a fresh clone: the first time (and again when
// package-lock.json changes) it runs scripts/setup.sh, which installs the npm packages and, where
// there is no GPU driver, the software Vulkan driver (and Chromium for the browser tests).
// Node built-ins only: it runs before anything is installed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.gradmix-setup');
const want = existsSync(lock) ? createHash('sha256').update(readFileSync(lock)).digest('hex') : 'no-lock';
const have = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
if (have !== want) {
  console.error(have ? 'package-lock.json changed: running scripts/setup.sh again' : 'first use: running scripts/setup.sh (npm packages; a software GPU driver where there is no GPU)');
  const run = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`scripts/setup.sh failed (exit ${run.status ?? run.signal}); see its messages above`);
    process.exit(run.status ?? 1);
  }
}
