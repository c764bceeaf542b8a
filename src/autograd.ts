// Reverse-mode autograd in the micrograd style: each op records a node holding its inputs and
// a closure that maps the output's gradient to its inputs' gradients; backward() walks the
// nodes in reverse topological order and accumulates into the leaves' .grad. The two things the
// walk computes itself (the seed of ones, the sum of two gradients of one shape) are launched
// straight on the kernels, so importing this module is all backward() needs (src/ops imports it).
import { Tensor, formatShape } from './tensor.js';
import { keep } from './scope.js';
import { fillInto, launchBinary } from './ops/elementwise-kernels.js';

export interface GraphNode {
  op: string;
  inputs: readonly Tensor[];
  /** Gradients for each input (null where an input needs none). Runs with grad recording off. */
  backward: (grad: Tensor) => readonly (Tensor | null)[];
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs fn without recording the graph (evaluation, optimiser updates, backward itself). fn must be
 * synchronous: recording is one global switch, so an async body would record again after its first
 * await (or, kept off until it settles, switch recording off for unrelated work meanwhile).
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      void r.catch(() => undefined); // the error below is what the caller sees
      throw new Error(
        'noGrad() takes a synchronous function, and this one returned a promise: work after its first await would be recorded. Call noGrad() around the synchronous steps inside it instead.',
      );
    }
    return r;
  } finally {
    gradEnabled = prev;
  }
}

/** Attaches a backward rule to an op's output when any input needs a gradient. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GraphNode['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** The error for a walk that reaches a tensor whose graph an earlier backward() freed. */
function checkNotFreed(order: readonly Tensor[], what: string): void {
  // A disposed intermediate has no node left: without this check the walk would stop there as at
  // a leaf, and every gradient behind it would silently be missing.
  const cut = order.find((t) => t.disposedInGraph);
  if (cut)
    throw new Error(
      `${what}: ${cut === order[order.length - 1] ? 'this tensor' : `part of this tensor's graph (${cut.toString()})`} was disposed before the backward pass; keep it until backward() or grad() has run`,
    );
  const freed = order.find((t) => t.graphFreed);
  if (!freed) return;
  const which = freed === order[order.length - 1] ? 'this tensor' : `part of this tensor's graph (${freed.toString()})`;
  throw new Error(
    `${what}: the graph of ${which} was already freed by an earlier backward(); ` +
      'to run backward through the same graph twice, pass { retainGraph: true } to the earlier call: backward(loss, undefined, { retainGraph: true })',
  );
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: ResNet graphs are deep enough to threaten the call stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i];
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

export interface BackwardOptions {
  /** Keep the graph so backward can run again through it. */
  retainGraph?: boolean;
}

/**
 * Accumulates d(root)/d(leaf) into every leaf's .grad. `grad` seeds the root's gradient and is
 * required unless root has a single element.
 */
export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error('backward(): the tensor does not require grad (no input of its graph has requiresGrad)');
  const order = topoOrder(root);
  checkNotFreed(order, 'backward()');
  // Every tensor held in `grads` is owned here (an alias where a rule passes a gradient through),
  // so each can be disposed as soon as it has been consumed.
  const grads = new Map<Tensor, Tensor>();
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    if (grad) {
      checkSeed('backward()', root, grad);
      grads.set(root, alias(grad));
    } else {
      if (root.size !== 1) throw new Error(`backward(): a gradient is needed for non-scalar output of shape ${formatShape(root.shape)}`);
      grads.set(root, onesLike(root));
    }
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        accumulate(t, g);
        continue;
      }
      if (t.retainGrad) accumulate(t, alias(g));
      passToInputs(t.node, g, runRule(t.node, g), grads, (input) => input.requiresGrad);
      if (!options.retainGraph) {
        t.node = null;
        t.graphFreed = true;
      }
    }
  } finally {
    gradEnabled = prev;
    for (const g of grads.values()) g.dispose();
  }
}

/**
 * Gradients of `root` with respect to `targets` (any tensors of its graph, e.g. intermediate
 * activations), as torch.autograd.grad: nothing is accumulated into leaves' .grad, and only the
 * part of the graph that leads to a target is walked. Backward rules see inputs off those paths
 * with requiresGrad false, so they skip work such as weight gradients. The graph is kept.
 */
export function grad(root: Tensor, targets: readonly Tensor[], seed?: Tensor): Tensor[] {
  if (!root.requiresGrad) throw new Error('grad(): the tensor does not require grad');
  const wanted = new Set(targets);
  const order = topoOrder(root);
  checkNotFreed(order, 'grad()');
  // order lists inputs before the tensors computed from them, so one pass settles reachability.
  const leadsToTarget = new Set<Tensor>();
  for (const t of order) {
    if (wanted.has(t) || t.node?.inputs.some((i) => leadsToTarget.has(i))) leadsToTarget.add(t);
  }
  for (const t of targets) if (!leadsToTarget.has(t)) throw new Error(`grad(): a target ${formatShape(t.shape)} is not part of the graph`);
  const grads = new Map<Tensor, Tensor>();
  const found = new Map<Tensor, Tensor>();
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    if (seed) checkSeed('grad()', root, seed);
    else if (root.size !== 1) throw new Error(`grad(): a seed gradient is needed for non-scalar output of shape ${formatShape(root.shape)}`);
    grads.set(root, seed ? alias(seed) : onesLike(root));
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (wanted.has(t)) found.set(t, alias(g));
      const node = t.node;
      if (!node || !node.inputs.some((i) => leadsToTarget.has(i))) {
        g.dispose();
        continue;
      }
      const saved = node.inputs.map((i) => i.requiresGrad);
      node.inputs.forEach((i) => (i.requiresGrad = leadsToTarget.has(i)));
      let inputGrads: readonly (Tensor | null)[];
      try {
        inputGrads = runRule(node, g);
      } finally {
        node.inputs.forEach((i, j) => (i.requiresGrad = saved[j]));
      }
      passToInputs(node, g, inputGrads, grads, (input) => leadsToTarget.has(input));
    }
  } catch (e) {
    for (const f of found.values()) f.dispose(); // the caller gets none of them
    throw e;
  } finally {
    gradEnabled = prev;
    for (const g of grads.values()) g.dispose();
  }
  return targets.map((t) => found.get(t)!);
}

/** A seed gradient must match its root: other shapes fail deep in a rule or pass silently, other dtypes are read as float bits. */
function checkSeed(what: string, root: Tensor, seed: Tensor): void {
  if (seed.shape.join() !== root.shape.join()) throw new Error(`${what}: gradient shape ${formatShape(seed.shape)} does not match ${formatShape(root.shape)}`);
  if (seed.dtype !== 'float32') throw new Error(`${what}: the gradient must be float32, got ${seed.dtype}`);
}

/** Adds g (owned, consumed) into t.grad, which outlives any scope: a leaf's, or a retained one (as PyTorch's, both accumulate). */
function accumulate(t: Tensor, g: Tensor): void {
  if (!t.grad) {
    t.grad = keep(g);
    return;
  }
  const sum = addSameShape(t.grad, g);
  t.grad.dispose();
  g.dispose();
  t.grad = keep(sum);
}

/**
 * Adds a node's input gradients into `grads` (as owned aliases) for the inputs `wanted` keeps, then
 * frees the node's output gradient and the rule's results (aliases keep what is still needed).
 */
function passToInputs(node: GraphNode, g: Tensor, inputGrads: readonly (Tensor | null)[], grads: Map<Tensor, Tensor>, wanted: (input: Tensor) => boolean): void {
  try {
    node.inputs.forEach((input, i) => {
      const gi = inputGrads[i];
      if (!gi || !wanted(input)) return;
      if (gi.shape.join() !== input.shape.join()) {
        throw new Error(`backward of '${node.op}': gradient ${formatShape(gi.shape)} for input ${i} of shape ${formatShape(input.shape)}`);
      }
      const mine = alias(gi);
      const have = grads.get(input);
      if (have) {
        grads.set(input, addSameShape(have, mine));
        have.dispose();
        mine.dispose();
      } else grads.set(input, mine);
    });
  } finally {
    g.dispose();
    for (const gi of inputGrads) gi?.dispose();
  }
}

/** The node's backward rule on `g`; a rule that throws frees `g` (no longer held anywhere else). */
function runRule(node: GraphNode, g: Tensor): readonly (Tensor | null)[] {
  try {
    return node.backward(g);
  } catch (e) {
    g.dispose();
    throw e;
  }
}

/** A second handle on the same storage, disposed independently. */
function alias(t: Tensor): Tensor {
  return new Tensor(t.shape, t.storage.retain(), t.dtype);
}

/** A new tensor of ones shaped like `t`: the seed gradient of a scalar root. */
function onesLike(t: Tensor): Tensor {
  const out = Tensor.empty(t.shape);
  fillInto(out, 1);
  return out;
}

/** a + b for two gradients of one shape (callers check the shapes first). */
function addSameShape(a: Tensor, b: Tensor): Tensor {
  const out = Tensor.empty(a.shape);
  launchBinary('add', a, b, out);
  return out;
}
