// What a kernel expects, read from its WGSL with wgsl_reflect: the buffers it binds (by
// name, with their access), the uniform struct's fields and offsets, and its overrides.
// Dispatches are checked against this before anything reaches the GPU.
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { kernelSources } from './kernel-sources.generated.js';

export type BindingKind = 'uniform' | 'storage' | 'read-only-storage';

export interface BindingSpec {
  name: string;
  binding: number;
  kind: BindingKind;
}

export interface UniformField {
  name: string;
  offset: number;
  /** Scalar type of each component. */
  scalar: 'f32' | 'u32' | 'i32';
  /** 1 for scalars, 2..4 for vectors. */
  components: number;
}

export interface UniformSpec {
  /** The uniform variable's name in WGSL (one uniform struct per kernel). */
  name: string;
  binding: number;
  size: number;
  fields: Map<string, UniformField>;
}

export interface KernelSpec {
  name: string;
  source: string;
  entryPoint: string;
  bindings: BindingSpec[];
  uniform: UniformSpec | null;
  overrides: Set<string>;
}

export class KernelError extends Error {
  constructor(kernel: string, message: string) {
    super(`kernel '${kernel}': ${message}`);
    this.name = 'KernelError';
  }
}

const specCache = new Map<string, KernelSpec>();
const extraSources = new Map<string, string>();

/** Adds (or replaces) a kernel source at run time, e.g. a user's own kernel or a benchmark variant. */
export function registerKernelSource(name: string, source: string): void {
  extraSources.set(name, source);
  reflectCache.delete(name);
  for (const k of [...specCache.keys()]) if (k === name || k.startsWith(name + '.')) specCache.delete(k);
}

export function kernelNames(): string[] {
  return [...new Set([...Object.keys(kernelSources), ...extraSources.keys()])].sort();
}

function scalarOf(typeName: string, format: string | undefined, kernel: string, field: string): UniformField['scalar'] {
  const s = format ?? typeName;
  if (s === 'f32' || s === 'u32' || s === 'i32') return s;
  throw new KernelError(kernel, `uniform field '${field}' has type ${typeName}; only f32/u32/i32 scalars and vectors are supported`);
}

function componentsOf(typeName: string): number {
  const m = /^vec([234])/.exec(typeName);
  return m ? Number(m[1]) : 1;
}

const reflectCache = new Map<string, WgslReflect>();

function reflectFile(file: string, kernel: string): WgslReflect {
  let r = reflectCache.get(file);
  if (r) return r;
  const source = extraSources.get(file) ?? kernelSources[file];
  if (source === undefined) {
    throw new KernelError(kernel, `no such kernel file '${file}.wgsl'; known: ${kernelNames().join(', ')}`);
  }
  r = new WgslReflect(source);
  reflectCache.set(file, r);
  return r;
}

/**
 * The spec of kernel `file` (a .wgsl with one entry point) or `file.entry` (one entry point of a
 * file holding a kernel family). Bindings are those the entry point uses.
 */
export function kernelSpec(name: string): KernelSpec {
  const cached = specCache.get(name);
  if (cached) return cached;
  const dot = name.indexOf('.');
  const file = dot < 0 ? name : name.slice(0, dot);
  const reflect = reflectFile(file, name);
  const entries = reflect.entry.compute;
  let entry = entries[0];
  if (dot >= 0) {
    const wanted = name.slice(dot + 1);
    const found = entries.find((e) => e.name === wanted);
    if (!found) throw new KernelError(name, `no entry point '${wanted}' in ${file}.wgsl; it has: ${entries.map((e) => e.name).join(', ')}`);
    entry = found;
  } else if (entries.length !== 1) {
    throw new KernelError(name, `${file}.wgsl has ${entries.length} entry points (${entries.map((e) => e.name).join(', ')}); name one as '${file}.<entry>'`);
  }
  const used = new Set(entry.resources.map((r) => r.name));
  const bindings: BindingSpec[] = [];
  let uniform: UniformSpec | null = null;
  for (const u of reflect.uniforms) {
    if (!used.has(u.name)) continue;
    if (u.group !== 0) throw new KernelError(name, `binding '${u.name}' is in group ${u.group}; kernels use group 0 only`);
    if (uniform) throw new KernelError(name, 'more than one uniform binding; put all parameters in one struct');
    const fields = new Map<string, UniformField>();
    for (const m of u.members ?? []) {
      const typeName = m.type.name;
      const format = (m.type as { format?: { name: string } | null }).format?.name;
      fields.set(m.name, { name: m.name, offset: m.offset, scalar: scalarOf(typeName, format, name, m.name), components: componentsOf(typeName) });
    }
    uniform = { name: u.name, binding: u.binding, size: Math.ceil(u.size / 16) * 16, fields };
    bindings.push({ name: u.name, binding: u.binding, kind: 'uniform' });
  }
  for (const s of reflect.storage) {
    if (!used.has(s.name)) continue;
    if (s.group !== 0) throw new KernelError(name, `binding '${s.name}' is in group ${s.group}; kernels use group 0 only`);
    bindings.push({ name: s.name, binding: s.binding, kind: s.access === 'read' ? 'read-only-storage' : 'storage' });
  }
  bindings.sort((a, b) => a.binding - b.binding);
  const spec: KernelSpec = {
    name,
    source: extraSources.get(file) ?? kernelSources[file],
    entryPoint: entry.name,
    bindings,
    uniform,
    overrides: new Set(reflect.overrides.map((o) => o.name)),
  };
  specCache.set(name, spec);
  return spec;
}

export type ParamValue = number | readonly number[];

/** Packs uniform parameters by field name; every field must be given, and no others. */
export function packUniform(spec: KernelSpec, params: Record<string, ParamValue>, target: DataView, base: number): void {
  const u = spec.uniform;
  if (!u) {
    if (Object.keys(params).length > 0) throw new KernelError(spec.name, `takes no parameters, got: ${Object.keys(params).join(', ')}`);
    return;
  }
  for (const key of Object.keys(params)) {
    if (!u.fields.has(key)) {
      throw new KernelError(spec.name, `unknown parameter '${key}'; the uniform struct has: ${[...u.fields.keys()].join(', ')}`);
    }
  }
  for (const f of u.fields.values()) {
    const v = params[f.name];
    if (v === undefined) throw new KernelError(spec.name, `missing parameter '${f.name}'`);
    const values = typeof v === 'number' ? [v] : v;
    if (values.length !== f.components) {
      throw new KernelError(spec.name, `parameter '${f.name}' needs ${f.components} value(s), got ${values.length}`);
    }
    for (let i = 0; i < f.components; i++) {
      const at = base + f.offset + 4 * i;
      const x = values[i];
      if (f.scalar === 'f32') target.setFloat32(at, x, true);
      else {
        if (!Number.isInteger(x)) throw new KernelError(spec.name, `parameter '${f.name}' is ${f.scalar} but got ${x}`);
        if (f.scalar === 'u32') {
          if (x < 0 || x > 0xffffffff) throw new KernelError(spec.name, `parameter '${f.name}' = ${x} does not fit u32`);
          target.setUint32(at, x, true);
        } else target.setInt32(at, x, true);
      }
    }
  }
}
