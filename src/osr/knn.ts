// kNN open-set scoring on the GPU (docs/OPEN-SET.md section 2, paper Algorithm 1): per known class c,
// d_c = sum of the k largest cosine similarities between a test feature and class c's train
// features; score = max_c d_c / sum_c d_c, predicted = argmax_c d_c (first maximum on ties).
// Features are expected L2-normalised already (dot product = cosine); nothing is normalised here.
// A class with fewer than k train samples sums the similarities it has (d_c is then a sum of
// n_c < k terms); a class with none is an error. The score is the paper's formula as it stands:
// with trained features the top-k similarities are positive, but where sum_c d_c <= 0 (e.g.
// random features) it can leave [0, 1] or be infinite. Kernels: kernels/knn.wgsl.
import { gpu } from '../../runtime/gpu.js';
import { tensor } from '../creation.js';
import { Tensor, formatShape } from '../tensor.js';
import { WG, grid, launch } from '../ops/launch.js';

export interface OpenSetScoreOptions {
  /** Neighbours per class (default 3, at most MAX_K). */
  k?: number;
  /** Number of known classes; labels are 0..numClasses-1 (default: largest label + 1). */
  numClasses?: number;
  /** Test rows per GPU dispatch (default: as many as make about 2^30 multiply-adds, on GPUs at least enough to fill the chip). */
  rowsPerDispatch?: number;
}

export interface OpenSetScores {
  /** max_c d_c / sum_c d_c per test sample, [Nte]. */
  scores: Float32Array;
  /** argmax_c d_c per test sample, [Nte]. */
  predicted: Int32Array;
  /** d_c per test sample and class, row-major [Nte, numClasses]. */
  classSums: Float32Array;
}

/** Largest k the kernel supports (its private top-k array, MAX_K in kernels/knn.wgsl). */
export const MAX_K = 32;

/**
 * Test rows per dispatch are capped so that one dispatch does at most this many multiply-adds,
 * and each chunk is submitted on its own: long single dispatches can trip GPU watchdogs.
 */
const MACS_PER_DISPATCH = 2 ** 30;

/**
 * On a GPU a dispatch grows towards this many invocations: each invocation walks its class's
 * whole train set for its 4 rows, so a dispatch lasts about one invocation's walk until the chip
 * is full, and the multiply-add cap alone (a few dozen rows of a large gallery, ~100 invocations)
 * would leave nearly all of it idle, dispatch after dispatch. CPU adapters run invocations a few
 * at a time, so there the cap alone decides.
 */
const GPU_FILL_INVOCATIONS = 16384;

/**
 * A growing dispatch stops growing once one takes this long: a small GPU (integrated, a phone's)
 * needs many passes over its cores for a full-size dispatch, which could pass the ~2 s after which
 * Windows (TDR) and browsers reset a GPU.
 */
const DISPATCH_TARGET_MS = 200;

/** The next dispatch's rows after one of `rows` took `ms`: up to 4x larger while under the target, at most `most`. */
export function nextDispatchRows(rows: number, ms: number, most: number): number {
  if (ms >= DISPATCH_TARGET_MS / 2) return rows;
  return Math.min(most, Math.max(rows + 1, Math.floor(rows * Math.min(4, DISPATCH_TARGET_MS / Math.max(ms, 1e-3)))));
}

/** Test rows per class_topk invocation (ROWS in kernels/knn.wgsl). */
const ROWS_PER_INVOCATION = 4;

/** Classes are the z dimension of the dispatch grid. */
const MAX_WORKGROUPS = 65535;

/** Train row indices grouped by class (stable) and each class's start in that order. */
function groupByClass(labels: ArrayLike<number>, numClasses: number): { order: Int32Array; classStart: Int32Array } {
  const counts = new Int32Array(numClasses);
  for (let j = 0; j < labels.length; j++) {
    const c = labels[j];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new Error(`scoreOpenSet: train label ${j} is ${c}; labels must be integers in 0..${numClasses - 1}`);
    }
    counts[c]++;
  }
  const empty = counts.findIndex((n) => n === 0);
  if (empty >= 0) throw new Error(`scoreOpenSet: class ${empty} has no train samples (numClasses = ${numClasses})`);
  const classStart = new Int32Array(numClasses + 1);
  for (let c = 0; c < numClasses; c++) classStart[c + 1] = classStart[c] + counts[c];
  const next = classStart.slice(0, numClasses);
  const order = new Int32Array(labels.length);
  for (let j = 0; j < labels.length; j++) order[next[labels[j]]++] = j;
  return { order, classStart };
}

async function hostLabels(labels: ArrayLike<number> | Tensor): Promise<ArrayLike<number>> {
  if (!(labels instanceof Tensor)) return labels;
  if (labels.dtype !== 'int32') throw new Error(`scoreOpenSet: train labels must be an int32 tensor, got ${labels.dtype}`);
  return labels.data();
}

/** [N, D] of a float32 matrix of features (or logits); `op` and `what` name it in the error. */
export function matrixShape(op: string, what: string, t: Tensor): [number, number] {
  if (t.rank !== 2 || t.dtype !== 'float32') throw new Error(`${op}: ${what} must be a float32 [N, D] tensor, got ${t.dtype} ${formatShape(t.shape)}`);
  return [t.shape[0], t.shape[1]];
}

/**
 * NaN for each row whose class sums add up to 0 in float32 (summed in the kernel's order): its
 * score best / 0 has no value, and WGSL leaves division by zero unspecified (a driver's fast math
 * may return any finite number), so the rule that such an image stops an evaluation and is unknown
 * to `predict` (docs/OPEN-SET.md section 2) is kept here rather than trusted to the GPU.
 */
function withoutValueWhereSumsCancel(scores: Float32Array, classSums: Float32Array, numClasses: number): Float32Array {
  for (let i = 0; i < scores.length; i++) {
    let total = 0;
    for (let c = 0; c < numClasses; c++) total = Math.fround(total + classSums[i * numClasses + c]);
    if (total === 0) scores[i] = NaN;
  }
  return scores;
}

/**
 * Scores test features against train features of the known classes. The test x train
 * similarities are streamed (each GPU invocation keeps the running top-k lists of 4 test rows
 * for one class), so memory is O(Ntr + Nte * numClasses) whatever the sizes.
 */
export async function scoreOpenSet(trainFeats: Tensor, trainLabels: ArrayLike<number> | Tensor, testFeats: Tensor, options: OpenSetScoreOptions = {}): Promise<OpenSetScores> {
  const [nTrain, dim] = matrixShape('scoreOpenSet', 'train features', trainFeats);
  const [nTest, testDim] = matrixShape('scoreOpenSet', 'test features', testFeats);
  if (testDim !== dim) throw new Error(`scoreOpenSet: test features have ${testDim} dimensions, train features ${dim}`);
  const labels = await hostLabels(trainLabels);
  if (labels.length !== nTrain) throw new Error(`scoreOpenSet: ${labels.length} train labels for ${nTrain} train features`);
  const k = options.k ?? 3;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new Error(`scoreOpenSet: k must be an integer in 1..${MAX_K}, got ${k}`);
  let numClasses = options.numClasses;
  if (numClasses === undefined) {
    numClasses = 0;
    for (let j = 0; j < labels.length; j++) numClasses = Math.max(numClasses, labels[j] + 1);
  }
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > MAX_WORKGROUPS) {
    throw new Error(`scoreOpenSet: numClasses must be an integer in 1..${MAX_WORKGROUPS}, got ${numClasses}`);
  }
  const { order, classStart } = groupByClass(labels, numClasses);
  if (nTest === 0) return { scores: new Float32Array(0), predicted: new Int32Array(0), classSums: new Float32Array(0) };

  const temps: Tensor[] = [];
  const temp = (t: Tensor) => (temps.push(t), t);
  try {
    const orderT = temp(tensor(order, [nTrain], { dtype: 'int32' }));
    const startT = temp(tensor(classStart, [numClasses + 1], { dtype: 'int32' }));
    const sums = temp(Tensor.empty([nTest, numClasses]));
    const score = temp(Tensor.empty([nTest]));
    const pred = temp(Tensor.empty([nTest], 'int32'));
    const capped = Math.max(1, Math.floor(MACS_PER_DISPATCH / Math.max(1, nTrain * dim)));
    const filling = gpu().cpuAdapter ? 0 : Math.ceil(GPU_FILL_INVOCATIONS / numClasses) * ROWS_PER_INVOCATION;
    // On GPUs the chunk starts at the cap and grows by each dispatch's measured time (below).
    const most = options.rowsPerDispatch ?? Math.max(capped, filling);
    let chunk = options.rowsPerDispatch ?? capped;
    if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`scoreOpenSet: rowsPerDispatch must be a positive integer, got ${chunk}`);
    // Growing dispatches are timed alone: nothing queued before them, pipelines compiled by the first.
    if (chunk < most) await gpu().sync();
    for (let row0 = 0; row0 < nTest;) {
      const rows = Math.min(chunk, nTest - row0);
      const [x, y] = grid(Math.ceil(rows / ROWS_PER_INVOCATION), WG);
      launch('knn.class_topk', {
        tensors: { test: testFeats, train: trainFeats, order: orderT, class_start: startT, sums_out: sums },
        params: { rows, row0, dim, num_classes: numClasses, k },
        workgroups: [x, y, numClasses],
        overrides: { WG },
      });
      const started = performance.now(); // after the launch, which compiles the pipeline on first use
      gpu().flush();
      row0 += rows;
      if (chunk < most && row0 < nTest) {
        await gpu().sync();
        chunk = nextDispatchRows(chunk, performance.now() - started, most);
      }
    }
    launch('knn.score_rows', {
      tensors: { sums_in: sums, score, pred },
      params: { rows: nTest, row0: 0, dim, num_classes: numClasses, k },
      workgroups: grid(nTest, WG),
      overrides: { WG },
    });
    const classSums = (await sums.data()) as Float32Array;
    return { scores: withoutValueWhereSumsCancel((await score.data()) as Float32Array, classSums, numClasses), predicted: (await pred.data()) as Int32Array, classSums };
  } finally {
    for (const t of temps) t.dispose();
  }
}
