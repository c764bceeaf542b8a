// What a kernel family contributes to the benchmark: rows, each with its shapes, its work (FLOPs
// and minimal memory traffic, for rates and fractions of the device ceilings), a setup that
// returns the work to time, and optionally the same problem for the peers (TF.js, PyTorch).
import type { Autotuner } from '../runtime/autotune.js';
import type { Rng } from '../src/random.js';
import type { TimeOptions } from './harness.js';

export interface BenchConfig {
  /** Small batches (a CPU rasteriser, or --quick). */
  quick: boolean;
  /** Image batch sizes (per view). */
  batches: readonly number[];
  /** ResNet18 widths w (stages w, 2w, 4w, 8w). */
  widths: readonly number[];
  /** Whether --batch / --width set them (families with sizes of their own follow the flags then). */
  fromFlags: { batches: boolean; widths: boolean };
  /** Input side (CIFAR: 32). */
  imageSize: number;
  timing: TimeOptions;
  autotuner: Autotuner;
  /** Steps of the memory family's flatness row (default 100; the page's tiny runs take fewer). */
  flatSteps?: number;
}

/** The work of a row, ready to run repeatedly. */
export interface Work {
  /** Records GPU work (synchronously); timed on the GPU. Tensors it creates are disposed after each run. */
  run?: () => unknown;
  /** Work that waits for its own results (a readback); timed by the wall clock. */
  runAsync?: () => Promise<unknown>;
  /** Frees the inputs. */
  dispose: () => void;
  /** Shown next to the row (e.g. the autotuned variant). */
  note?: string;
  /** The kernel variant timed, where the row picks one (recorded in the JSON, compared by bench:compare). */
  variant?: string;
  /** Called after the timed runs; replaces `note` (figures gathered while running, e.g. memory). */
  summary?: () => string;
}

export interface ConvPeer {
  kind: 'conv2d';
  pass: 'forward' | 'input-grad' | 'weight-grad';
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
}

export interface MatmulPeer {
  kind: 'matmul';
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

/** Problems only PyTorch runs as a peer (TF.js has no equivalent worth comparing). */
export type TorchOnlyPeer =
  | { kind: 'batchnorm'; pass: 'forward' | 'backward'; shape: [number, number, number, number]; relu: boolean }
  | { kind: 'contrastive'; pass: 'forward' | 'backward'; n: number; d: number; tau: number }
  | { kind: 'adam'; shapes: number[][] }
  | { kind: 'knn'; train: number; test: number; d: number; classes: number; k: number };

/**
 * One training step of the SupCon ResNet (forward of both views, SupCon + SimCLR on the L2-normalised
 * projections, backward, Adam): the peers build the same encoder and head. Method gradmix adds
 * GradMix's LayerCAM, paste and mixed-view term (PyTorch only: TF.js has no LayerCAM).
 */
export interface TrainStepPeer {
  kind: 'train-step';
  /** Default none. */
  method?: 'none' | 'gradmix';
  arch: 'resnet18' | 'resnet34' | 'resnet50';
  width: number;
  /** Images per view; the model sees 2 * batch. */
  batch: number;
  channels: number;
  size: number;
  tau: number;
}

export type PeerSpec = ConvPeer | MatmulPeer | TorchOnlyPeer | TrainStepPeer;

export interface Row {
  family: string;
  name: string;
  /** Shapes, as printed. */
  shape: string;
  /** Floating-point operations of one run (multiply-add = 2). */
  flops?: number;
  /** Minimal bytes moved by one run (each input read once, each output written once). */
  bytes?: number;
  /** Which ceiling the row is compared with. */
  bound: 'compute' | 'memory';
  setup: () => Promise<Work> | Work;
  peer?: PeerSpec;
  /** Overrides the run's timing for this row (e.g. one long run instead of repeats). */
  timing?: Partial<TimeOptions>;
  /** Also profile the kernels' GPU time (ResultRow.kernelMs, kernelBusyMs; bench/measure-row.ts). */
  kernelTime?: boolean;
  /**
   * How many times the network a family sums over runs this problem per pass (conv2d: ResNet18's
   * convolutions of this shape): a family total is the sum of count x time. Absent: 1.
   */
  count?: number;
}

export interface Family {
  name: string;
  /** Rows at the configured shapes; a family whose ops are missing returns why instead. */
  rows: (cfg: BenchConfig) => Promise<Row[] | { skipped: string }>;
}

/** One convolution of the CIFAR ResNet18 (docs/TRAINING.md section 1). */
export interface ConvShape {
  layer: string;
  cin: number;
  cout: number;
  /** Input side. */
  size: number;
  k: number;
  stride: number;
  pad: number;
  /** How many of ResNet18's convolutions have this shape (Row.count). */
  count: number;
}

/**
 * Every distinct convolution of the CIFAR ResNet18 (src/nn/resnet.ts) at width w on size x size
 * inputs, with how often the network has it: the stem; layer1's 3x3 (4 of them); per later stage
 * its strided first conv and 1x1 projection shortcut (once each), then its 3x3 at the halved side
 * (conv2 of block 0 and both of block 1: 3). `layer` names the first such conv where the row names
 * were kept from before counts (layer2.1.conv1 stands for layer2's three), so older result files
 * still meet these rows by name. 20 convolutions in 11 shapes; test/bench-harness checks them
 * against the model's own.
 */
export function resnetConvs(w: number, size: number, inChannels = 3): ConvShape[] {
  const conv3 = (layer: string, cin: number, cout: number, side: number, stride: number, count: number): ConvShape => ({ layer, cin, cout, size: side, k: 3, stride, pad: 1, count });
  const shortcut = (layer: string, cin: number, cout: number, side: number): ConvShape => ({ layer, cin, cout, size: side, k: 1, stride: 2, pad: 0, count: 1 });
  return [
    conv3('conv1', inChannels, w, size, 1, 1),
    conv3('layer1.0.conv1', w, w, size, 1, 4),
    conv3('layer2.0.conv1', w, 2 * w, size, 2, 1),
    shortcut('layer2.0.shortcut', w, 2 * w, size),
    conv3('layer2.1.conv1', 2 * w, 2 * w, size / 2, 1, 3),
    conv3('layer3.0.conv1', 2 * w, 4 * w, size / 2, 2, 1),
    shortcut('layer3.0.shortcut', 2 * w, 4 * w, size / 2),
    conv3('layer3.1.conv1', 4 * w, 4 * w, size / 4, 1, 3),
    conv3('layer4.0.conv1', 4 * w, 8 * w, size / 4, 2, 1),
    shortcut('layer4.0.shortcut', 4 * w, 8 * w, size / 4),
    conv3('layer4.1.conv1', 8 * w, 8 * w, size / 8, 1, 3),
  ];
}

/** Output side of a convolution. */
export function convOut(c: Pick<ConvShape, 'size' | 'k' | 'stride' | 'pad'>): number {
  return Math.floor((c.size + 2 * c.pad - c.k) / c.stride) + 1;
}

/** The activation shapes [B, C, h, w] after each stage of ResNet18 (the LayerCAM layers' shapes). */
export function stageOutputs(w: number, size: number, batch: number): { layer: string; shape: [number, number, number, number] }[] {
  return [1, 2, 3, 4].map((s) => ({ layer: `layer${s}.1`, shape: [batch, w * 2 ** (s - 1), size / 2 ** (s - 1), size / 2 ** (s - 1)] }));
}

/** Random unit-length rows [rows, d] (features as the model emits them), seeded. */
export function unitRows(rows: number, d: number, rng: Rng): Float32Array {
  const v = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += (v[r * d + j] = rng.normal()) ** 2;
    for (let j = 0; j < d; j++) v[r * d + j] /= Math.sqrt(norm);
  }
  return v;
}

export function fmtShape(s: readonly number[]): string {
  return `[${s.join(',')}]`;
}
