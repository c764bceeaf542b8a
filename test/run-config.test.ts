// A saved run's configuration read back with types (src/train/run-config.ts, run-config-file.ts):
// every option a run writes comes back as it was; a field of the wrong type names the file and
// the field; a damaged config.json is passed over with a warning.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePretrainOptions } from '../src/ssl/options.js';
import { resolveOptions, type TrainOptions } from '../src/train/options.js';
import { runConfigOf } from '../src/train/run-config.js';
import { readRunConfig } from '../src/train/run-config-file.js';
import { resumeFrom } from '../src/cli/run-config.js';

const test = suite('run-config');

test('a resolved training or pre-training configuration reads back whole, through JSON', () => {
  const own = resolveOptions({ protocol: 'folder', dataDir: '/data', known: ['a', 'b'], unknownDataDir: '/u', channels: 3, width: 4, out: 'runs/x' });
  const pretrain = resolvePretrainOptions({ ssl: 'moco', width: 4 });
  for (const o of [resolveOptions({}), own, pretrain]) {
    const written = JSON.parse(JSON.stringify(o)) as unknown;
    assert.equal(runConfigOf(written, 'config.json'), written, 'every option the run wrote is kept, with its type');
  }
});

test('none is empty; unknown fields are dropped; a wrong type or a non-object names the file and the field', () => {
  assert.equal(runConfigOf(null, 'f'), {});
  assert.equal(runConfigOf({ width: 8, someFutureOption: 1 }, 'f'), { width: 8 });
  assert.throws(() => runConfigOf({ protocol: 5 }, "model.safetensors (metadata 'config')"), /model\.safetensors \(metadata 'config'\): 'protocol' should be a string, got 5; the file is damaged/);
  assert.throws(() => runConfigOf({ known: ['a', 2] }, 'f'), /'known' should be a string\[\]/);
  assert.throws(() => runConfigOf([1, 2], 'f'), /f: the run's configuration should be a JSON object/);
});

test('readRunConfig: config.json typed; damaged and nothing beside it: null, with the warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-run-config-'));
  try {
    const out = join(dir, 'run');
    mkdirSync(out);
    assert.is(await readRunConfig(out), null);
    writeFileSync(join(out, 'config.json'), JSON.stringify({ protocol: 'mnist-mini', split: 2, width: 4 }));
    assert.equal(await readRunConfig(out), { source: join(out, 'config.json'), config: { protocol: 'mnist-mini', split: 2, width: 4 } });
    const warnings: string[] = [];
    writeFileSync(join(out, 'config.json'), JSON.stringify({ split: 'two' }));
    assert.is(await readRunConfig(out, (w) => warnings.push(w)), null);
    assert.match(warnings[0], /config\.json is damaged \('split' should be a number, got "two"\); no checkpoint was saved either/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("resumeFrom: the attention model's path may move (not part of the run); its grid may not", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-run-config-'));
  try {
    const saved = { method: 'attentive-cutmix', attentionModel: '/old/resnet18.safetensors', attentionGrid: 7, width: 2 };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(saved));
    const moved = await resumeFrom<TrainOptions>(dir, { attentionModel: '/new/resnet18.safetensors' });
    assert.is(moved.attentionModel, '/new/resnet18.safetensors');
    assert.is(moved.attentionGrid, 7);
    await resumeFrom<TrainOptions>(dir, { attentionGrid: 5 }).then(
      () => assert.unreachable('a changed grid is another run'),
      (e: Error) => assert.match(e.message, /--attention-grid 5 conflicts with the run's attentionGrid 7/),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('own images: a new image-folder run records antialiased shrinking; one saved before that was recorded shrank plainly', () => {
  const fresh = resolveOptions({ dataDir: '/data', known: ['a', 'b'] });
  assert.is(fresh.antialias, true);
  assert.is(resolveOptions({ protocol: 'mnist-mini' }).antialias, undefined, 'built-in protocols do not resize');
  assert.is(runConfigOf({ protocol: 'folder', dataDir: '/data', known: ['a', 'b'] }, 'old config').antialias, false);
  assert.is(runConfigOf({ protocol: 'folder', dataDir: '/data', known: ['a', 'b'], antialias: true }, 'new config').antialias, true);
  assert.is(runConfigOf({ protocol: 'mnist-mini' }, 'protocol config').antialias, undefined);
  // Resumed, an old run keeps its plain shrinking (its data digest depends on the pixels).
  assert.is(resolveOptions(runConfigOf({ protocol: 'folder', dataDir: '/data', known: ['a', 'b'] }, 'old') as Partial<TrainOptions>).antialias, false);
});

test.run();
