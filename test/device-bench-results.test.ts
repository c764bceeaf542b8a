// How the device kit keeps a benchmark call's results (bench/run.ts --json, bench/device/
// salvage-rows.ts, part-bench.ts): a call stopped part-way keeps every field of the rows it
// finished and says which rows it never reached; a call can reuse the ceilings of an earlier one;
// the PyTorch CUDA peer's log joins rows by request, and proves TF32 off or not.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { missingRows, readBenchFile, type BenchFile } from '../bench/device/salvage-rows.js';
import { ceilingsSource, gradmixOverPlain, joinTorchLog, stepBenchArgs, tf32Off, type TorchLogEntry } from '../bench/device/part-bench.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bench = (args: string[]) => [process.execPath, ['--import', 'tsx', join(root, 'bench', 'run.ts'), ...args]] as const;
const TABLE_ROW = /^matmul\s{2,}\S/m;

test('a bench call stopped after its first row leaves that row whole (wall time included) and the rows it never reached', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-bench-cut-'));
  try {
    const file = join(dir, 'cut.json');
    const [cmd, args] = bench(['quick', '^matmul ', '--batch', '2', '--width', '2', '--no-peers', '--json', file]);
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    // Stopped as the device kit stops a call at its time share, right after the first printed row.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += String(d);
        if (TABLE_ROW.test(out.split('\n').slice(1).join('\n')) && child.exitCode === null) child.kill('SIGTERM');
      });
      child.once('exit', () => resolve());
      child.once('error', reject);
    });
    const json = readBenchFile(file);
    assert.ok(json, `no JSON left by the stopped call; output:\n${out}`);
    assert.is(json.salvaged, true);
    assert.ok(json.rows.length >= 1 && json.rows.length < json.expected!.length, `${json.rows.length} of ${json.expected?.length} rows`);
    const [row] = json.rows;
    assert.ok(row.ms! > 0 && row.wallMs! > 0 && row.method, `every field of the finished row: ${JSON.stringify(row)}`);
    assert.equal(
      missingRows(json),
      json.expected!.slice(json.rows.length).map((e) => `${e.family} ${e.name}`),
    );
    // What a reader needs beside the figures.
    assert.is(json.timestampQuantized, false);
    assert.ok(json.pacer === 'on' || json.pacer === 'off');
    assert.ok((json.ceilings as { gflops: number }).gflops > 0);

    // A finished call reusing that call's ceilings (--ceilings-from): complete, the ceilings as given.
    const given = join(dir, 'given.json');
    writeFileSync(given, JSON.stringify({ adapter: json.adapter, ceilings: { ...(json.ceilings as object), gflops: 12345 } }));
    const done = join(dir, 'done.json');
    const [c2, a2] = bench(['quick', '^matmul square', '--batch', '2', '--width', '2', '--no-peers', '--json', done, '--ceilings-from', given, '--row-budget-ms', '7']);
    const r = spawnSync(c2, a2, { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /ceilings \(from .*given\.json\): GEMM 12345\.00 GFLOP\/s/);
    const whole = readBenchFile(done)!;
    assert.equal([whole.complete, whole.salvaged, (whole.ceilings as { gflops: number }).gflops, whole.ceilingsFrom], [true, undefined, 12345, given]);
    assert.equal(missingRows(whole), []);
    // --row-budget-ms caps how long each side of a row repeats (the kit's conv group uses it).
    assert.is((whole as { timing?: { budgetMs?: number } }).timing?.budgetMs, 7);

    // Ceilings of another adapter are refused.
    writeFileSync(given, JSON.stringify({ adapter: 'another GPU', ceilings: json.ceilings }));
    const wrong = spawnSync(c2, a2, { cwd: root, encoding: 'utf8' });
    assert.is(wrong.status, 1);
    assert.match(wrong.stderr, /--ceilings-from .*measured on 'another GPU'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the step call asks for no TF.js step and reuses the bench part's ceilings", () => {
  const work = mkdtempSync(join(tmpdir(), 'gradmix-step-args-'));
  try {
    assert.equal(stepBenchArgs(work), ['--no-tfjs']);
    // bench-0.json was cut before it wrote anything useful; bench-1.json has ceilings.
    writeFileSync(join(work, 'bench-0.json'), '{"adapter":');
    writeFileSync(join(work, 'bench-1.json'), JSON.stringify({ adapter: 'a', rows: [], ceilings: { gflops: 1 }, complete: false }));
    assert.is(ceilingsSource(work), join(work, 'bench-1.json'));
    assert.equal(stepBenchArgs(work), ['--no-tfjs', '--ceilings-from', join(work, 'bench-1.json')]);
    // A call cut before its first write leaves no file at all: a later group's ceilings are found past the gap.
    rmSync(join(work, 'bench-0.json'));
    rmSync(join(work, 'bench-1.json'));
    writeFileSync(join(work, 'bench-2.json'), JSON.stringify({ adapter: 'a', rows: [], ceilings: { gflops: 1 }, complete: true }));
    assert.is(ceilingsSource(work), join(work, 'bench-2.json'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

const off = { matmul_allow_tf32: false, cudnn_allow_tf32: false };

test('PyTorch log lines join rows by request, not by an equal fp32 time', () => {
  const json: BenchFile = {
    adapter: 'x',
    peers: { torch: { version: 'v CUDA on H200', call: 'c2' } },
    rows: [
      { family: 'conv2d', name: 'a', ms: 1, wallMs: 1, torch: { ms: 0.5 }, torchRequest: 1 },
      { family: 'conv2d', name: 'b', ms: 1, wallMs: 1, torch: { ms: 0.5 }, torchRequest: 2 },
      { family: 'conv2d', name: 'c', ms: 1, wallMs: 1, torch: { ms: 0.5 }, torchRequest: 3 },
    ],
  };
  const log: TorchLogEntry[] = [
    // Another call's request 1, with the same fp32 time: not this row's.
    { call: 'c1', id: 1, fp32_ms: 0.5, tf32_ms: 0.1, fp32_settings: off },
    { call: 'c2', id: 1, fp32_ms: 0.5, tf32_ms: 0.2, fp32_settings: off },
    { call: 'c2', id: 2, fp32_ms: 0.5, tf32_ms: 0.48, fp32_settings: { ...off, cudnn_allow_tf32: true } },
  ];
  joinTorchLog(json, log);
  const [a, b, c] = json.rows;
  assert.equal([a.torch!.tf32Ms, a.torch!.tf32Off, a.torch!.tf32Near], [0.2, true, false]);
  assert.equal([b.torch!.tf32Ms, b.torch!.tf32Off, b.torch!.tf32Near], [0.48, false, true]);
  assert.equal([c.torch!.tf32Ms, c.torch!.tf32Off], [undefined, undefined], 'no log line: nothing proven');
});

test('TF32 is off only where every logged setting says so', () => {
  assert.is(tf32Off(off), true);
  assert.is(tf32Off(undefined), false);
  assert.is(tf32Off({ cudnn_allow_tf32: false }), false, 'a flag not logged proves nothing');
  assert.is(tf32Off({ ...off, matmul_fp32_precision: 'tf32' }), false);
  assert.is(tf32Off({ ...off, cudnn_conv_fp32_precision: 'ieee', float32_matmul_precision: 'highest' }), true);
  assert.is(tf32Off({ ...off, float32_matmul_precision: 'high' }), false);
  assert.is(tf32Off({ ...off, tf32_override_env: '1' }), false);
});

test('GradMix over plain compares the steps by wall time (and by kernel time beside it), not by the queue span', () => {
  const row = (method: string, ms: number, wallMs: number, kernelMs: number) => ({ family: 'train-step', name: `step resnet18 w64 B256 ${method}`, ms, wallMs, kernelMs });
  const ratio = gradmixOverPlain({ adapter: 'x', rows: [row('none', 10, 20, 8), row('gradmix', 30, 30, 12)] });
  assert.equal(ratio, { wall: 1.5, kernel: 1.5 });
  assert.equal(gradmixOverPlain({ adapter: 'x', rows: [row('none', 10, 20, 8), { ...row('gradmix', 30, 30, 12), error: 'lost' }] }), { wall: null, kernel: null });
});

// The CUDA peer with the stand-in torch (bench/device/fake-torch): the override torch reads at
// import is cleared, and each log line carries the call's tag and the request's id.
const python = spawnSync('python3', ['--version']).status === 0;
(python ? test : test.skip)('the CUDA peer clears the TF32 override and logs each request by call and id', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-peer-log-'));
  try {
    const logFile = join(dir, 'torch-cuda.jsonl');
    const spec = { kind: 'matmul', M: 4, N: 4, K: 4, transA: false, transB: false };
    const req = (id: number) => JSON.stringify({ id, spec, warmup: 0, repeats: 2, min_repeats: 1, budget_ms: 10 });
    const r = spawnSync('python3', [join(root, 'bench', 'device', 'peer-torch-cuda.py'), join(root, 'bench', 'peer-torch.py')], {
      input: `${req(7)}\n${req(8)}\n`,
      encoding: 'utf8',
      env: {
        ...process.env,
        PYTHONPATH: join(root, 'bench', 'device', 'fake-torch'),
        PYTHONDONTWRITEBYTECODE: '1',
        GRADMIX_TORCH_CUDA_LOG: logFile,
        GRADMIX_TORCH_CALL: 'call-1',
        TORCH_ALLOW_TF32_CUBLAS_OVERRIDE: '1',
      },
    });
    assert.is(r.status, 0, r.stderr);
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TorchLogEntry & { fp32_settings: Record<string, unknown> });
    assert.equal(
      lines.map((l) => [l.call, l.id]),
      [
        ['call-1', 7],
        ['call-1', 8],
      ],
    );
    assert.ok(
      lines.every((l) => tf32Off(l.fp32_settings)),
      `fp32 settings: ${JSON.stringify(lines[0].fp32_settings)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
