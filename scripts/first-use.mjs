// Lets `npm run demo` and `npm test` work on a fresh clone: the first time (and again when
// package-lock.json changes) it runs scripts/setup.sh, which installs the npm packages and, where
// there is no GPU driver, the software Vulkan driver; for the tests (not with --demo) also Chromium
// for the browser tests and Slurm for the sweep test. Node built-ins only: it runs before anything
// is installed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.gradmix-setup');
const demo = process.argv.includes('--demo');
const want = existsSync(lock) ? createHash('sha256').update(readFileSync(lock)).digest('hex') : 'no-lock';
// The stamp is the lock's hash and the scope setup ran for: a demo's setup is not the tests'.
const [haveHash = '', haveScope = 'tests'] = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim().split(' ') : [];
if (haveHash !== want || (!demo && haveScope !== 'tests')) {
  console.error(
    haveHash && haveHash !== want
      ? 'package-lock.json changed: running scripts/setup.sh again'
      : `${haveHash ? 'first test run' : 'first use'}: running scripts/setup.sh (npm packages; a software GPU driver where there is no GPU${demo ? '' : '; Chromium and Slurm for their tests'})`,
  );
  const env = { ...process.env, GRADMIX_SETUP_SCOPE: demo ? 'demo' : 'tests' };
  const run = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { cwd: root, stdio: 'inherit', env });
  if (run.status !== 0) {
    console.error(`scripts/setup.sh failed (exit ${run.status ?? run.signal}); see its messages above`);
    process.exit(run.status ?? 1);
  }
}
