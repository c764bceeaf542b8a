// What a WGSL module declares, read with wgsl_reflect into plain data: each compute entry point's
// buffers, the uniform structs' layouts and the module's overrides. scripts/embed-kernels.mjs runs
// this at build time for kernels/*.wgsl and writes the result beside each source
// (kernel-sources.generated.ts), so the engine never parses WGSL at run time; only a kernel
// registered at run time (registerKernelSource) is reflected here, with wgsl_reflect loaded then.
// This file must not import wgsl_reflect: the caller passes its WgslReflect class in.
import type { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';

export type BindingKind = 'uniform' | 'storage' | 'read-only-storage';
export type UniformScalar = 'f32' | 'u32' | 'i32';

/** One uniform field: [name, byte offset, scalar type, components (1 for scalars, 2..4 for vectors)]. */
export type UniformFieldData = [name: string, offset: number, scalar: UniformScalar, components: number];

export interface KernelModule {
  /** The source as compiled: includes resolved (and, for embedded kernels, comments stripped). */
  source: string;
  /** Pipeline-overridable constants the module declares. */
  overrides: string[];
  /** Every buffer variable some entry point uses: [binding (group 0), kind]. */
  resources: Record<string, [binding: number, kind: BindingKind]>;
  /** Layout of each uniform variable some entry point uses: size rounded up to 16 bytes, fields. */
  uniforms: Record<string, { size: number; fields: UniformFieldData[] }>;
  /** Each compute entry point, in source order, with the buffer variables it uses. */
  entries: Record<string, string[]>;
}

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
  const module: KernelModule = { source, overrides: reflect.overrides.map((o) => o.name), resources: {}, uniforms: {}, entries: {} };
  for (const entry of reflect.entry.compute) {
    const kernel = `${file}.${entry.name}`;
    const used: string[] = [];
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
        module.resources[name] = [u.binding, 'uniform'];
        module.uniforms[name] ??= {
          size: Math.ceil(u.size / 16) * 16,
          fields: (u.members ?? []).map((m): UniformFieldData => {
            const format = (m.type as { format?: { name: string } | null }).format?.name;
            return [m.name, m.offset, scalarOf(m.type.name, format, kernel, m.name), componentsOf(m.type.name)];
          }),
        };
      } else if (s) {
        module.resources[name] = [s.binding, s.access === 'read' ? 'read-only-storage' : 'storage'];
      }
      used.push(name);
    }
    module.entries[entry.name] = used.sort((a, b) => module.resources[a][0] - module.resources[b][0]);
  }
  return module;
}
