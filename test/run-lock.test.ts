// The run folder: made without hanging (Node's recursive mkdir loops forever under /proc), locked
// by one run at a time (a live owner refuses a second run, naming the folder and the process; a
// dead owner's lock is taken over with a message, also one naming this pid from an earlier process),
// released at the end.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, acquireRunLock, makeFolder } from '../src/train/run-lock.js';

const test = suite('run-lock');
let dir = '';
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gradmix-lock-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('makeFolder makes missing parents and fails fast with the path where it cannot', () => {
  makeFolder(join(dir, 'a', 'b', 'c'));
  assert.ok(existsSync(join(dir, 'a', 'b', 'c')));
  makeFolder(join(dir, 'a', 'b', 'c')); // exists: fine
  const started = Date.now();
  assert.throws(
    () => makeFolder('/proc/gradmix-x/y', '--out folder'),
    /\/proc\/gradmix-x\/y: cannot create the --out folder \(at \/proc\/gradmix-x\): the file system of \/proc does not allow new folders \(ENOENT\)/,
  );
  assert.ok(Date.now() - started < 1000, 'no hang under /proc');
  writeFileSync(join(dir, 'file'), 'x');
  assert.throws(() => makeFolder(join(dir, 'file', 'sub')), /file\/sub: cannot use it as the output folder: a part of the path is not a folder \(ENOTDIR\)/);
});

test('a live owner refuses a second run, naming the folder and the process; release frees it', () => {
  const messages: string[] = [];
  const release = acquireRunLock(dir, (m) => messages.push(m));
  const owner = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
  assert.equal([owner.pid, owner.host], [process.pid, hostname()]);
  // The holder itself may take it again (train() and its loop); the last release frees it.
  acquireRunLock(dir)();
  assert.ok(existsSync(join(dir, LOCK_FILE)));
  // Another live process's lock refuses this process.
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: live.pid, host: hostname(), started: 'now' }));
  assert.throws(() => acquireRunLock(dir), new RegExp(`${dir} is in use by another gradmix run \\(pid ${live.pid} on ${hostname()}, started now\\); wait for it to finish or choose another --out`));
  live.kill();
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(owner));
  release();
  assert.not.ok(existsSync(join(dir, LOCK_FILE)));
  acquireRunLock(dir)();
  assert.equal(messages, []);
});

test('the lock of a process that is gone is taken over with a message; so is an unreadable one', () => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), started: '2026-01-01T00:00:00.000Z' }));
  const messages: string[] = [];
  const release = acquireRunLock(dir, (m) => messages.push(m));
  assert.match(messages[0], new RegExp(`taking over the lock of ${dir} from a run that is no longer running \\(pid ${dead} on`));
  release();
  writeFileSync(join(dir, LOCK_FILE), '{"pid":');
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, LOCK_FILE), past, past); // a fresh one may be in the middle of its write
  acquireRunLock(dir, (m) => messages.push(m))();
  assert.match(messages[1], /taking over the unreadable lock file/);
  // A lock naming this very pid from an earlier process (a retried container is pid 1 again, on
  // the same hostname): no longer running, so taken over, not refused as this process's own.
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: hostname(), started: '2026-01-01T00:00:00.000Z', token: 'an earlier process' }));
  acquireRunLock(dir, (m) => messages.push(m))();
  assert.match(messages[2], new RegExp(`taking over the lock of ${dir} from a run that is no longer running \\(pid ${process.pid} on`));
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', started: 'then' }));
  assert.throws(() => acquireRunLock(dir), /in use by another gradmix run \(pid 1 on elsewhere, started then\); if that run is over, delete/);
  rmSync(join(dir, LOCK_FILE));
});

test('a fresh unreadable lock is waited for: it may be a lock being written', () => {
  const file = join(dir, LOCK_FILE);
  writeFileSync(file, '');
  const writer = spawn(process.execPath, [
    '-e',
    `setTimeout(() => { require('fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify({ pid: process.pid, host: ${JSON.stringify(hostname())}, started: 'now' })); setTimeout(() => {}, 5000); }, 300)`,
  ]);
  try {
    assert.throws(() => acquireRunLock(dir), new RegExp(`in use by another gradmix run \\(pid ${writer.pid} on`));
  } finally {
    writer.kill();
    rmSync(file, { force: true });
  }
});

/** Node running `code` as an ES module with TypeScript imports; its stdout. */
function runChild(code: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', () => done(out));
  });
}

test('runs that find the same stale lock at the same moment: exactly one takes it over, the others are refused', async () => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const folders = [0, 1, 2].map((i) => join(dir, `race-${i}`));
  for (const f of folders) {
    makeFolder(f);
    writeFileSync(join(f, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), started: '2026-01-01T00:00:00.000Z' }));
  }
  // Every child loads first, then all try at one instant and a winner holds the lock a while.
  const startAt = Date.now() + 6000;
  const lockModule = new URL('../src/train/run-lock.ts', import.meta.url).href;
  const child = (folder: string) => `
    import { acquireRunLock } from ${JSON.stringify(lockModule)};
    while (Date.now() < ${startAt});
    try {
      const release = acquireRunLock(${JSON.stringify(folder)}, () => {});
      console.log('won');
      setTimeout(release, 1500);
    } catch (e) {
      console.log(/in use by another gradmix run/.test(e.message) ? 'refused' : 'error: ' + e.message);
    }`;
  const outcomes = await Promise.all(folders.flatMap((f) => [0, 1, 2, 3].map(() => runChild(child(f)))));
  folders.forEach((f, i) => {
    const mine = outcomes.slice(4 * i, 4 * i + 4).map((o) => o.trim());
    assert.equal(mine.filter((o) => o === 'won').length, 1, `${f}: ${mine.join(', ')}`);
    assert.equal(mine.filter((o) => o === 'refused').length, 3, `${f}: ${mine.join(', ')}`);
    assert.equal(readdirSync(f), [], `${f}: the winner released its lock, and no draft or guard is left`);
  });
});

test.run();
