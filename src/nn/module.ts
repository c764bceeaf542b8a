// Module: named parameters, buffers and children, with PyTorch's dotted state-dict names
// (`layer2.0.shortcut.1.running_mean`), train/eval mode, and forward hooks by module name.
import { Tensor, formatShape } from '../tensor.js';

export type ForwardHook = (name: string, output: Tensor) => void;

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  private hooks: ForwardHook[] = [];
  /** Dotted path from the root module, set when the tree is built (for hooks and errors). */
  path = '';

  protected abstract forward(x: Tensor): Tensor;

  /** Runs forward and then any hooks registered on this module. */
  call(x: Tensor): Tensor {
    const out = this.forward(x);
    for (const h of this.hooks) h(this.path, out);
    return out;
  }

  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    t.name = name;
    this.params.set(name, t);
    return t;
  }

  protected buffer(name: string, t: Tensor): Tensor {
    t.name = name;
    this.buffers.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Sets the `path` of every module below this one (call on the root after construction). */
  protected assignPaths(prefix = ''): void {
    this.path = prefix;
    for (const [n, c] of this.children) c.assignPaths(prefix ? `${prefix}.${n}` : n);
  }

  *modules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, c] of this.children) yield* c.modules(prefix ? `${prefix}.${n}` : n);
  }

  /** The module at a dotted path such as `encoder.layer2.1`. */
  get(path: string): Module {
    for (const [p, m] of this.modules()) if (p === path) return m;
    const known = [...this.modules()]
      .map(([p]) => p)
      .filter((p) => p)
      .join(', ');
    throw new Error(`unknown layer '${path}'; this model has: ${known}`);
  }

  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [p, m] of this.modules()) for (const [n, t] of m.params) out.push([p ? `${p}.${n}` : n, t]);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [p, m] of this.modules()) for (const [n, t] of m.buffers) out.push([p ? `${p}.${n}` : n, t]);
    return out;
  }

  train(on = true): this {
    for (const [, m] of this.modules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers by their PyTorch names, in registration order. */
  stateDict(): Map<string, Tensor> {
    for (const [, m] of this.modules()) m.syncBuffers();
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /** Writes host-side state into this module's own buffers; runs for every module a state dict covers. */
  protected syncBuffers(): void {}

  /**
   * Copies tensors into this module's parameters and buffers (uploads are done by the caller's
   * `copy`). Every name must match and every shape must agree, else a clear error names them.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor>, copy: (dst: Tensor, src: Tensor) => void, options: { strict?: boolean } = {}): void {
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    if ((options.strict ?? true) && (missing.length || unexpected.length)) {
      throw new Error(
        'state dict does not match the model:' +
          (missing.length ? ` missing ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` (+${missing.length - 8} more)` : ''};` : '') +
          (unexpected.length ? ` unexpected ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ` (+${unexpected.length - 8} more)` : ''}` : ''),
      );
    }
    // Every shape is checked before anything is copied, so a mismatch leaves the model as it was.
    const pairs: [Tensor, Tensor][] = [];
    for (const [name, dst] of own) {
      const src = state.get(name);
      if (!src) continue;
      if (src.shape.join() !== dst.shape.join()) {
        throw new Error(`state dict tensor '${name}' has shape ${formatShape(src.shape)}, the model expects ${formatShape(dst.shape)}`);
      }
      pairs.push([dst, src]);
    }
    for (const [dst, src] of pairs) copy(dst, src);
  }

  /** Whether forward hooks watch this module (a fused caller then computes its output alone for them). */
  get hooked(): boolean {
    return this.hooks.length > 0;
  }

  /** Calls `hook(path, output)` after each named module's forward; returns a function that removes them. */
  addForwardHook(paths: readonly string[], hook: ForwardHook): () => void {
    const mods = paths.map((p) => this.get(p));
    for (const m of mods) m.hooks.push(hook);
    return () => {
      for (const m of mods) m.hooks = m.hooks.filter((h) => h !== hook);
    };
  }

  /** Frees every parameter (with its gradient) and buffer. Dispatches nothing, so it works on a lost device. */
  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.dispose();
  }
}
