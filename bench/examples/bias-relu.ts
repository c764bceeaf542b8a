// An example of your own kernel as a benchmark family: a fused bias + ReLU over an NCHW
// activation (y = max(x + b[channel], 0), what follows a convolution without batch norm), at the
// shapes of ResNet18's first stage. One read of x and b, one write of y: memory-bound.
// Run it: `npm run bench -- quick bias-relu`; its check: test/bench-example.test.ts.
import { grid } from '../../runtime/gpu.js';
import { kernelFamily, type KernelCase } from '../kernel-family.js';
import { fmtShape } from '../family.js';

const WG = 64;

export const BIAS_RELU_WGSL = /* wgsl */ `
struct Params {
  n: u32,
  channels: u32,
  plane: u32,
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * p.groups_x * ${WG}u;
  if (i >= p.n) { return; }
  let c = (i / p.plane) % p.channels;
  y[i] = max(x[i] + bias[c], 0.0);
}
`;

/** One case: a [batch, channels, size, size] activation. */
export function biasReluCase(batch: number, channels: number, size: number): KernelCase {
  const shape = [batch, channels, size, size];
  const plane = size * size;
  const n = batch * channels * plane;
  const workgroups = grid(n, WG);
  return {
    name: `bias+relu B${batch} C${channels}`,
    shape: fmtShape(shape),
    inputs: (rng) => ({
      x: { shape, values: Float32Array.from({ length: n }, () => rng.normal()) },
      bias: { shape: [channels], values: Float32Array.from({ length: channels }, () => rng.uniform(-0.5, 0.5)) },
    }),
    outputs: { y: shape },
    params: { n, channels, plane, groups_x: workgroups[0] },
    workgroups,
    reference: ({ x, bias }) => ({ y: x.map((v, i) => Math.max(v + bias[Math.floor(i / plane) % channels], 0)) }),
    flops: 2 * n,
    bytes: 4 * (2 * n + channels),
    bound: 'memory',
  };
}

export default kernelFamily({
  family: 'bias-relu',
  kernel: 'bench_bias_relu',
  wgsl: BIAS_RELU_WGSL,
  cases: (cfg) => cfg.batches.flatMap((b) => cfg.widths.map((w) => biasReluCase(b, w, cfg.imageSize))),
});
