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
  /** Also sum the kernels' GPU time over one profiled run (ResultRow.kernelMs). */
  kernelTime?: boolean;
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
}

/**
 * The distinct convolutions of ResNet18 at width w on size x size inputs: the stem, a 3x3 conv
 * of each stage, the strided first conv of stage 2 and its 1x1 projection shortcut (stages 3 and
 * 4 repeat those shapes at half the size and twice the channels).
 */
export function resnetConvs(w: number, size: number, inChannels = 3): ConvShape[] {
  return [
    { layer: 'conv1', cin: inChannels, cout: w, size, k: 3, stride: 1, pad: 1 },
    { layer: 'layer1.0.conv1', cin: w, cout: w, size, k: 3, stride: 1, pad: 1 },
    { layer: 'layer2.0.conv1', cin: w, cout: 2 * w, size, k: 3, stride: 2, pad: 1 },
    { layer: 'layer2.0.shortcut', cin: w, cout: 2 * w, size, k: 1, stride: 2, pad: 0 },
    { layer: 'layer2.1.conv1', cin: 2 * w, cout: 2 * w, size: size / 2, k: 3, stride: 1, pad: 1 },
    { layer: 'layer3.1.conv1', cin: 4 * w, cout: 4 * w, size: size / 4, k: 3, stride: 1, pad: 1 },
    { layer: 'layer4.1.conv1', cin: 8 * w, cout: 8 * w, size: size / 8, k: 3, stride: 1, pad: 1 },
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
