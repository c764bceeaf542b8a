// Which test files travel in the device kit (bench/device/build-kit.mjs): those that check the
// GPU's arithmetic (every op forward and backward against float64 references at awkward shapes,
// the variants, LayerCAM, paste, kNN, scores, the PyTorch goldens of ResNet and Adam). The others
// stay home, each for the reason given; the kit build warns about a test file in neither list.

/** test/<name>.test.ts files bundled into the kit and run by its kernel suite (part b). */
export const KERNEL_TESTS = [
  'augment', 'autograd', 'batchnorm', 'batchnorm-residual', 'contrastive', 'conv', 'conv-gemm', 'corrupt', 'elementwise',
  'eval-golden', 'finite-guard', 'gemm-blocked', 'intrinsic-dim', 'kernel-choice', 'knn', 'layercam', 'matmul',
  'matmul-skinny', 'maxpool', 'memory', 'mix', 'nn', 'normalize', 'objectives', 'ood', 'optim', 'pool', 'probe',
  'reduce', 'resnet', 'resnet-arch', 'scores', 'shape', 'softmax', 'splitk', 'ssl', 'subgroups', 'torchvision-resnet', 'train',
];

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
  autotune: 'the tuner\'s disk cache and timing logic, no arithmetic',
  'corrupt-files': 'host-side .npy readers',
  'data-batches': 'host-side data', 'data-cifar': 'host-side data', 'data-dataset': 'host-side data',
  'data-idx': 'host-side data', 'data-image-folder': 'host-side data', 'data-mnist-mini': 'host-side data',
  'data-svhn': 'host-side data', protocols: 'host-side data',
  metrics: 'host-side metric arithmetic',
  'own-data': 'end to end through the CLI (part e runs training end to end)',
  plots: 'SVG files', 'train-pictures': 'PNG files',
  'device-kit': 'builds this kit and runs it',
};
