// The bridge from tensors to runtime dispatches, shared by every op file.
import { gpu, grid, type Overrides } from '../../runtime/gpu.js';
import type { ParamValue } from '../../runtime/kernel-spec.js';
import { Tensor, formatShape, type Shape } from '../tensor.js';

export interface Launch {
  /** Tensors by the kernel's binding names (inputs and outputs alike). */
  tensors: Record<string, Tensor>;
  params?: Record<string, ParamValue>;
  workgroups: readonly [number, number?, number?];
  overrides?: Overrides;
}

export function launch(kernel: string, l: Launch): void {
  const bindings: Record<string, GPUBuffer> = {};
  for (const [name, t] of Object.entries(l.tensors)) bindings[name] = t.buffer;
  gpu().dispatch(kernel, { bindings, params: l.params, workgroups: l.workgroups, overrides: l.overrides });
}

export { grid };

/** Threads per workgroup of the 1-D elementwise-style kernels (their WG override). */
export const WG = 64;

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertShape(op: string, what: string, got: Shape, want: Shape): void {
  if (!sameShape(got, want)) throw new Error(`${op}: ${what} has shape ${formatShape(got)}, expected ${formatShape(want)}`);
}

/** Normalises a possibly negative axis; throws a clear error when out of range. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

/** Views a shape as [outer, len, inner] around `axis`. */
export function splitAt(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

export function requireFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`${op}: expected a float32 tensor, got ${t.dtype}`);
}
