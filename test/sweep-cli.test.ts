// gradmix sweep as a user meets it, in this process: a plan over your own image folder (the train
// flags --known, --unknown-data, --size, --val-fraction reach every run, and a run trains on the
// folder); the report's paper column; usage errors pointing to the subcommand's own --help.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { main } from '../src/cli/main.js';
import { sweepCommand } from '../src/cli/sweep-command.js';
import { readPlan } from '../src/sweep/plan.js';
import { describeRun } from '../src/sweep/run-one.js';
import { rejects, removeTempDirs, tempDir } from './data-fixtures.js';
import { writeShapesFolder } from './shapes-folder.js';
import { setupGpu } from './helpers.js';

const test = suite('sweep cli');
test.before(setupGpu);
test.after(removeTempDirs);

/** Runs `fn` with console.log silenced; returns what it printed. */
async function quietly(fn: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    await fn();
  } finally {
    console.log = log;
  }
  return lines;
}

test('a plan over your own image folder: its train flags reach every run, a run trains on the folder, another --known in its folder is named', async () => {
  const root = writeShapesFolder(tempDir(), { perClass: 6, shapes: ['bars', 'columns', 'disc'] });
  const unknown = writeShapesFolder(tempDir(), { perClass: 3, shapes: ['ring'] });
  const out = join(tempDir(), 'sweep');
  const TINY = ['--width', '2', '--batch', '8', '--epochs', '1', '--quiet'];
  const folder = ['--data', root, '--unknown-data', relative(process.cwd(), unknown), '--size', '16', '--val-fraction', '0.5'];
  await quietly(() => sweepCommand(['plan', ...folder, '--known', 'bars,columns,disc', '--methods', 'none,gradmix', ...TINY, '--out', out]));
  const plan = join(out, 'plan.jsonl');
  const runs = readPlan(plan);
  // One split (the held-out images) per method; the folders absolute, as --data's.
  assert.equal(
    runs.map((r) => [r.protocol, r.split, r.method, r.out]),
    [
      ['folder', 0, 'none', join('folder-none-s0', 'split0')],
      ['folder', 0, 'gradmix', join('folder-gradmix-s0', 'split0')],
    ],
  );
  for (const r of runs) {
    const { known, unknownDataDir, imageSize, valFraction, dataDir } = r.options;
    assert.equal([known, unknownDataDir, imageSize, valFraction, dataDir], [['bars', 'columns', 'disc'], resolve(unknown), 16, 0.5, resolve(root)]);
  }

  await quietly(() => sweepCommand(['run', plan, '--index', '0']));
  const results = JSON.parse(readFileSync(join(out, runs[0].out, 'results.json'), 'utf8')) as { knownClasses: string[]; unknownClasses: string[]; auroc: number };
  assert.equal([results.knownClasses, results.unknownClasses], [['bars', 'columns', 'disc'], ['ring']]);
  assert.ok(Number.isFinite(results.auroc));

  // The run in folder-none-s0 trained on three known classes: a plan of two is refused, naming --known.
  rmSync(plan);
  await rejects(
    () => sweepCommand(['plan', ...folder, '--known', 'bars,columns', '--methods', 'none,gradmix', ...TINY, '--out', out]),
    new RegExp(`${join(out, runs[0].out)} already holds a run of other settings`),
    /--known bars,columns \(the run's known: bars,columns,disc\)/,
  );
  // The folder's flags with a built-in protocol, and splits an image folder lacks, are named.
  const other = join(tempDir(), 'other');
  await rejects(() => sweepCommand(['plan', '--protocol', 'mnist-mini', '--size', '16', '--out', other]), /--size: for your own image folder \(--data with --known\)/);
  await rejects(() => sweepCommand(['plan', '--data', root, '--known', 'bars,disc', '--splits', '0,1', '--out', other]), /--splits 0,1: an image folder \(--known\) has one split/);
});

test("a run over your own folder is described by the folder and its classes, not as 'folder split 0'", () => {
  const run = { index: 3, protocol: 'folder', split: 0, method: 'gradmix', seed: 1, out: 'x', options: { dataDir: '/data/shapes', known: ['bars', 'disc'] } };
  assert.is(describeRun(run), 'run 3 (your folder /data/shapes (known: bars, disc), gradmix, seed 1)');
  assert.is(describeRun({ ...run, protocol: 'cifar10', split: 2, options: {} }), 'run 3 (cifar10 split 2, gradmix, seed 1)');
});

test("the report shows the paper's AUROC, GradMix's, on gradmix rows only; report.csv keeps its columns", async () => {
  const root = tempDir();
  const metrics = { auroc: 0.9, tnr95: 0.5, dtacc: 0.8, auin: 0.9, auout: 0.9, closedAcc: 0.95, oscr: 0.85 };
  for (const method of ['none', 'gradmix']) {
    const run = join(root, `cifar10-${method}`, 'split0');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'config.json'), '{}');
    writeFileSync(join(run, 'results.json'), JSON.stringify({ ...metrics, status: 'finished', protocol: 'cifar10', method }));
  }
  const said = (await quietly(() => sweepCommand(['report', root]))).join('\n');
  const rows = said.split('\n').filter((l) => l.startsWith('| '));
  assert.ok(rows[0].endsWith('| paper (GradMix) AUROC % |'), rows[0]);
  assert.ok(rows.find((r) => r.startsWith('| cifar10 | none |'))!.endsWith(' |  |'), said);
  assert.ok(rows.find((r) => r.startsWith('| cifar10 | gradmix |'))!.endsWith(' | 91.33 |'), said);
  const csv = readFileSync(join(root, 'report.csv'), 'utf8').trim().split('\n');
  const head = csv[0].split(',');
  assert.equal(head.slice(0, 3), ['protocol', 'method', 'runs']);
  assert.equal(head.slice(-7), ['paper_auroc', 'arch', 'width', 'epochs', 'objective', 'score', 'k']);
  const paperOf = (method: string) => csv.find((l) => l.startsWith(`cifar10,${method},`))!.split(',')[head.indexOf('paper_auroc')];
  assert.equal([paperOf('none'), paperOf('gradmix')], ['', '0.9133']);
  const svg = readFileSync(join(root, 'report.svg'), 'utf8');
  assert.is((svg.match(/class="paper"/g) ?? []).length, 1);
  assert.match(svg, />paper \(GradMix\)</);
});

test("a usage error of a subcommand points to that subcommand's --help, which lists its flags", async () => {
  const errors: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(' '));
  try {
    for (const argv of [
      ['sweep', 'plan', '--bogus'],
      ['sweep', 'run'],
      ['sweep', 'plann'],
    ])
      assert.is(await main(argv), 1, argv.join(' '));
  } finally {
    console.error = error;
  }
  assert.match(errors[0], /^gradmix sweep: unknown flag --bogus.* \(see gradmix sweep plan --help\)$/);
  assert.match(errors[1], /^gradmix sweep: sweep run takes one <plan>, got none \(see gradmix sweep run --help\)$/);
  // An unknown subcommand: gradmix sweep --help lists them.
  assert.match(errors[2], /unknown subcommand 'plann'.* \(see gradmix sweep --help\)$/);
});

test.run();
