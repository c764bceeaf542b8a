// The device kit's dry run (bench/device, npm run device:dry-run): the kit is built (downloads and
// slow compressions come from .device-cache/ after the first build; offline with an empty cache,
// these tests are skipped, saying so), then its runner runs every part on lavapipe at tiny sizes
// in a child process, as it would on the GPU machine, and its JSON must say every part is ok: the
// adapter is the expected one and was found through the kit's own Vulkan loader, both kernel
// variant families pass the bundled kernel tests, the benchmark and training-step rows have
// figures, and gradmix train ran end to end on mnist-mini (with an AUROC) and on full MNIST's IDX
// files; the bar's lines are in the summary and the log. A wrong --expect must stop the run loudly with exit code 2.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const kit = join(root, '.device-kit');
const OFFLINE_EXIT = 3; // bench/device/build-kit.mjs: a download was needed and failed

const build = spawnSync(process.execPath, [join(root, 'bench', 'device', 'build-kit.mjs')], { cwd: root, encoding: 'utf8', timeout: 900_000 });
const offline = build.status === OFFLINE_EXIT;
if (offline) console.log(`device-kit: SKIPPED, the kit cannot be built offline with an empty .device-cache/: ${build.stderr.trim()}`);
const kitTest = offline ? test.skip : test;

interface Part {
  status: string;
  detail?: Record<string, unknown>;
  error?: string;
}

// One seed for the bundled kernel tests (test/helpers.ts seeded()): this test guards the kit, so
// it should not fail with a seed-dependent failure of a kernel test, which their own runs report.
// bench/device/fake-torch stands in for torch, so that run.sh finds "a python3 with torch" and the
// CUDA peer wrapper takes its CUDA path here too (its figures are meaningless; the plumbing is not).
function runKit(args: string[], out: string) {
  const env = { ...process.env, OUT: '', SEED: process.env.SEED ?? '1', PYTHONPATH: join(root, 'bench', 'device', 'fake-torch'), PYTHONDONTWRITEBYTECODE: '1' };
  return spawnSync('bash', [join(kit, 'run.sh'), ...args, '--out', out], { encoding: 'utf8', timeout: 600_000, env });
}

kitTest('the kit builds under 60 MiB with every component', () => {
  assert.is(build.status, 0, `build-kit.mjs failed:\n${build.stdout}\n${build.stderr}`);
  const manifest = JSON.parse(readFileSync(join(kit, 'kit.json'), 'utf8')) as { bytes: number; files: Record<string, number>; node: string };
  assert.ok(manifest.bytes < 60 * 2 ** 20, `the kit is ${(manifest.bytes / 2 ** 20).toFixed(1)} MiB`);
  for (const f of ['node.tar.xz', 'app.tar.xz', 'dawn.tar.xz', 'data.tar.xz', 'vulkan.tar.xz', 'run.sh']) assert.ok(manifest.files[f] > 0, `kit.json lists ${f}`);
  assert.ok(
    Object.keys(manifest.files).some((f) => /^debs\/libvulkan1_.*\.deb$/.test(f)),
    'the libvulkan1 .deb travels',
  );
  assert.match(manifest.node, /^20\./);
});

kitTest("dry run on lavapipe: every part ok, through the kit's Node and Vulkan loader", () => {
  const out = mkdtempSync(join(tmpdir(), 'gradmix-dry-run-'));
  try {
    // Two kernel-suite shards per variant (one by default on 2 cores), so the split and merge run too.
    const r = runKit(['--expect', 'llvmpipe', '--shards', '2'], out);
    const summaryFile = join(out, 'device-run.json');
    assert.ok(existsSync(summaryFile), `no device-run.json; output:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { ok: boolean; parts: Record<string, Part> };
    const bad = Object.entries(summary.parts)
      .filter(([, p]) => p.status !== 'ok')
      .map(([n, p]) => `${n}: ${p.status} ${p.error ?? ''}`);
    assert.equal(bad, [], `parts not ok:\n${bad.join('\n')}\n${r.stdout.slice(-3000)}`);
    assert.equal(Object.keys(summary.parts).sort(), ['adapter', 'bench', 'kernels', 'step', 'train']);
    assert.ok(summary.ok);
    assert.is(r.status, 0);

    const adapter = summary.parts.adapter.detail as { adapter: string; vulkanLoader: string[]; node: string };
    assert.match(adapter.adapter, /llvmpipe/);
    assert.ok(adapter.vulkanLoader.length > 0 && adapter.vulkanLoader.every((p) => p.includes('/vulkan/lib/libvulkan.so')), `libvulkan from the kit: ${adapter.vulkanLoader}`);
    assert.match(adapter.node, /^v20\./);

    const kernels = summary.parts.kernels.detail as { shards: number; variants: Record<string, { passed: number; failed: number; kernelVariant: string; shards: { files: string[] }[] }> };
    assert.is(kernels.shards, 2);
    for (const v of ['register', 'tiled']) {
      const got = kernels.variants[v];
      assert.ok(got.passed > 0 && got.failed === 0, `kernel tests under ${v}: ${JSON.stringify(got).slice(0, 300)}`);
      assert.is(got.kernelVariant, v);
      assert.equal(got.shards.flatMap((s) => s.files).sort(), ['conv-gemm', 'knn', 'matmul'], `each file in one shard under ${v}`);
    }

    const bench = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as {
      peers: { torch: { version?: string } };
      groups: { status: string; ceilings?: unknown; ceilingsFrom?: string; peers: { torch: { call?: string } } }[];
      rows: { family: string; ms?: number; error?: string; group?: number; torchRequest?: number; torch?: { ms?: number; tf32Ms?: number; tf32Off?: boolean } }[];
    };
    assert.ok(bench.rows.some((row) => row.family === 'conv2d') && bench.rows.some((row) => row.family === 'matmul'), 'conv2d and matmul rows');
    assert.ok(bench.rows.every((row) => row.ms! > 0 && !row.error));
    // The PyTorch peer through run.sh's wrapper on its CUDA path: figures per row, TF32 off and on logged.
    assert.match(String(bench.peers.torch.version), /CUDA on fake GPU/);
    assert.ok(
      bench.rows.filter((row) => row.family === 'matmul').every((row) => (row.torch?.ms ?? 0) > 0),
      'PyTorch figures on the matmul rows',
    );
    const torchLog = readFileSync(join(out, 'torch-cuda.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { call?: string; id?: number; fp32_ms?: number; tf32_ms?: number });
    assert.ok(torchLog.length >= bench.rows.filter((row) => row.torch?.ms).length && torchLog.every((e) => e.fp32_ms! > 0 && e.tf32_ms! > 0), 'torch-cuda.jsonl: fp32 and tf32 per request');
    // bench.json carries each row's TF32-on figure beside its fp32 one (joined from torch-cuda.jsonl
    // by the call's tag and the request's id), and whether the logged settings show TF32 off.
    const byRequest = new Map(torchLog.map((e) => [`${e.call} ${e.id}`, e]));
    const withTorch = bench.rows.filter((row) => row.torch?.ms);
    assert.ok(
      withTorch.every((row) => {
        const e = byRequest.get(`${bench.groups[row.group!].peers.torch.call} ${row.torchRequest}`);
        return e && row.torch!.tf32Ms === e.tf32_ms && row.torch!.ms === e.fp32_ms && row.torch!.tf32Off === true;
      }),
      'tf32Ms and tf32Off beside each PyTorch figure',
    );
    // The first call measured the ceilings; the second reused them. The peers line names no CPU for the CUDA peer.
    assert.ok(!bench.groups[0].ceilingsFrom && bench.groups[1].ceilingsFrom?.endsWith('bench-0.json'), `ceilings per group: ${JSON.stringify(bench.groups.map((g) => g.ceilingsFrom))}`);
    assert.ok(bench.groups.every((g) => g.ceilings && g.status === 'ok'));

    const step = summary.parts.step.detail as { rows: { name: string; ms: number; gpuBusy: number | null }[]; gradmixOverPlain: number };
    assert.ok(step.rows.some((row) => / none$/.test(row.name)) && step.rows.some((row) => / gradmix$/.test(row.name)));
    // The busy fraction is the kernels' time of a profiled step over the step's wall time.
    const steps = step.rows.filter((row) => row.name.startsWith('train-step '));
    assert.ok(steps.length === 2 && steps.every((row) => row.gpuBusy !== null && row.gpuBusy > 0 && row.gpuBusy <= 1.05), `GPU busy of the step rows: ${JSON.stringify(steps)}`);
    assert.ok(step.gradmixOverPlain > 0);

    const runs = (summary.parts.train.detail as { runs: { name: string; auroc?: number; headAuroc?: number; exit: number }[] }).runs;
    const mini = runs.find((run) => run.name.startsWith('mnist-mini'));
    assert.ok(mini && mini.auroc! > 0 && mini.auroc! <= 1 && mini.headAuroc! > 0, `mnist-mini run: ${JSON.stringify(mini)}`);
    assert.ok(
      runs.some((run) => run.name.startsWith('mnist w') && run.exit === 0),
      'full MNIST (the IDX files in the kit) trained',
    );
    const log = readFileSync(join(out, 'device-run.log'), 'utf8');
    assert.ok(log.includes('part train: ok'));
    assert.match(log, /PyTorch 0\.0-fake CUDA on fake GPU \(dry run\), fp32 with TF32 off\n/, 'the CUDA peer is not called CPU');
    const stepJson = JSON.parse(readFileSync(join(out, 'step.json'), 'utf8')) as { peers: { tfjs: { unavailable?: string } }; ceilingsFrom?: string };
    assert.equal([stepJson.peers.tfjs.unavailable, stepJson.ceilingsFrom?.endsWith('bench-0.json')], ['not requested', true]);
    // The bar from this run's parts: figures where the tiny sizes have them (no full-MNIST AUROC: not evaluated).
    const bar = (summary as unknown as { bar: { line: string; measured: number | null }[] }).bar;
    assert.is(bar.length, 9);
    assert.ok((bar.find((l) => l.line.startsWith('GradMix step / plain'))?.measured ?? 0) > 0, `the bar: ${JSON.stringify(bar)}`);
    assert.match(log, /the bar \(issue 12\)\nconvolutions, ours \/ PyTorch/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

kitTest('a wrong --expect stops the run loudly with exit code 2', () => {
  const out = mkdtempSync(join(tmpdir(), 'gradmix-dry-run-'));
  try {
    const r = runKit(['--expect', 'nvidia', '--only', 'kernels'], out);
    assert.is(r.status, 2, `exit ${r.status}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout + r.stderr, /ADAPTER CHECK FAILED \(part a\): expected --expect nvidia, got '.*llvmpipe/);
    const summary = JSON.parse(readFileSync(join(out, 'device-run.json'), 'utf8')) as { ok: boolean; parts: Record<string, Part> };
    assert.is(summary.ok, false);
    assert.is(summary.parts.adapter.status, 'failed');
    assert.is(summary.parts.kernels.status, 'skipped');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// On a GPU machine (nvidia-smi there), as root, a failed adapter check with the default loader is
// tried once more with the device notes' recipe. Stand-ins for nvidia-smi, dpkg and ldconfig on
// PATH record what run.sh asks of them, so this machine's / is left alone.
(!offline && process.getuid?.() === 0 ? test : test.skip)('no NVIDIA adapter through the kit loader: run.sh tries the .deb recipe once, then stops with exit code 2', () => {
  const out = mkdtempSync(join(tmpdir(), 'gradmix-dry-run-'));
  const bin = mkdtempSync(join(tmpdir(), 'gradmix-stub-bin-'));
  try {
    const calls = join(bin, 'calls');
    for (const tool of ['nvidia-smi', 'dpkg', 'ldconfig']) writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> ${calls}\n`, { mode: 0o755 });
    const env = { ...process.env, OUT: '', PATH: `${bin}:${process.env.PATH}` };
    const r = spawnSync('bash', [join(kit, 'run.sh'), '--expect', 'nvidia', '--only', 'kernels', '--out', out], { encoding: 'utf8', timeout: 300_000, env });
    assert.is(r.status, 2, `exit ${r.status}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    const log = readFileSync(join(out, 'device-run.log'), 'utf8');
    assert.match(log, /no NVIDIA adapter through the kit's libvulkan: trying the device notes' recipe/);
    assert.is(log.match(/=== part adapter: failed/g)?.length, 2, 'the check ran with each loader');
    assert.match(log, /run.sh: loader root/);
    const made = readFileSync(calls, 'utf8');
    assert.match(made, /dpkg -x .*libvulkan1_.*\.deb \//);
    assert.match(made, /^ldconfig/m);
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(bin, { recursive: true, force: true });
  }
});

test.run();
