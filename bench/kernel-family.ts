// Your own kernel as a benchmark family, without touching the engine: a WGSL source (registered
// through registerKernelSource, the public way to add a kernel), and per row its inputs by binding
// name, its outputs' shapes, the uniform fields, the workgroup count, a float64 reference and the
// FLOPs/bytes for the rate and roofline columns. Before a row is timed its output is checked
// against the reference (relative L2 error), so a fast wrong kernel shows as an error, not a row.
// `npm run bench -- --family my-kernel.ts` loads a module whose default export is kernelFamily(...);
// bench/examples/ has one. See bench/NOTES.md, "Adding your own kernel".
import { gpu, type Overrides } from '../runtime/gpu.js';
import { registerKernelSource, type ParamValue } from '../runtime/kernel-spec.js';
import { Rng } from '../src/random.js';
import { tensor } from '../src/creation.js';
import { Tensor, formatShape, sizeOf } from '../src/tensor.js';
import type { BenchConfig, Family, Row } from './family.js';

export interface KernelCase {
  name: string;
  /** Shapes as printed in the table. */
  shape: string;
  /** Input buffers by their WGSL variable name: shape and values (seeded: the same every run). */
  inputs: (rng: Rng) => Record<string, { shape: number[]; values: Float32Array }>;
  /** Output buffers by their WGSL variable name, with their shapes (f32). */
  outputs: Record<string, number[]>;
  /** The uniform struct's fields by name (the struct is packed from the WGSL's layout). */
  params?: Record<string, ParamValue>;
  workgroups: readonly [number, number?, number?];
  overrides?: Overrides;
  /** The expected outputs, computed in float64 from the same inputs. */
  reference: (inputs: Record<string, Float64Array>) => Record<string, ArrayLike<number>>;
  flops?: number;
  bytes?: number;
  bound: 'compute' | 'memory';
  /** Largest relative L2 error accepted against the reference (default 1e-5). */
  tolerance?: number;
}

export interface KernelFamilySpec {
  /** The family's name (the first word a filter matches). */
  family: string;
  /** Kernel file name for registerKernelSource: letters, digits, _ and -. */
  kernel: string;
  wgsl: string;
  cases: (cfg: BenchConfig) => KernelCase[];
}

interface Prepared {
  inputs: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  host: Record<string, Float64Array>;
  run: () => void;
  dispose: () => void;
}

function prepare(spec: KernelFamilySpec, c: KernelCase, seed: number): Prepared {
  const made = c.inputs(new Rng(seed));
  const inputs: Record<string, Tensor> = {};
  const host: Record<string, Float64Array> = {};
  for (const [name, { shape, values }] of Object.entries(made)) {
    inputs[name] = tensor(values, shape);
    host[name] = Float64Array.from(values);
  }
  const outputs = Object.fromEntries(Object.entries(c.outputs).map(([name, shape]) => [name, Tensor.empty(shape, 'float32')]));
  const bindings = Object.fromEntries([...Object.entries(inputs), ...Object.entries(outputs)].map(([n, t]) => [n, t.buffer]));
  return {
    inputs,
    outputs,
    host,
    run: () => gpu().dispatch(spec.kernel, { bindings, params: c.params, workgroups: c.workgroups, overrides: c.overrides }),
    dispose: () => [...Object.values(inputs), ...Object.values(outputs)].forEach((t) => t.dispose()),
  };
}

function relativeL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** Runs the case once and compares every output with the reference; returns the worst error. */
async function checkPrepared(spec: KernelFamilySpec, c: KernelCase, p: Prepared): Promise<number> {
  p.run();
  const want = c.reference(p.host);
  const tol = c.tolerance ?? 1e-5;
  let worst = 0;
  for (const [name, t] of Object.entries(p.outputs)) {
    const expected = want[name];
    if (!expected) throw new Error(`${spec.family} ${c.name}: the reference returned no '${name}' (it returned: ${Object.keys(want).join(', ') || 'nothing'})`);
    if (expected.length !== sizeOf(t.shape))
      throw new Error(`${spec.family} ${c.name}: the reference's '${name}' has ${expected.length} values, the output ${formatShape(t.shape)} has ${sizeOf(t.shape)}`);
    const err = relativeL2(await t.data(), expected);
    if (!(err <= tol)) throw new Error(`${spec.family} ${c.name}: output '${name}' differs from the float64 reference (relative L2 error ${err.toExponential(2)} > ${tol})`);
    worst = Math.max(worst, err);
  }
  return worst;
}

const registered = new Map<string, Promise<void>>();

function register(spec: KernelFamilySpec): Promise<void> {
  const key = `${spec.kernel}\n${spec.wgsl}`;
  let done = registered.get(key);
  if (!done) registered.set(key, (done = registerKernelSource(spec.kernel, spec.wgsl)));
  return done;
}

/** Checks one case against its reference on the current GPU (for tests); returns the error. */
export async function checkKernelCase(spec: KernelFamilySpec, c: KernelCase, seed = 1): Promise<number> {
  await register(spec);
  const p = prepare(spec, c, seed);
  try {
    return await checkPrepared(spec, c, p);
  } finally {
    p.dispose();
  }
}

/** The family the runners time: each row is checked once, then its dispatch alone is timed. */
export function kernelFamily(spec: KernelFamilySpec): Family {
  return {
    name: spec.family,
    rows: async (cfg) => {
      await register(spec);
      return spec.cases(cfg).map((c): Row => ({
        family: spec.family,
        name: c.name,
        shape: c.shape,
        flops: c.flops,
        bytes: c.bytes,
        bound: c.bound,
        setup: async () => {
          const p = prepare(spec, c, 1);
          try {
            const err = await checkPrepared(spec, c, p);
            return { run: p.run, dispose: p.dispose, note: `checked against float64: rel. L2 ${err.toExponential(1)}` };
          } catch (e) {
            p.dispose();
            throw e;
          }
        },
      }));
    },
  };
}

/** A family module's default export, checked (for `--family <module>`). */
export function familyFrom(module: { default?: unknown }, source: string): Family {
  const f = module.default as Partial<Family> | undefined;
  if (!f || typeof f.name !== 'string' || typeof f.rows !== 'function') {
    throw new Error(`bench: ${source} has no default export of a benchmark family (export default kernelFamily({...}) from bench/kernel-family.ts)`);
  }
  return f as Family;
}
