// What a WGSL module declares, read with wgsl_reflect into plain data: each compute entry point's
// buffers, the uniform structs' layouts and the module's overrides. scripts/embed-kernels.mjs runs
// this at build time for kernels/*.wgsl and writes the result beside each source
// (kernel-sources.generated.ts), so the engine never parses WGSL at run time; only a kernel
// registered at run time (registerKernelSource) is reflected here, with wgsl_reflect loaded then.
// This file must not import wgsl_reflect: the caller passes its WgslReflect class in.
import type { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';

export type BindingKind = 'uniform' | 'storage' | 'read-only-storage';
export type UniformScalar = 'f32' | 'u32' | 'i32';

/**
 * A module's reflection, in a compact form (it ships in every bundle):
 *  - resources: each buffer variable some entry point uses, as `name:binding:kind` (group 0;
 *    kind u uniform, r read-only storage, s storage), space-separated: "p:0:u x:1:r out:2:s";
 *  - uniforms: per uniform variable, `size|field:offset:type ...` with the size rounded up to 16
 *    bytes and type f, u or i (f32, u32, i32) followed by the vector width if any: "32|n:0:u m:16:f4";
 *  - entries: each compute entry point, in source order, with the variables it uses ("p x out").
 */
export interface KernelModule {
  /** The source as compiled: includes resolved (for embedded kernels, also minified). */
  source: string;
  /** Pipeline-overridable constants the module declares. */
  overrides: string[];
  resources: string;
  uniforms: Record<string, string>;
  entries: Record<string, string>;
}

export const KIND_CODES: Record<string, BindingKind> = { u: 'uniform', r: 'read-only-storage', s: 'storage' };

export class KernelError extends Error {
  constructor(kernel: string, message: string) {
    super(`kernel '${kernel}': ${message}`);
    this.name = 'KernelError';
  }
}

function scalarOf(typeName: string, format: string | undefined, kernel: string, field: string): UniformScalar {
  const s = format ?? typeName;
  if (s === 'f32' || s === 'u32' || s === 'i32') return s;
  throw new KernelError(kernel, `uniform field '${field}' has type ${typeName}; only f32/u32/i32 scalars and vectors are supported`);
}

function componentsOf(typeName: string): number {
  const m = /^vec([234])/.exec(typeName);
  return m ? Number(m[1]) : 1;
}

/**
 * Reflects module `file` (its source fully resolved) with the given WgslReflect class. Throws a
 * KernelError naming `file.entry` for what the engine cannot bind: a used buffer outside group 0,
 * an entry point using more than one uniform, a uniform field that is not f32/u32/i32-based.
 */
export function reflectModule(file: string, source: string, Reflect: typeof WgslReflect): KernelModule {
  const reflect = new Reflect(source);
  const uniformsByName = new Map(reflect.uniforms.map((u) => [u.name, u]));
  const storageByName = new Map(reflect.storage.map((s) => [s.name, s]));
  const resources = new Map<string, string>();
  const module: KernelModule = { source, overrides: reflect.overrides.map((o) => o.name), resources: '', uniforms: {}, entries: {} };
  for (const entry of reflect.entry.compute) {
    const kernel = `${file}.${entry.name}`;
    const used: { name: string; binding: number }[] = [];
    let uniformSeen = false;
    for (const name of new Set(entry.resources.map((r) => r.name))) {
      const u = uniformsByName.get(name);
      const s = storageByName.get(name);
      const v = u ?? s;
      if (!v) continue; // not a buffer (e.g. a texture or sampler: kernels bind none)
      if (v.group !== 0) throw new KernelError(kernel, `binding '${name}' is in group ${v.group}; kernels use group 0 only`);
      if (u) {
        if (uniformSeen) throw new KernelError(kernel, 'more than one uniform binding; put all parameters in one struct');
        uniformSeen = true;
        resources.set(name, `${name}:${u.binding}:u`);
        module.uniforms[name] ??=
          `${Math.ceil(u.size / 16) * 16}|` +
          (u.members ?? [])
            .map((m) => {
              const format = (m.type as { format?: { name: string } | null }).format?.name;
              const scalar = scalarOf(m.type.name, format, kernel, m.name);
              const n = componentsOf(m.type.name);
              return `${m.name}:${m.offset}:${scalar[0]}${n > 1 ? n : ''}`;
            })
            .join(' ');
      } else if (s) {
        resources.set(name, `${name}:${s.binding}:${s.access === 'read' ? 'r' : 's'}`);
      }
      used.push({ name, binding: v.binding });
    }
    module.entries[entry.name] = used
      .sort((a, b) => a.binding - b.binding)
      .map((x) => x.name)
      .join(' ');
  }
  module.resources = [...resources.values()].join(' ');
  return module;
}
