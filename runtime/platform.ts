// What the engine asks of its host, in one place: environment variables, whether it runs in Node,
// and Node-only modules loaded on demand. Browser-safe: nothing here imports Node at the top
// level, and Node's globals are read through globalThis (a page has no `process`), so the same
// code bundles for pages, where env() is always undefined and nodeModule() null.

interface NodeProcess {
  env: Record<string, string | undefined>;
  versions: { node?: string };
  platform?: string;
  pid?: number;
  stderr?: { isTTY?: boolean };
}

function nodeProcess(): NodeProcess | undefined {
  const proc = (globalThis as { process?: Partial<NodeProcess> }).process;
  return typeof proc?.versions?.node === 'string' ? (proc as NodeProcess) : undefined;
}

/** An environment variable in Node; undefined in a browser (or when unset). */
export function env(name: string): string | undefined {
  return nodeProcess()?.env[name];
}

/** True when running in Node (Deno and Bun in Node mode count; a page does not). */
export function isNode(): boolean {
  return nodeProcess() !== undefined;
}

/** Node's platform name ('linux', 'darwin', ...); undefined in a browser. */
export function nodePlatform(): string | undefined {
  return nodeProcess()?.platform;
}

/** Whether Node's stderr is a terminal (progress bars redraw in place there); false in a browser. */
export function stderrIsTerminal(): boolean {
  return nodeProcess()?.stderr?.isTTY === true;
}

/** Node's process id; undefined in a browser. */
export function processId(): number | undefined {
  return nodeProcess()?.pid;
}

/**
 * A Node-only module (a built-in such as 'node:fs', or a package such as 'webgpu') in Node; null
 * in a browser. The specifier is a variable, so browser bundlers do not try to resolve it. A module
 * that fails to load in Node throws (the caller names what is missing).
 */
export async function nodeModule<T>(specifier: string): Promise<T | null> {
  if (!isNode()) return null;
  return (await import(/* @vite-ignore */ specifier)) as T;
}
