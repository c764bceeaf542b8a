// bench:compare on two hand-made runs (verdicts from the recorded spreads, a clear error for a
// file of another schema version) and the roofline placement it prints and draws.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESULT_SCHEMA, parseRun, type BenchRun } from '../bench/schema.js';
import { compareRuns, formatComparison, quantisedTimestamps, timingWarnings } from '../bench/compare-runs.js';
import { formatRoofline, ridge, rooflinePoint } from '../bench/roofline.js';
import type { ResultRow } from '../bench/report.js';

const test = suite('bench-compare');
const CEIL = { gflops: 100, gbps: 10 };

function row(name: string, ms: number, spreadMs: number, work: { flops?: number; bytes?: number } = { flops: 1e6, bytes: 1e5 }): ResultRow {
  const r: ResultRow = { family: 'matmul', name, shape: '[1]', bound: 'compute', ms, spreadMs, ...work };
  r.roofline = rooflinePoint(r, CEIL) ?? undefined;
  return r;
}

function run(rows: ResultRow[], commit: string): BenchRun {
  return {
    schema: RESULT_SCHEMA,
    adapter: 'test / adapter',
    kernelVariant: 'register',
    engine: { version: '0.1.0', commit },
    runner: { kind: 'node' },
    date: '2026-12-04T00:00:00Z',
    mode: 'quick',
    batches: [4],
    widths: [16],
    timing: { method: 'gpu-timestamp', warmup: 1, repeats: 5, minRepeats: 2, budgetMs: 100 },
    peers: {},
    ceilings: { ...CEIL, gemmBest: 'g', copyBest: 'c', memcpyGbps: 20, dispatchUs: 10, floorMs: 0.1, gemmSize: 64, copyBytes: 1 << 20, entries: { gemm: [], copy: [] } },
    skipped: [],
    rows,
  };
}

const A = run([row('sped up', 2, 0.05), row('noisy', 2, 0.4), row('slowed', 1, 0.01), row('steady', 1, 0), row('gone', 1, 0)], 'aaaaaaaaaaaa');
const B: BenchRun = {
  ...run([{ ...row('sped up', 1, 0.05), variant: 'tiled' }, row('noisy', 1.7, 0.4), { ...row('slowed', 1.5, 0.01), shape: '[2]' }, row('steady', 1.01, 0), row('new', 1, 0)], 'bbbbbbbbbbbb'),
  note: 'shared machine',
};

test('verdicts weigh the recorded spreads', () => {
  const v = Object.fromEntries(compareRuns(A, B).map((r) => [r.key.replace('matmul ', ''), r.verdict]));
  assert.equal(v, { 'sped up': 'faster', noisy: 'within noise', slowed: 'slower', steady: 'within noise', gone: 'only in A', new: 'only in B' });
  const sped = compareRuns(A, B).find((r) => r.key === 'matmul sped up')!;
  assert.is(sped.ratio, 0.5);
});

test("a warning where A and B were not timed alike: method, runner, timestamp rounding, a row's method, the pacer", () => {
  const grain = 65536e-6;
  const timed = (ms: number[], extra: Partial<ResultRow> = {}) => ms.map((x, i) => ({ ...row(`r${i}`, x, 0), method: 'gpu-timestamp' as const, ...extra }));
  const rounded = run(timed([3 * grain, 12.5 * grain, 40 * grain]), 'a');
  const exact = run(timed([0.2, 0.81, 2.6]), 'b');
  assert.is(quantisedTimestamps(rounded), true);
  assert.is(quantisedTimestamps(exact), false);
  assert.is(quantisedTimestamps(run([row('one', 3 * grain, 0)], 'c')), undefined, 'no timestamp rows: cannot tell');
  assert.equal(timingWarnings(exact, exact), []);
  // A run that records whether Dawn rounded (bench/run.ts) is taken at its word.
  assert.match(timingWarnings(exact, { ...exact, timestampQuantized: true } as BenchRun).join('\n'), /B's GPU times sit on Dawn's 65\.5 us grid/);
  assert.match(timingWarnings(rounded, exact).join('\n'), /timestamp rounding differs: A's GPU times sit on Dawn's 65\.5 us grid/);
  const wall: BenchRun = { ...exact, timing: { ...exact.timing, method: 'wall' }, runner: { kind: 'browser', userAgent: 'x' } };
  const w = timingWarnings(exact, wall).join('\n');
  assert.match(w, /timing method differs: A gpu-timestamp, B wall/);
  assert.match(w, /runner differs: A node, B browser/);
  const oneRow = run([{ ...exact.rows[0], method: 'wall' }, ...exact.rows.slice(1)], 'd');
  assert.match(timingWarnings(exact, oneRow).join('\n'), /1 row\(s\) timed by another method in A than in B, e.g. matmul r0: gpu-timestamp -> wall/);
  const paced = run(timed([0.2, 0.81, 2.6], { paced: true } as Partial<ResultRow>), 'e');
  const unpaced = run(timed([0.2, 0.81, 2.6], { paced: false } as Partial<ResultRow>), 'f');
  assert.match(timingWarnings(paced, unpaced).join('\n'), /3 row\(s\) timed with the wait pacer in A only/);
  assert.match(formatComparison(exact, wall, compareRuns(exact, wall)), /\nwarning: timing method differs/);
});

test('roofline: intensity, the capping roof and the attained fraction', () => {
  assert.is(ridge(CEIL), 10);
  // 1e6 FLOPs over 1e5 bytes = 10 FLOP/byte (the ridge): roof 100 GFLOP/s; 1e6 FLOPs in 0.1 ms = 10 GFLOP/s.
  const p = rooflinePoint({ flops: 1e6, bytes: 1e5, ms: 0.1 }, CEIL)!;
  assert.is(p.intensity, 10);
  assert.ok(Math.abs(p.fraction - 0.1) < 1e-12);
  // 2 FLOP/byte: memory roof 20 GFLOP/s; 2e5 FLOPs in 0.02 ms = 10 GFLOP/s = half of it.
  const m = rooflinePoint({ flops: 2e5, bytes: 1e5, ms: 0.02 }, CEIL)!;
  assert.is(m.limit, 'memory');
  assert.ok(Math.abs(m.fraction - 0.5) < 1e-12);
  assert.is(formatRoofline(m), '2.0 M 50%');
  // Bytes only: held to the copy ceiling (1e6 bytes in 0.2 ms = 5 GB/s of 10).
  const c = rooflinePoint({ bytes: 1e6, ms: 0.2 }, CEIL)!;
  assert.is(c.intensity, undefined);
  assert.ok(Math.abs(c.fraction - 0.5) < 1e-12);
  assert.is(rooflinePoint({ flops: 1e6 }, CEIL), null);
});

test('the command prints ratios and verdicts, writes the chart, and refuses another schema', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-bench-compare-'));
  const [fa, fb, svg] = ['a.json', 'b.json', 'chart.svg'].map((f) => join(dir, f));
  writeFileSync(fa, JSON.stringify(A));
  writeFileSync(fb, JSON.stringify(B));
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/compare.ts', fa, fb, '--svg', svg], { encoding: 'utf8' });
  assert.match(out, /^B: test \/ adapter .*\n {3}shared machine\n/m);
  assert.match(out, /matmul sped up .* 0\.50x\s+faster/);
  assert.match(out, /matmul slowed .* 1\.50x\s+slower/);
  assert.match(out, /matmul sped up .*faster.*variant - -> tiled/);
  assert.match(out, /matmul slowed .*slower.*shape \[1\] -> \[2\]/);
  assert.not.match(out, /matmul noisy .*shape/);
  assert.match(out, /B is faster on 1, slower on 1, within noise on 2 rows/);
  assert.not.match(out, /warning:/, 'the same method, runner and rounding');
  const chart = readFileSync(svg, 'utf8');
  assert.match(chart, /^<svg /);
  assert.match(chart, /Roofline/);
  assert.is((chart.match(/<circle /g) ?? []).length, 10, 'every timed row of both runs');

  const old = join(dir, 'old.json');
  const { schema: _drop, ...unversioned } = A;
  void _drop;
  writeFileSync(old, JSON.stringify(unversioned));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/compare.ts', fa, old], { encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stderr, /old\.json: schema \(none: written before results were versioned\) is not gradmix-bench\/2/);
  assert.throws(() => parseRun(JSON.stringify({ ...A, schema: 'gradmix-bench/1' }), 'x.json'), /x\.json: schema "gradmix-bench\/1" is not gradmix-bench\/2/);
});

test.run();
