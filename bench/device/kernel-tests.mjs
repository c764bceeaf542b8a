// Which test files travel in the device kit (bench/device/build-kit.mjs): those that check the
// GPU's arithmetic (every op forward and backward against float64 references at awkward shapes,
// the variants, LayerCAM, paste, kNN, scores, the PyTorch goldens of ResNet and Adam). The others
// stay home, each for the reason given; the kit build warns about a test file in neither list.

/** test/<name>.test.ts files bundled into the kit and run by its kernel suite (part b). */
export const KERNEL_TESTS = [
  'attentive-cutmix',
  'augment',
  'autograd',
  'bench-example',
  'batchnorm',
  'batchnorm-residual',
  'contrastive',
  'conv',
  'conv-gemm',
  'corrupt',
  'elementwise',
  'eval-golden',
  'finite-guard',
  'gemm-blocked',
  'intrinsic-dim',
  'kernel-choice',
  'knn',
  'layercam',
  'matmul',
  'matmul-skinny',
  'maxpool',
  'memory',
  'mix',
  'nn',
  'normalize',
  'objectives',
  'ood',
  'optim',
  'optim-ref',
  'osr-failures',
  'pool',
  'probe',
  'reduce',
  'resnet',
  'resnet-arch',
  'runtime-faults',
  'scores',
  'shape',
  'softmax',
  'splitk',
  'ssl',
  'ssl-finite-guard',
  'subgroups',
  'torchvision-resnet',
  'train',
  'train-memory',
  'training-interfaces',
];

/**
 * Seconds each file took alone (lavapipe, register variant, seed 1, process start included;
 * 2026-12-05): the weights that balance the kernel suite's shards. A file not listed counts 5 s.
 */
export const KERNEL_TEST_SECONDS = {
  'attentive-cutmix': 1.0,
  augment: 1.6,
  autograd: 1.4,
  'bench-example': 1.1,
  batchnorm: 3.1,
  'batchnorm-residual': 5.4,
  contrastive: 6.7,
  conv: 2.6,
  'conv-gemm': 2.4,
  corrupt: 2.4,
  elementwise: 1.4,
  'eval-golden': 7.8,
  'finite-guard': 2.6,
  'gemm-blocked': 2.2,
  'intrinsic-dim': 1.9,
  'kernel-choice': 1.7,
  knn: 1.3,
  layercam: 1.3,
  matmul: 2.4,
  'matmul-skinny': 7.0,
  maxpool: 1.0,
  memory: 5.3,
  mix: 0.9,
  nn: 3.0,
  normalize: 0.9,
  objectives: 4.9,
  ood: 3.0,
  optim: 0.8,
  'osr-failures': 1.0,
  pool: 0.7,
  probe: 1.5,
  reduce: 3.2,
  resnet: 10.7,
  'resnet-arch': 6.8,
  'runtime-faults': 1.3,
  scores: 1.7,
  shape: 1.2,
  softmax: 2.9,
  splitk: 1.7,
  ssl: 6.7,
  'ssl-finite-guard': 6.4,
  subgroups: 10.7,
  'torchvision-resnet': 15.1,
  train: 8.6,
  'train-memory': 23.7,
  'training-interfaces': 1.7,
};

/**
 * `names` in `count` shards of about equal seconds: the longest first, each to the shard with the
 * least so far (the same split in every process, so shard i of N is always the same files).
 */
export function shardFiles(names, count) {
  const shards = Array.from({ length: count }, () => ({ seconds: 0, names: [] }));
  const weight = (n) => KERNEL_TEST_SECONDS[n] ?? 5;
  const order = [...names].sort((a, b) => weight(b) - weight(a) || (a < b ? -1 : 1));
  for (const n of order) {
    const lightest = shards.reduce((best, s) => (s.seconds < best.seconds ? s : best));
    lightest.seconds += weight(n);
    lightest.names.push(n);
  }
  return shards.map((s) => s.names.sort());
}

/** The test files left out, and why. */
export const OTHER_TESTS = {
  browser: 'drives Chromium',
  'bundle-size': 'builds the browser bundle',
  package: 'npm pack and install',
  cli: 'runs the CLI from source in child processes',
  'fault-injection': 'kills CLI child processes',
  runtime: 'child processes',
  'run-lock': 'child processes',
  checkpoint: 'file format on the host (and a PyTorch child process)',
  'kernel-modules': 'reads kernels/*.wgsl sources, which the kit embeds instead',
  autotune: "the tuner's disk cache and timing logic, no arithmetic",
  'corrupt-files': 'host-side .npy readers',
  'data-batches': 'host-side data',
  'data-cifar': 'host-side data',
  'data-dataset': 'host-side data',
  'data-idx': 'host-side data',
  'data-image-folder': 'host-side data',
  'data-mnist-mini': 'host-side data',
  'data-svhn': 'host-side data',
  protocols: 'host-side data',
  metrics: 'host-side metric arithmetic',
  'own-data': 'end to end through the CLI (part e runs training end to end)',
  'ood-own-data': 'ood through the CLI on an own-image checkpoint (its kernels: ood)',
  'predict-fit': 'host-side fitting of new images to a recogniser (its kernels: knn, nn)',
  'recogniser-store': 'checkpoint files rewritten by eval --calibrate, and the run lock',
  'train-resume': 'run folders, checkpoints and logs across resumes (part e trains end to end)',
  plots: 'SVG files',
  'train-pictures': 'PNG files',
  'device-kit': 'builds this kit and runs it',
  'bench-compare': 'host-side result files',
  'bench-web': 'drives Chromium',
  'bench-harness': 'the timing harness on stand-in clocks and the profiler union, host-side',
  'device-bench-results': "the kit's bench calls and their result files (the dry run covers the kit)",
  layers: "the sources' import graph",
  'lint-config': 'runs ESLint on the sources',
  'run-config': 'host-side config files',
  'options-layers': 'host-side option checks',
  sweep: 'CLI child processes and scheduler scripts',
  'sweep-cli': 'sweep plans and reports through the CLI on files (one tiny run trains end to end)',
  'sweep-slurm': 'a one-node Slurm of the host (munge and slurmd as root)',
  'attentive-cutmix-runs': 'end to end through the CLI and files (its kernels: attentive-cutmix)',
  'device-bar': "reads a run's summary, no GPU",
  'peer-torch-gradmix': 'the PyTorch peer in a python3 child (no torch there to check against before the run)',
  resize: 'host-side image resizing (against PyTorch fixtures)',
  'first-use': 'the setup stamp, host-side',
};
