// scripts/first-use.mjs: setup runs on first use and again when package-lock.json changes; a demo's
// setup (--demo: no Chromium, no Slurm) is not the tests', so the first test run after it runs
// setup again for the tests. Checked with a stand-in setup.sh that records the scope it was asked for.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTempDirs, tempDir } from './data-fixtures.js';

test.after(removeTempDirs);

test('setup runs once per lock file and scope; a demo setup does not stand for the tests', () => {
  const root = tempDir();
  mkdirSync(join(root, 'scripts'));
  mkdirSync(join(root, 'node_modules'));
  copyFileSync(fileURLToPath(new URL('../scripts/first-use.mjs', import.meta.url)), join(root, 'scripts', 'first-use.mjs'));
  // The stand-in: appends the scope to runs.log and writes the stamp as setup.sh does.
  writeFileSync(
    join(root, 'scripts', 'setup.sh'),
    'cd "$(dirname "$0")/.."\necho "$GRADMIX_SETUP_SCOPE" >> runs.log\necho "$(sha256sum package-lock.json | cut -d" " -f1) $GRADMIX_SETUP_SCOPE" > node_modules/.gradmix-setup\n',
  );
  writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion": 3}');
  const firstUse = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'first-use.mjs'), ...args], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
  };
  const runs = () => readFileSync(join(root, 'runs.log'), 'utf8').trim().split('\n');
  firstUse('--demo');
  firstUse('--demo');
  assert.equal(runs(), ['demo']);
  firstUse(); // the tests need Chromium and Slurm too
  firstUse();
  firstUse('--demo');
  assert.equal(runs(), ['demo', 'tests']);
  writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion": 3, "changed": true}');
  firstUse('--demo');
  assert.equal(runs(), ['demo', 'tests', 'demo']);
  // A stamp from before scopes (the hash alone) counts as the tests'.
  writeFileSync(join(root, 'node_modules', '.gradmix-setup'), readFileSync(join(root, 'node_modules', '.gradmix-setup'), 'utf8').split(' ')[0]);
  firstUse();
  assert.equal(runs(), ['demo', 'tests', 'demo']);
});

test.run();
