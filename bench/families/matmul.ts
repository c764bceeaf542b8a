// matmul (src/ops/matmul.ts) at the shapes the model meets: the projection head's first linear
// layer (forward and both gradients, rows = 2B, features 8w), the im2col-equivalent GEMM of a
// stage-3 3x3 convolution, and one square reference product. The kernel variant of each shape
// class is chosen as the op chooses it (src/ops/kernel-choice.ts), at first use, cached per adapter.
import { randn } from '../../src/creation.js';
import { Rng } from '../../src/random.js';
import { matmul, matmulProblem } from '../../src/ops/matmul.js';
import { tunedWork } from '../tuned.js';
import type { BenchConfig, Family, MatmulPeer, Row } from '../family.js';

interface Problem {
  name: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

function problems(cfg: BenchConfig): Problem[] {
  const list: Problem[] = [];
  for (const w of cfg.widths) {
    for (const b of cfg.batches) {
      const rows = 2 * b;
      const f = 8 * w;
      const tag = `w${w} B${b}`;
      list.push(
        { name: `head fc1 forward ${tag}`, M: rows, N: f, K: f, transA: false, transB: true },
        { name: `head fc1 input-grad ${tag}`, M: rows, N: f, K: f, transA: false, transB: false },
        { name: `head fc1 weight-grad ${tag}`, M: f, N: f, K: rows, transA: true, transB: false },
        { name: `layer3 conv as GEMM ${tag}`, M: b * (cfg.imageSize / 4) ** 2, N: 4 * w, K: 9 * 4 * w, transA: false, transB: false },
      );
    }
  }
  const n = cfg.quick ? 256 : 1024;
  list.push({ name: `square ${n}`, M: n, N: n, K: n, transA: false, transB: false });
  return list;
}

function row(p: Problem): Row {
  const { M, N, K, transA, transB } = p;
  const peer: MatmulPeer = { kind: 'matmul', M, N, K, transA, transB };
  return {
    family: 'matmul',
    name: p.name,
    shape: `M${M} N${N} K${K}${transA ? ' tA' : ''}${transB ? ' tB' : ''}`,
    flops: 2 * M * N * K,
    bytes: 4 * (M * K + K * N + M * N),
    bound: 'compute',
    peer,
    setup: async () => {
      const rng = new Rng(11);
      const a = randn(transA ? [K, M] : [M, K], rng);
      const b = randn(transB ? [N, K] : [K, N], rng);
      const work = await tunedWork(matmulProblem({ M, N, K, transA, transB }), (variant) => ({
        run: () => matmul(a, b, { transA, transB, variant }),
        dispose: () => undefined,
      }));
      return { ...work, dispose: () => [a, b].forEach((t) => t.dispose()) };
    },
  };
}

export const matmulFamily: Family = {
  name: 'matmul',
  rows: async (cfg) => problems(cfg).map((p) => row(p)),
};
