// Tensors from host data.
import { gpu } from '../runtime/gpu.js';
import { Rng } from './random.js';
import { Tensor, formatShape, sizeOf, type DType, type Shape } from './tensor.js';

export interface TensorOptions {
  requiresGrad?: boolean;
  dtype?: DType;
  name?: string;
}

/** Uploads host values into a new tensor of the given shape. */
export function tensor(values: ArrayLike<number>, shape: Shape, options: TensorOptions = {}): Tensor {
  const dtype = options.dtype ?? 'float32';
  if (values.length !== sizeOf(shape)) {
    throw new Error(`tensor: ${values.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`);
  }
  const t = Tensor.empty(shape, dtype);
  const data = dtype === 'int32' ? Int32Array.from(values) : values instanceof Float32Array ? values : Float32Array.from(values);
  try {
    if (data.length > 0) gpu().write(t.buffer, data);
  } catch (e) {
    t.dispose(); // e.g. a failed earlier kernel reported here: no scope may be open to free t
    throw e;
  }
  t.requiresGrad = options.requiresGrad ?? false;
  if (options.name) t.name = options.name;
  return t;
}

/** Normal(0, std) values from a seeded generator. */
export function randn(shape: Shape, rng: Rng, std = 1, options: TensorOptions = {}): Tensor {
  const v = new Float32Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
  return tensor(v, shape, options);
}

/** Uniform [lo, hi) values from a seeded generator. */
export function rand(shape: Shape, rng: Rng, lo = 0, hi = 1, options: TensorOptions = {}): Tensor {
  const v = new Float32Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform(lo, hi);
  return tensor(v, shape, options);
}
