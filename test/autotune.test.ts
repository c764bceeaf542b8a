// Autotuning: the fastest candidate is chosen and stored per adapter and shape class, later
// tuners read it back without timing, GRADMIX_AUTOTUNE modes, stale choices, shape classes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Autotuner, adapterKey, autotuneMode, shapeClass, type AutotuneRequest } from '../runtime/autotune.js';

const test = suite('autotune');

let dir = '';
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'gradmix-autotune-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

/** A request whose candidate times are given (one round unless said); records which candidates were timed. */
function request(times: Record<string, number | number[]>, timed: string[], shape = 'm64', rounds = 1): AutotuneRequest<string> {
  return {
    op: 'matmul',
    shapeClass: shape,
    candidates: Object.keys(times),
    nameOf: (c) => c,
    time: async (c) => {
      const t = times[c];
      const ms = Array.isArray(t) ? t[timed.filter((x) => x === c).length] : t;
      timed.push(c);
      return ms;
    },
    rounds,
  };
}

test('times every candidate once, picks the fastest and stores it for a new tuner', async () => {
  const timed: string[] = [];
  const first = await new Autotuner('Mesa / llvmpipe', dir).choose(request({ register: 5, tiled: 2, other: 9 }, timed), 'on');
  assert.is(first.choice, 'tiled');
  assert.is(first.source, 'measured');
  assert.equal(timed, ['register', 'tiled', 'other']);
  const again: string[] = [];
  const second = await new Autotuner('Mesa / llvmpipe', dir).choose(request({ register: 1, tiled: 2, other: 9 }, again), 'on');
  assert.is(second.choice, 'tiled', 'a later process reuses the stored choice');
  assert.is(second.source, 'cache');
  assert.equal(again, []);
  const file = JSON.parse(readFileSync(join(dir, `autotune-${adapterKey('Mesa / llvmpipe')}.json`), 'utf8'));
  assert.is(file['matmul|m64'].choice, 'tiled');
  assert.equal(file['matmul|m64'].timings, { register: 5, tiled: 2, other: 9 });
});

test("rounds keep each candidate's fastest time and drop clearly slower candidates", async () => {
  const timed: string[] = [];
  // register's first time is inflated (a burst of load); its second is the fastest of all.
  const r = await new Autotuner('adapter', dir).choose(request({ register: [9, 2], tiled: [4, 5], slow: [40, 1] }, timed, 'm64', 2), 'on');
  assert.is(r.choice, 'register');
  assert.equal(r.entry?.timings, { register: 2, tiled: 4, slow: 40 });
  assert.equal(timed, ['register', 'tiled', 'slow', 'register', 'tiled'], 'slow (10x the best) is not timed again');
});

test('choices are per adapter and per shape class', async () => {
  const timed: string[] = [];
  await new Autotuner('adapter A', dir).choose(request({ register: 1, tiled: 2 }, timed, 'm64'), 'on');
  const otherAdapter = await new Autotuner('adapter B', dir).choose(request({ register: 3, tiled: 2 }, timed, 'm64'), 'on');
  assert.is(otherAdapter.choice, 'tiled');
  assert.is(otherAdapter.source, 'measured');
  const otherShape = await new Autotuner('adapter A', dir).choose(request({ register: 3, tiled: 2 }, timed, 'm1024'), 'on');
  assert.is(otherShape.choice, 'tiled');
  assert.is(otherShape.source, 'measured');
  const firstAgain = await new Autotuner('adapter A', dir).choose(request({ register: 3, tiled: 2 }, [], 'm64'), 'on');
  assert.is(firstAgain.choice, 'register', 'tuning another shape class keeps the first one on disk');
});

test("mode 'off' returns the first candidate without timing or touching the cache", async () => {
  const timed: string[] = [];
  const r = await new Autotuner('adapter', dir).choose(request({ register: 9, tiled: 1 }, timed), 'off');
  assert.is(r.choice, 'register');
  assert.is(r.source, 'disabled');
  assert.equal(timed, []);
  assert.is(await new Autotuner('adapter', dir).lookup('matmul', 'm64'), undefined);
});

test("mode 'refresh' times again and overwrites; a stored choice that is no longer a candidate is re-tuned", async () => {
  await new Autotuner('adapter', dir).choose(request({ register: 1, tiled: 2 }, []), 'on');
  const refreshed = await new Autotuner('adapter', dir).choose(request({ register: 3, tiled: 2 }, []), 'refresh');
  assert.is(refreshed.choice, 'tiled');
  assert.is(refreshed.source, 'measured');
  const timed: string[] = [];
  const renamed = await new Autotuner('adapter', dir).choose(request({ register_v2: 1, tiled_v2: 2 }, timed), 'on');
  assert.is(renamed.choice, 'register_v2');
  assert.equal(timed, ['register_v2', 'tiled_v2']);
});

test('an unreadable cache file is rebuilt; a memory-only tuner never writes', async () => {
  const file = join(dir, `autotune-${adapterKey('adapter')}.json`);
  writeFileSync(file, '{ not json');
  const r = await new Autotuner('adapter', dir).choose(request({ register: 2, tiled: 1 }, []), 'on');
  assert.is(r.choice, 'tiled');
  assert.is(JSON.parse(readFileSync(file, 'utf8'))['matmul|m64'].choice, 'tiled');
  const timed: string[] = [];
  const memory = new Autotuner('adapter', null);
  await memory.choose(request({ register: 1, tiled: 2 }, timed), 'on');
  assert.is((await memory.choose(request({ register: 5, tiled: 2 }, timed), 'on')).choice, 'register', 'remembered in memory');
  assert.is(timed.length, 2);
});

test('malformed entries of a cache file are dropped with a warning that names the file, and timed again', async () => {
  const file = join(dir, `autotune-${adapterKey('adapter')}.json`);
  const good = { choice: 'tiled', timings: { register: 2, tiled: 1 }, measuredAt: '2026-01-01T00:00:00.000Z' };
  const bad = [null, { choice: 'tiled' }, { choice: 'tiled', timings: { register: 'x', tiled: 1 } }, { choice: 'register', timings: { register: null, tiled: 1 } }, { choice: 1, timings: {} }];
  const shapes = bad.map((_, i) => `bad${i}`);
  writeFileSync(file, JSON.stringify({ 'matmul|good': good, ...Object.fromEntries(shapes.map((s, i) => [`matmul|${s}`, bad[i]])) }));
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.join(' '));
  try {
    const tuner = new Autotuner('adapter', dir);
    for (const shape of shapes) {
      const timed: string[] = [];
      const r = await tuner.choose(request({ register: 3, tiled: 2 }, timed, shape), 'on');
      assert.is(r.source, 'measured', shape);
      assert.equal(timed, ['register', 'tiled']);
    }
    assert.is((await tuner.choose(request({ register: 1, tiled: 2 }, [], 'good'), 'on')).source, 'cache', 'a valid entry beside them is kept');
  } finally {
    console.warn = warn;
  }
  assert.is(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], `gradmix: the autotune cache ${file} has malformed entries (timed again): ${shapes.map((s) => `matmul|${s}`).join(', ')}`);
  const stored = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(Object.keys(stored).sort(), ['matmul|good', ...shapes.map((s) => `matmul|${s}`)].sort());
  for (const s of shapes) assert.is(stored[`matmul|${s}`].choice, 'tiled', 'rewritten with a timed entry');
});

test('shape classes round sizes up to powers of two and keep flags and strings apart', () => {
  assert.is(shapeClass({ m: 500, n: 512, k: 3, ta: false, tb: true }), 'm512.n512.k4.ta0.tb1');
  assert.is(shapeClass({ m: 513, n: 1 }), 'm1024.n1');
  assert.is.not(shapeClass({ k: '1x1', s: 's2' }), shapeClass({ k: '3x3', s: 's2' }));
  assert.is.not(shapeClass({ m: 64, tb: false }), shapeClass({ m: 64, tb: true }));
});

test('GRADMIX_AUTOTUNE and adapter keys', () => {
  const saved = process.env.GRADMIX_AUTOTUNE;
  try {
    process.env.GRADMIX_AUTOTUNE = '0';
    assert.is(autotuneMode(), 'off');
    process.env.GRADMIX_AUTOTUNE = 'refresh';
    assert.is(autotuneMode(), 'refresh');
    delete process.env.GRADMIX_AUTOTUNE;
    assert.is(autotuneMode(), 'on');
  } finally {
    if (saved === undefined) delete process.env.GRADMIX_AUTOTUNE;
    else process.env.GRADMIX_AUTOTUNE = saved;
  }
  assert.is(adapterKey('mesa / software / llvmpipe (LLVM 15.0.6)'), 'mesa-software-llvmpipe-llvm-15-0-6');
});

test.run();
