// The command line as a user meets it: every flag checked before the GPU starts and before data
// load, messages that name the flag (never an option name such as batchSize), did-you-mean for
// typos, --help with every default as its value, and --resume from the run folder's own
// configuration. Commands run in-process through main(); a few run as a child process whose GPU
// cannot start, to prove the check came first.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { formatTable1, readRow } from '../src/cli/objectives-command.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { main } from '../src/cli/main.js';
import { TRAIN_FLAGS, EVAL_FLAGS, PROTOCOL_FLAGS } from '../src/cli/commands.js';
import { OOD_FLAGS } from '../src/cli/ood-command.js';
import { CORRUPT_FLAGS } from '../src/cli/corrupt-command.js';
import { PRETRAIN_FLAGS, PROBE_FLAGS } from '../src/cli/ssl-commands.js';
import { TUNE_FLAGS } from '../src/cli/tune-command.js';
import { OBJECTIVES_FLAGS } from '../src/cli/objectives-command.js';
import { PREDICT_FLAGS } from '../src/cli/predict-command.js';
import { OPTION_FLAGS } from '../src/train/option-flags.js';
import type { FlagSpecs } from '../src/cli/args.js';
import { train } from '../src/train/train.js';
import { saveCheckpoint, writeSafetensors } from '../src/checkpoint/index.js';
import { SupConResNet } from '../src/nn/index.js';
import { Rng } from '../src/random.js';
import { takeInterrupted } from '../src/train/epoch-loop.js';
import { setupGpu } from './helpers.js';
import { put, removeTempDirs, tempDir } from './data-fixtures.js';

const test = suite('cli');
test.before(setupGpu);
test.after(removeTempDirs);

interface Ran {
  code: number;
  out: string;
  err: string;
  ms: number;
}

/** Runs `gradmix <argv>` in this process, capturing what it prints. */
async function gradmix(...argv: string[]): Promise<Ran> {
  const [log, error] = [console.log, console.error];
  let out = '';
  let err = '';
  console.log = (...a: unknown[]) => void (out += `${a.join(' ')}\n`);
  console.error = (...a: unknown[]) => void (err += `${a.join(' ')}\n`);
  const started = performance.now();
  try {
    const code = await main(argv);
    return { code, out, err, ms: performance.now() - started };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

/** Fails with what was printed when the command did not fail with `pattern` in its message. */
async function failsWith(argv: string[], pattern: RegExp): Promise<Ran> {
  const r = await gradmix(...argv);
  assert.is.not(r.code, 0, `gradmix ${argv.join(' ')} should fail`);
  assert.match(r.err, pattern, `gradmix ${argv.join(' ')} printed: ${r.err}`);
  // Option names of the library never reach the command line's messages.
  assert.not.match(r.err, /batchSize|maxTrain|camNormalize|lrMin|gammaMin|mixAlpha|dataDir/, r.err);
  assert.not.match(r.err, /gradmix (\w+): \1:/, `doubled prefix: ${r.err}`);
  return r;
}

const checkpointDir = tempDir();

test("numeric flags: range, integers, and the kNN kernel's k limit, all before anything runs", async () => {
  const cases: [string[], RegExp][] = [
    [['train', '--k', '100000'], /--k must be an integer 1\.\.32, got '100000'/],
    [['train', '--k', '0'], /--k must be an integer 1\.\.32/],
    [['eval', '--batch', '0'], /--batch must be an integer >= 1, got '0'/],
    [['eval', '--batch=-5'], /--batch must be an integer >= 1, got '-5'/],
    [['eval', '--batch', '-5'], /--batch must be an integer >= 1, got '-5'/],
    [['train', '--seed=-1.5'], /--seed must be an integer 0\.\.4294967295, got '-1\.5'/],
    [['train', '--seed', '2.5'], /--seed must be an integer/],
    [['train', '--width', '2.5'], /--width must be an integer >= 1, got '2\.5'/],
    [['train', '--batch', '1'], /--batch must be an integer >= 2/],
    [['train', '--max-train', '-1'], /--max-train must be an integer >= 0/],
    [['train', '--lr', '0'], /--lr must be a number > 0/],
    [['train', '--epochs', 'ten'], /--epochs must be an integer >= 1, got 'ten'/],
    [['train', '--epochs', '0x10'], /--epochs must be an integer >= 1, got '0x10'/],
    [['train', '--lr', '0b1'], /--lr must be a number > 0, got '0b1'/],
    [['protocol', '--splits', '0,2,0'], /--splits names 0 twice/],
    [['train', '--gamma-max', '1.5'], /--gamma-max must be a number > 0 and <= 1/],
    [['train', '--split', '5'], /--split must be an integer 0\.\.4/],
    [['protocol', '--splits', '0,7'], /--splits must be an integer 0\.\.4, got '7'/],
    [['pretrain', '--momentum', '2'], /--momentum must be a number 0\.\.1/],
    [['probe', '--weight-decay', '-1'], /--weight-decay must be a number >= 0/],
    [['tune', '--size', '4'], /--size must be an integer 8\.\.512/],
    [['corrupt', '--severities', '1,6'], /--severities must be an integer 1\.\.5, got '6'/],
    [['ood', '--max-test', '1.5'], /--max-test must be an integer >= 0/],
  ];
  for (const [argv, pattern] of cases) {
    const r = await failsWith(argv, pattern);
    assert.ok(r.ms < 2000, `gradmix ${argv.join(' ')} took ${r.ms.toFixed(0)} ms: it must fail before the GPU or data`);
  }
});

test('checks across flags name the flags (the library check, in flag names)', async () => {
  await failsWith(['train', '--gamma-min', '0.6', '--gamma-max', '0.3'], /need 0 < --gamma-min <= --gamma-max <= 1, got 0\.6, 0\.3/);
  await failsWith(['train', '--lr', '0.001', '--lr-min', '0.01'], /--lr-min <= --lr/);
  await failsWith(['train', '--score', 'msp'], /--score 'msp' needs the classifier of a ce objective; use --objective ce/);
  await failsWith(['pretrain', '--ssl', 'moco', '--batch', '64', '--queue', '32'], /--queue must be an integer of at least the batch size \(64\)/);
  await failsWith(['train', '--known', 'a,b'], /an image-folder run needs --data/);
  // Own-data flags on a built-in protocol would be ignored: named and refused.
  await failsWith(
    ['train', '--size', '64', '--val-fraction', '0.3'],
    /--val-fraction, --size: for your own image folder \(--data with --known\); mnist-mini has its own images and splits, so drop them/,
  );
  await failsWith(['objectives', '--objectives', 'ce,msp'], /--objectives: unknown value 'msp' \(in 'ce,msp'\)/);
  await failsWith(['train', '--layers', 'layer2.1,layer4.3'], /--layers: resnet18 has no 'layer4\.3'/);
  await failsWith(['train', '--arch', 'resnet34', '--layers', 'layer3.5,layer3.6'], /--layers: resnet34 has no 'layer3\.6'/);
  await failsWith(['train', '--layers', ','], /--layers is empty; the default for resnet18 is layer2\.1,layer3\.1,layer4\.1/);
});

test("objectives reads a finished objective's row back only when whole: NaN written as null returns as NaN", () => {
  const file = join(tempDir(), 'table1.json');
  writeFileSync(file, JSON.stringify({ objective: 'ce', auroc: { knn: 0.9, msp: null }, intrinsicDim: null }));
  const row = readRow(file, 'ce')!;
  assert.equal([row.auroc.knn, row.auroc.msp, row.intrinsicDim], [0.9, NaN, NaN]);
  assert.match(formatTable1([row]), /ce\s+90\.00\s+NaN/);
  const notes: string[] = [];
  const error = console.error;
  console.error = (m: string) => void notes.push(m);
  try {
    assert.is(readRow(file, 'supcon'), null, "another objective's row");
    writeFileSync(file, '{"objective": "ce", "auroc": {"knn": 0.');
    assert.is(readRow(file, 'ce'), null, 'a truncated file');
    writeFileSync(file, JSON.stringify({ objective: 'ce', auroc: { knn: '0.9' }, intrinsicDim: 3 }));
    assert.is(readRow(file, 'ce'), null, 'a value that is no number');
  } finally {
    console.error = error;
  }
  assert.is(notes.length, 3);
  assert.match(notes[1], new RegExp(`^note: ${file} is damaged \\(.*\\); evaluating ce again$`));
  assert.is(readRow(join(tempDir(), 'none.json'), 'ce'), null);
});

test('did you mean: flags, commands and enumerated values', async () => {
  await failsWith(['train', '--widht', '3'], /unknown flag --widht; did you mean --width\?/);
  await failsWith(['eval', '--chekpoint', 'x'], /unknown flag --chekpoint; did you mean --checkpoint\?/);
  const r = await gradmix('trian');
  assert.is(r.code, 2);
  assert.match(r.err, /unknown command 'trian'; did you mean train\?/);
  await failsWith(['train', '--method', 'gradmx'], /--method: unknown value 'gradmx', use one of none, gradmix, mixup, cutmix, attentive-cutmix; did you mean gradmix\?/);
  await failsWith(['train', '--protocol', 'cifar01'], /did you mean cifar10\?/);
  await failsWith(['train', '--arch', 'resnt18'], /did you mean resnet18\?/);
  await failsWith(['train', '--objective', 'supcn'], /did you mean supcon\?/);
  await failsWith(['train', '--score', 'knm'], /did you mean knn\?/);
  await failsWith(['train', '--fill', 'nosie'], /did you mean noise\?/);
  await failsWith(['corrupt', '--corruptions', 'fog,snw'], /--corruptions: unknown value 'snw' \(in 'fog,snw'\).*did you mean snow\?/);
  // Far from every name: no guess.
  const far = await failsWith(['train', '--method', 'qqqqqq'], /unknown value 'qqqqqq'/);
  assert.not.match(far.err, /did you mean/);
});

test('--checkpoint: a folder, a missing file, a file that is no checkpoint', async () => {
  put(checkpointDir, 'checkpoint.safetensors', 'placeholder');
  await failsWith(['eval', '--checkpoint', checkpointDir], new RegExp(`--checkpoint ${checkpointDir}: is a folder, not a file; did you mean ${join(checkpointDir, 'checkpoint.safetensors')}\\?`));
  await failsWith(['probe', '--checkpoint', join(checkpointDir, 'missing.safetensors')], /--checkpoint .*missing\.safetensors: no such file/);
  const junk = put(checkpointDir, 'junk.safetensors', 'not a safetensors file at all');
  const r = await failsWith(['eval', '--checkpoint', junk], /junk\.safetensors/);
  assert.match(r.err, /^gradmix eval: /);
  await failsWith(['train', '--data', join(checkpointDir, 'nowhere')], /--data .*nowhere: no such folder/);
  await failsWith(['train', '--out', junk], /--out .*junk\.safetensors: is a file, not a folder/);
  // The run a checkpoint says it came from is read with types: a damaged field names the file and the key.
  const conv1 = { dtype: 'F32' as const, shape: [2, 1, 3, 3], data: new Uint8Array(2 * 9 * 4) };
  const damaged = join(checkpointDir, 'damaged.safetensors');
  await writeSafetensors(damaged, [['encoder.conv1.weight', conv1]], { config: JSON.stringify({ protocol: 5 }) });
  await failsWith(['corrupt', '--checkpoint', damaged], /damaged\.safetensors \(metadata 'config'\): 'protocol' should be a string, got 5; the file is damaged/);
  // The checkpoint's protocol is the default, and its images must fit the model: found before the GPU or data.
  const cifarRun = join(checkpointDir, 'cifar.safetensors');
  await writeSafetensors(cifarRun, [['encoder.conv1.weight', conv1]], { config: JSON.stringify({ protocol: 'cifar+10', split: 2 }) });
  for (const command of ['probe', 'corrupt', 'eval']) {
    const r = await failsWith([command, '--checkpoint', cifarRun], /cifar\+10 images have 3 channel\(s\), the model takes 1/);
    assert.ok(r.ms < 2000, `${command}: ${r.ms.toFixed(0)} ms`);
  }
});

test("pretrain --resume reads the run's configuration too", async () => {
  const out = tempDir();
  writeFileSync(join(out, 'config.json'), JSON.stringify({ ssl: 'moco', method: 'gradmix', protocol: 'mnist-mini', lr: 0.001, batchSize: 8, queueSize: 16, out, resume: false }));
  await failsWith(['pretrain', '--out', out, '--resume', '--ssl', 'simclr'], /--ssl simclr conflicts with the run's ssl moco in .*config\.json; drop it or use another --out/);
  await failsWith(['pretrain', '--out', out, '--resume', '--queue', '32'], /--queue 32 conflicts with the run's queueSize 16/);
  // Nothing given: the saved settings are checked as the run's own (a queue shorter than the batch is named by its flag).
  writeFileSync(join(out, 'config.json'), JSON.stringify({ ssl: 'moco', batchSize: 64, queueSize: 32 }));
  await failsWith(['pretrain', '--out', out, '--resume'], /--queue must be an integer of at least the batch size \(64\), got 32/);
  // No --method: the run's own (mixup) is kept, not the default gradmix taken for a typed conflict;
  // the check that follows the merge (the queue) is reached.
  writeFileSync(join(out, 'config.json'), JSON.stringify({ ssl: 'moco', method: 'mixup', batchSize: 64, queueSize: 32 }));
  const r = await failsWith(['pretrain', '--out', out, '--resume'], /--queue must be an integer of at least the batch size \(64\), got 32/);
  assert.not.match(r.err, /conflicts/);
  await failsWith(['pretrain', '--out', out, '--resume', '--method', 'cutmix'], /--method cutmix conflicts with the run's method mixup/);
});

test('pretrain: an image folder, or its flags, are refused before the GPU starts; SimCLR takes a batch above the queue length', async () => {
  const r = await failsWith(['pretrain', '--data', tempDir(), '--known', 'a'], /pre-training runs on a built-in protocol .*; your own image folder \(--known, --protocol folder\) is not supported/);
  assert.ok(r.ms < 2000, `${r.ms.toFixed(0)} ms`);
  // (A tiny run's flags: were --size ignored, the command would end at once, without an error.)
  await failsWith(
    ['pretrain', '--size', '64', '--max-train', '4', '--width', '2', '--epochs', '1', '--no-eval', '--out', tempDir()],
    /--size: for your own image folder \(--data with --known\); mnist-mini has its own images and splits, so drop it/,
  );
  // The queue is MoCo's: a SimCLR batch above its length (4096) was refused about --queue.
  const big = await gradmix('pretrain', '--batch', '5000', '--max-train', '4', '--width', '2', '--epochs', '1', '--no-eval', '--out', tempDir());
  assert.is(big.code, 0, big.err);
});

test("probe: a --known-only pre-training's classes, and its run's seed, by default", async () => {
  const file = join(tempDir(), 'checkpoint.safetensors');
  const model = new SupConResNet(new Rng(1), { width: 2, inChannels: 1 });
  const config = { ssl: 'simclr', method: 'none', protocol: 'mnist-mini', split: 0, allClasses: false, seed: 7 };
  await saveCheckpoint(file, { model: model.stateDict(), metadata: { config: JSON.stringify(config) } });
  model.dispose();
  const r = await gradmix('probe', '--checkpoint', file, '--epochs', '1');
  assert.is(r.code, 0, r.err);
  const probe = JSON.parse(readFileSync(join(file, '..', 'probe', 'probe.json'), 'utf8'));
  // mnist-mini split 0 knows 6 of its 10 digits.
  assert.equal([probe.allClasses, probe.numClasses, probe.options.seed], [false, 6, 7]);
});

test('renamed flags: ood --ood-sets/--ood-data/--out, corrupt --max-test; the old names still read, with a note', async () => {
  await failsWith(['ood', '--checkpoint', join(checkpointDir, 'nope.safetensors'), '--ood-sets', 'svhn'], /no such file/);
  const old = await failsWith(['ood', '--checkpoint', join(checkpointDir, 'nope.safetensors'), '--out', 'cifar100,svhn'], /no such file/);
  assert.match(old.err, /--out <sets> is now --ood-sets <sets>/);
  await failsWith(['ood', '--ood-sets', 'svhn', '--ood-data', 'a', '--results', 'x', '--out', 'y'], /--results is the old name of --out; give only --out/);
  const max = await failsWith(['corrupt', '--max', '3'], /--checkpoint <file\.safetensors> is required/);
  assert.match(max.err, /--max is now --max-test/);
});

/** The lines of a command's --help that take a value. */
function valueLines(help: string): string[] {
  return help.split('\n').filter((l) => l.includes('<value>'));
}

test('--help of every command shows every default as its value', async () => {
  for (const command of ['train', 'eval', 'protocol', 'ood', 'pretrain', 'probe', 'corrupt', 'tune', 'objectives', 'info', 'predict']) {
    const r = await gradmix(command, '--help');
    assert.is(r.code, 0, command);
    assert.not.match(r.out, /default: the paper/, `${command} --help`);
    for (const line of valueLines(r.out)) assert.match(line, /default|required/, `${command}: ${line}`);
  }
  // eval's own-data flags default to the checkpoint's, not to a built-in protocol.
  const evalHelp = (await gradmix('eval', '--help')).out.split('\n');
  for (const flag of ['known', 'unknown-data', 'channels']) assert.match(evalHelp.find((l) => l.trimStart().startsWith(`--${flag} `)) ?? '', /default: the checkpoint's/, flag);
  const train = (await gradmix('train', '--help')).out;
  for (const shown of [
    /--epochs .*20 for mnist-mini, mnist; 100 for svhn; 600 for cifar10/,
    /--lambda .*1\.2 for cifar10, cifar\+10, cifar\+50/,
    /--layers .*layer2\.1,layer3\.1,layer4\.1 for resnet18; layer2\.3,layer3\.5,layer4\.2 for resnet34/,
    /--width .*default 64/,
    /--out .*default runs\/latest/,
    /--batch .*default 256/,
    /--k .*default 3/,
    /--max-train .*default 0: all/,
  ]) {
    assert.match(train, shown);
  }
});

test('every value flag of every command has a rule, and every option names a real flag', () => {
  const tables: Record<string, FlagSpecs> = { TRAIN_FLAGS, EVAL_FLAGS, PROTOCOL_FLAGS, OOD_FLAGS, CORRUPT_FLAGS, PRETRAIN_FLAGS, PROBE_FLAGS, TUNE_FLAGS, OBJECTIVES_FLAGS, PREDICT_FLAGS };
  for (const [table, flags] of Object.entries(tables)) {
    for (const [name, spec] of Object.entries(flags)) {
      if (spec.type === 'string' && !spec.renamedTo) assert.ok(spec.value, `${table}: --${name} has no value rule`);
    }
  }
  // A command without --known (protocol: an image folder has one split) does not offer it in its help.
  for (const [table, flags] of Object.entries(tables)) {
    if ('known' in flags) continue;
    for (const [name, spec] of Object.entries(flags)) assert.not.match(spec.help, /--known(?![\w-])/, `${table}: --${name}`);
  }
  for (const [option, flag] of Object.entries(OPTION_FLAGS)) {
    assert.ok(flag in TRAIN_FLAGS || flag in PRETRAIN_FLAGS, `option ${option} maps to --${flag}, which no command has`);
  }
});

test('--resume continues a run from its own configuration; a conflicting flag is named', async () => {
  const root = tempDir();
  const out = join(root, 'split0'); // as `gradmix protocol --out <root>` names split 0's folder
  // A tiny run, stopped after its first epoch of two (as Ctrl-C would).
  const stop = new AbortController();
  const first = await train(
    { protocol: 'mnist-mini', width: 2, maxTrain: 32, batchSize: 16, epochs: 2, seed: 3, lr: 0.002, out, progress: false, evaluate: false },
    { signal: stop.signal, onEpoch: () => stop.abort() },
  );
  first.model.dispose();
  takeInterrupted(); // the library run's interruption is not the resumed command's
  assert.ok(first.interrupted);
  assert.is(first.epochs.length, 1);

  // A flag that would change the run: only that flag is named, no JSON dumps.
  const conflict = await failsWith(
    ['train', '--out', out, '--resume', '--lr', '0.01'],
    new RegExp(`--lr 0\\.01 conflicts with the run's lr 0\\.002 in ${join(out, 'config.json')}; drop it or use another --out`),
  );
  assert.not.match(conflict.err, /[{}]/);
  assert.ok(conflict.ms < 2000, 'the conflict is found before the GPU or data');

  // No flags but --out and --resume: width 2, 32 images, batch 16, seed 3, lr 0.002 come from the folder.
  const resumed = await gradmix('train', '--out', out, '--resume', '--quiet', '--k', '5');
  assert.is(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /resuming from .*checkpoint\.safetensors at epoch 2/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal([config.width, config.maxTrain, config.batchSize, config.seed, config.lr, config.epochs, config.evaluate], [2, 32, 16, 3, 0.002, 2, false]);
  // eval takes the run's k (5 here), and writes into eval/ beside the checkpoint.
  const evaluated = await gradmix('eval', '--checkpoint', join(out, 'checkpoint.safetensors'), '--batch', '512');
  assert.is(evaluated.code, 0, evaluated.err);
  assert.is(JSON.parse(readFileSync(join(out, 'eval', 'results.json'), 'utf8')).k, 5);
  const epochs = readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((row) => row.kind === undefined || row.kind === 'epoch');
  assert.equal(
    epochs.map((row) => row.epoch),
    [1, 2],
  );

  // protocol resumes its splits' folders by itself: a setting that differs from the run there is named.
  const other = await failsWith(
    ['protocol', '--out', root, '--splits', '0', '--width', '4', '--max-train', '32', '--batch', '16', '--epochs', '2', '--seed', '3', '--lr', '0.002'],
    new RegExp(`^gradmix protocol: --width 4 \\(the run's width: 2\\): not the settings of the run already in ${out}`),
  );
  assert.ok(other.ms < 2000, 'found before the GPU or data');
  // ... also when the split has finished: its results are not those of the settings asked for.
  writeFileSync(join(out, 'results.json'), JSON.stringify({ status: 'finished', auroc: 0.5 }));
  await failsWith(
    ['protocol', '--out', root, '--splits', '0', '--width', '4', '--max-train', '32', '--batch', '16', '--epochs', '2', '--seed', '3', '--lr', '0.002'],
    /--width 4 \(the run's width: 2\): not the settings of the run already in/,
  );
  rmSync(join(out, 'results.json'));
  // eval: own-data flags for a mnist-mini checkpoint are refused, not ignored.
  await failsWith(
    ['eval', '--checkpoint', join(out, 'checkpoint.safetensors'), '--channels', '3'],
    /--channels: for your own image folder \(--data with --known\); mnist-mini has its own images and splits, so drop it/,
  );

  // A damaged config.json beside the checkpoint: the checkpoint's own configuration is used.
  writeFileSync(join(out, 'config.json'), '{ "width": ');
  const fallback = await gradmix('train', '--out', out, '--resume', '--quiet', '--width', '4');
  assert.is.not(fallback.code, 0);
  assert.match(fallback.err, /config\.json is damaged/);
  assert.match(fallback.err, /--width 4 conflicts with the run's width 2 in .*checkpoint\.safetensors \(metadata 'config'\)/);

  // Nothing saved to continue (a damaged config.json, no checkpoint): --resume is refused, not a
  // run started from the flags given.
  const fresh = join(tempDir(), 'fresh');
  mkdirSync(fresh);
  writeFileSync(join(fresh, 'config.json'), '[1, 2]');
  const refused = await failsWith(
    ['train', '--out', fresh, '--resume', '--width', '2', '--max-train', '16', '--batch', '16', '--epochs', '1', '--no-eval', '--quiet'],
    /holds no run to resume \(its config\.json is damaged and no checkpoint was saved\); drop --resume to start a new run there/,
  );
  assert.not.match(refused.err, /starts from the flags given/);
  assert.not.ok(existsSync(join(fresh, 'checkpoint.safetensors')));
});

test('--resume in a folder holding no run (a mistyped --out) is refused, naming it, before the GPU or data: never a run of the defaults', async () => {
  const empty = join(tempDir(), 'typo');
  for (const command of ['train', 'pretrain']) {
    const r = await failsWith(
      [command, '--out', empty, '--resume'],
      new RegExp(`^gradmix ${command}: ${empty} holds no run to resume; drop --resume to start a new run there \\(see gradmix ${command} --help\\)$`, 'm'),
    );
    assert.ok(r.ms < 2000, `${r.ms.toFixed(0)} ms`);
    assert.not.ok(existsSync(empty), 'nothing written');
  }
  // --method all: none of its methods' folders holds a run.
  await failsWith(['pretrain', '--method', 'all', '--out', empty, '--resume'], new RegExp(`${empty} holds no run to resume \\(none of ${empty}/none, .*\\); drop --resume`));
});

test("pretrain --method all --resume: the methods not started take the started ones' settings, not the defaults", async () => {
  const root = tempDir();
  const tiny = ['--width', '2', '--max-train', '16', '--epochs', '1', '--batch', '8', '--no-eval', '--quiet'];
  const none = await gradmix('pretrain', '--method', 'none', '--out', join(root, 'none'), ...tiny);
  assert.is(none.code, 0, none.err);
  // Another method's run of other settings in the same all-run: named, before anything runs.
  mkdirSync(join(root, 'cutmix'));
  const saved = JSON.parse(readFileSync(join(root, 'none', 'config.json'), 'utf8'));
  writeFileSync(join(root, 'cutmix', 'config.json'), JSON.stringify({ ...saved, method: 'cutmix', width: 4, out: join(root, 'cutmix') }));
  await failsWith(['pretrain', '--method', 'all', '--out', root, '--resume'], /cutmix holds a run of other settings than .*none \(--width 4 \(.*none: 2\)\); --method all resumes one run per method/);
  rmSync(join(root, 'cutmix'), { recursive: true });
  const r = await gradmix('pretrain', '--method', 'all', '--out', root, '--resume');
  assert.is(r.code, 0, r.err);
  assert.not.match(r.err, /holds no run/);
  for (const method of ['mixup', 'cutmix', 'gradmix']) {
    const config = JSON.parse(readFileSync(join(root, method, 'config.json'), 'utf8'));
    assert.equal([config.method, config.width, config.maxTrain, config.epochs, config.batchSize], [method, 2, 16, 1, 8], method);
    assert.ok(existsSync(join(root, method, 'checkpoint.safetensors')), method);
  }
});

const execute = promisify(execFile);

test('validation comes before the GPU starts (a child process whose GPU cannot start)', async () => {
  const env = { ...process.env, GRADMIX_BACKEND: 'no-such-backend', GRADMIX_AUTOTUNE: '0' };
  for (const [argv, pattern] of [
    [['train', '--k', '100000'], /--k must be an integer 1\.\.32/],
    [['train', '--widht', '2'], /did you mean --width\?/],
  ] as const) {
    const r = await execute(process.execPath, ['bin/gradmix.js', ...argv], { env, cwd: fileURLToPath(new URL('..', import.meta.url)) }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.not.match(r.stderr, /adapter|backend/i, r.stderr);
  }
  // GRADMIX_PROFILE=1 starts the GPU inside the command's error handling, and not for --help.
  const profiled = { ...env, GRADMIX_PROFILE: '1' };
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const help = await execute(process.execPath, ['bin/gradmix.js', 'info', '--help'], { env: profiled, cwd });
  assert.match(help.stdout, /gradmix info/);
  const failed = await execute(process.execPath, ['bin/gradmix.js', 'info'], { env: profiled, cwd }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  assert.is(failed.code, 1, failed.stderr);
  assert.not.match(failed.stderr, /\n\s+at /, `no stack trace: ${failed.stderr}`);
});

test('a reader that stops early (gradmix ... | head) ends the command without an EPIPE stack trace', async () => {
  const child = spawn(process.execPath, ['bin/gradmix.js', 'info'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first line
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const signal = await new Promise<string | null>((done) => child.on('close', (_code, s) => done(s)));
  assert.not.match(stderr, /EPIPE|\n\s+at /, stderr);
  assert.is(signal, 'SIGINT', 'stopped as Ctrl-C stops it');
});

test.run();
