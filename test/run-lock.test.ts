// The run folder: made without hanging (Node's recursive mkdir loops forever under /proc), locked
// by one run at a time (a live owner refuses a second run, naming the folder and the process; a
// dead owner's lock is taken over with a message, also one naming this pid from an earlier process),
// released at the end.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test.run();
