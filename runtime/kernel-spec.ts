// What a kernel expects: the buffers it binds (by name, with their access), the uniform struct's
// fields and offsets, and its overrides. For the embedded kernels this was read from the WGSL at
// build time (scripts/embed-kernels.mjs, runtime/kernel-reflect.ts); a kernel registered at run
// time is reflected when registered, with wgsl_reflect loaded only then (so a browser bundle that
// never registers one does not carry the parser). Dispatches are checked against this before
// anything reaches the GPU.
import { kernelModules } from './kernel-sources.generated.js';
import { KIND_CODES, KernelError, reflectModule, type BindingKind, type KernelModule, type UniformScalar } from './kernel-reflect.js';

export { KernelError, type BindingKind };

export interface BindingSpec {
  name: string;
  binding: number;
  kind: BindingKind;
}

export interface UniformField {
  name: string;
  offset: number;
  /** Scalar type of each component. */
  scalar: UniformScalar;
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
  /** Unique per spec made: a source registered again under the same name gets new pipelines. */
  uid: number;
  source: string;
  entryPoint: string;
  bindings: BindingSpec[];
  uniform: UniformSpec | null;
  overrides: Set<string>;
}

const specCache = new Map<string, KernelSpec>();
let specsMade = 0;
const extraModules = new Map<string, KernelModule>();
/** Registrations still being reflected, so that a kernel used before then gets a clear error. */
const pending = new Map<string, Promise<void>>();

/**
 * Adds (or replaces) a kernel source at run time, e.g. a user's own kernel or a benchmark variant.
 * Resolves once the source is reflected (await it before the first dispatch); rejects with a
 * KernelError for a source the engine cannot bind. `//! include` lines are not resolved here:
 * includes are a build-time feature of kernels/*.wgsl.
 */
export function registerKernelSource(name: string, source: string): Promise<void> {
  if (!/^[A-Za-z_][\w-]*$/.test(name)) {
    return Promise.reject(new KernelError(name, 'a kernel file name is letters, digits, _ and - (no dots: kernels are named file.entry)'));
  }
  const done = import('wgsl_reflect/wgsl_reflect.module.js').then(({ WgslReflect }) => {
    const module = reflectModule(name, source, WgslReflect);
    extraModules.set(name, module);
    for (const k of [...specCache.keys()]) if (k === name || k.startsWith(name + '.')) specCache.delete(k);
  });
  pending.set(name, done);
  const settle = () => {
    if (pending.get(name) === done) pending.delete(name);
  };
  done.then(settle, settle);
  return done;
}

/**
 * Adds kernels reflected at build time. The browser bundle leaves the families that only its
 * lazily loaded chunks launch out of the embedded modules; each such chunk adds its own with this
 * when it loads (scripts/embed-kernels.mjs kernelSubset), so a page fetches their text with the
 * code that dispatches them.
 */
export function addReflectedKernels(modules: Record<string, KernelModule>): void {
  for (const [name, m] of Object.entries(modules)) if (!(name in kernelModules)) kernelModules[name] = m;
}

export function kernelNames(): string[] {
  return [...new Set([...Object.keys(kernelModules), ...extraModules.keys()])].sort();
}

function moduleOf(file: string, kernel: string): KernelModule {
  const m = extraModules.get(file) ?? kernelModules[file];
  if (m) return m;
  if (pending.has(file)) throw new KernelError(kernel, `'${file}' is still being reflected: await registerKernelSource() before dispatching it`);
  throw new KernelError(kernel, `no such kernel file '${file}.wgsl'; known: ${kernelNames().join(', ')}`);
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
  const module = moduleOf(file, name);
  const entries = Object.keys(module.entries);
  let entry = entries[0];
  if (dot >= 0) {
    entry = name.slice(dot + 1);
    if (!(entry in module.entries)) throw new KernelError(name, `no entry point '${entry}' in ${file}.wgsl; it has: ${entries.join(', ')}`);
  } else if (entries.length !== 1) {
    throw new KernelError(name, `${file}.wgsl has ${entries.length} entry points (${entries.join(', ')}); name one as '${file}.<entry>'`);
  }
  const resources = new Map(
    module.resources.split(' ').map((r) => {
      const [v, binding, kind] = r.split(':');
      return [v, { name: v, binding: Number(binding), kind: KIND_CODES[kind] }] as const;
    }),
  );
  const bindings = module.entries[entry] === '' ? [] : module.entries[entry].split(' ').map((v): BindingSpec => resources.get(v)!);
  const u = bindings.find((b) => b.kind === 'uniform');
  let uniform: UniformSpec | null = null;
  if (u) {
    const [size, fields] = module.uniforms[u.name].split('|');
    uniform = {
      name: u.name,
      binding: u.binding,
      size: Number(size),
      fields: new Map(
        fields === ''
          ? []
          : fields.split(' ').map((f): [string, UniformField] => {
              const [name, offset, type] = f.split(':');
              return [name, { name, offset: Number(offset), scalar: `${type[0]}32` as UniformScalar, components: Number(type.slice(1) || 1) }];
            }),
      ),
    };
  }
  const spec: KernelSpec = { name, uid: specsMade++, source: module.source, entryPoint: entry, bindings, uniform, overrides: new Set(module.overrides) };
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
