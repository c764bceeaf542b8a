// Adapter-aware kernel choice: the first time an op meets a shape class on an adapter, time each
// candidate (a kernel variant, a tile configuration) and keep the fastest; remember the choice per
// adapter, in memory and, in Node, on disk, so later processes skip the timing.
//
// Cache: $GRADMIX_AUTOTUNE_CACHE, else $XDG_CACHE_HOME/gradmix, else ~/.cache/gradmix, one file
// per adapter: autotune-<adapter>.json ({ "<op>|<shape class>": { choice, timings, ... } }).
// GRADMIX_AUTOTUNE=0 turns autotuning off (every op gets its first candidate, the default, and
// nothing is timed, read or written); GRADMIX_AUTOTUNE=refresh times again and overwrites.
// Browsers keep choices in memory only.
import { env, isNode, nodeModule, processId } from './platform.js';

export interface AutotuneRequest<C> {
  /** What is tuned, e.g. 'matmul'. */
  op: string;
  /** Problems expected to share a best candidate; see shapeClass(). */
  shapeClass: string;
  /** Candidates; the first is the default, used when autotuning is off. */
  candidates: readonly C[];
  /** A stable name per candidate (what the cache stores). */
  nameOf: (candidate: C) => string;
  /** Milliseconds one candidate takes on a representative problem (lower is better). */
  time: (candidate: C) => Promise<number>;
  /**
   * Timing rounds (default 2). Each round times every candidate still in the race, so a burst of
   * load on a shared machine hits all of them; each keeps its fastest time. After the first
   * round, candidates slower than `pruneFactor` (default 3) times the best so far are dropped.
   */
  rounds?: number;
  pruneFactor?: number;
  /**
   * How `time` measures (e.g. 'thread-cpu', 'wall'), stored with the choice; a stored choice
   * measured another way is timed again, since the two figures do not compare.
   */
  method?: string;
}

export interface CacheEntry {
  choice: string;
  /** Fastest milliseconds per candidate name over the rounds it was timed in. */
  timings: Record<string, number>;
  measuredAt: string;
  /** The request's `method`, when it named one. */
  method?: string;
}

export interface AutotuneResult<C> {
  choice: C;
  /** 'cache': a stored choice; 'measured': timed now; 'disabled': GRADMIX_AUTOTUNE=0. */
  source: 'cache' | 'measured' | 'disabled';
  entry?: CacheEntry;
}

export type AutotuneMode = 'on' | 'off' | 'refresh';

interface NodeFs {
  readFileSync(path: string, encoding: 'utf8'): string;
  writeFileSync(path: string, data: string): void;
  renameSync(from: string, to: string): void;
  mkdirSync(path: string, options: { recursive: boolean }): void;
}

/** GRADMIX_AUTOTUNE: '0' (or 'off', 'false') disables; 'refresh' re-times; anything else is on. */
export function autotuneMode(): AutotuneMode {
  const v = (env('GRADMIX_AUTOTUNE') ?? '').toLowerCase();
  if (v === '0' || v === 'off' || v === 'false') return 'off';
  if (v === 'refresh') return 'refresh';
  return 'on';
}

/**
 * A shape class from named sizes: numbers are rounded up to a power of two, so that e.g. M = 500
 * and M = 512 share a choice; booleans (transposes) go in as 0/1 and strings verbatim (kernel
 * sizes, strides: anything where every value needs its own choice).
 */
export function shapeClass(dims: Record<string, number | boolean | string>): string {
  const bucket = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));
  return Object.entries(dims)
    .map(([k, v]) => `${k}${typeof v === 'number' ? bucket(v) : typeof v === 'boolean' ? Number(v) : v}`)
    .join('.');
}

/** A file-name-safe key for an adapter description (e.g. 'mesa-software-llvmpipe-...'). */
export function adapterKey(description: string): string {
  const slug = description
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 80)
    .replace(/^-+|-+$/g, '');
  return slug || 'unknown-adapter';
}

/** The cache directory in Node (see the file header); null in browsers. */
export function autotuneCacheDir(): string | null {
  if (!isNode()) return null;
  const explicit = env('GRADMIX_AUTOTUNE_CACHE');
  if (explicit) return explicit;
  const base = env('XDG_CACHE_HOME') || (env('HOME') ? `${env('HOME')}/.cache` : null);
  return base ? `${base}/gradmix` : null;
}

/** What choose() relies on in a stored entry: a choice named, a finite time per candidate, a method if any. */
function isCacheEntry(value: unknown): value is CacheEntry {
  const e = value as Partial<CacheEntry> | null;
  if (!e || typeof e !== 'object' || typeof e.choice !== 'string' || (e.method !== undefined && typeof e.method !== 'string')) return false;
  const t = e.timings;
  return !!t && typeof t === 'object' && !Array.isArray(t) && Object.values(t).every((ms) => typeof ms === 'number' && Number.isFinite(ms));
}

function loadFs(): Promise<NodeFs | null> {
  return nodeModule<NodeFs>('node:fs');
}

/** Choices per adapter: in memory, backed by one JSON file per adapter in Node. */
export class Autotuner {
  readonly adapter: string;
  readonly file: string | null;
  private entries: Record<string, CacheEntry> | null = null;
  private fs: NodeFs | null = null;

  /**
   * @param adapterDescription the adapter's description (gpu().describe()); choices never cross adapters
   * @param cacheDir where the cache file lives; null keeps choices in memory only
   */
  constructor(adapterDescription: string, cacheDir: string | null = autotuneCacheDir()) {
    this.adapter = adapterKey(adapterDescription);
    this.file = cacheDir ? `${cacheDir}/autotune-${this.adapter}.json` : null;
  }

  private async load(): Promise<Record<string, CacheEntry>> {
    if (this.entries) return this.entries;
    this.fs = this.file ? await loadFs() : null;
    this.entries = this.readFile(true);
    return this.entries;
  }

  /** The file's well-formed entries; the others (a hand edit, a cut write) are left to be timed again. */
  private readFile(warn = false): Record<string, CacheEntry> {
    if (!this.fs || !this.file) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.fs.readFileSync(this.file, 'utf8'));
    } catch {
      return {}; // no cache yet, or an unreadable one: it is rebuilt
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const all = Object.entries(parsed);
    const kept = all.filter(([, entry]) => isCacheEntry(entry));
    if (warn && kept.length < all.length) {
      const bad = all.filter(([, entry]) => !isCacheEntry(entry)).map(([key]) => key);
      console.warn(`gradmix: the autotune cache ${this.file} has malformed entries (timed again): ${bad.join(', ')}`);
    }
    return Object.fromEntries(kept) as Record<string, CacheEntry>;
  }

  /** Merges into what is on disk now (another process may have tuned meanwhile); atomic rename. */
  private save(key: string, entry: CacheEntry): void {
    if (!this.fs || !this.file) return;
    const merged = { ...this.readFile(), [key]: entry };
    const dir = this.file.slice(0, this.file.lastIndexOf('/'));
    try {
      this.fs.mkdirSync(dir, { recursive: true });
      const tmp = `${this.file}.${processId() ?? 0}.tmp`;
      this.fs.writeFileSync(tmp, JSON.stringify(merged, null, 2) + '\n');
      this.fs.renameSync(tmp, this.file);
    } catch (e) {
      // A read-only home must not stop training; the choice still holds for this process.
      console.warn(`gradmix: could not write the autotune cache ${this.file}: ${(e as Error).message}`);
    }
  }

  /** The stored entry for an op and shape class, if any. */
  async lookup(op: string, shapeClassKey: string): Promise<CacheEntry | undefined> {
    return (await this.load())[`${op}|${shapeClassKey}`];
  }

  /** The best candidate for the request: stored, or timed now (see AutotuneRequest.rounds) and stored. */
  async choose<C>(req: AutotuneRequest<C>, mode: AutotuneMode = autotuneMode()): Promise<AutotuneResult<C>> {
    if (req.candidates.length === 0) throw new Error(`autotune ${req.op}: no candidates`);
    if (mode === 'off') return { choice: req.candidates[0], source: 'disabled' };
    const names = req.candidates.map(req.nameOf);
    if (new Set(names).size !== names.length) throw new Error(`autotune ${req.op}: candidate names repeat: ${names.join(', ')}`);
    const key = `${req.op}|${req.shapeClass}`;
    const entries = await this.load();
    const stored = entries[key];
    const storedIndex = stored ? names.indexOf(stored.choice) : -1;
    // A stored choice is tuned again when it is no longer a candidate (renamed variants), when a
    // candidate was added since (it never had its chance), or when it was measured another way.
    const current = stored !== undefined && storedIndex >= 0 && names.every((n) => n in stored.timings) && stored.method === req.method;
    if (mode === 'on' && current) return { choice: req.candidates[storedIndex], source: 'cache', entry: stored };
    const timings: Record<string, number> = {};
    const rounds = Math.max(1, req.rounds ?? 2);
    const prune = req.pruneFactor ?? 3;
    let racing = req.candidates.map((_, i) => i);
    for (let round = 0; round < rounds; round++) {
      for (const i of racing) {
        const ms = await req.time(req.candidates[i]);
        timings[names[i]] = Math.min(timings[names[i]] ?? Infinity, ms);
      }
      const best = Math.min(...racing.map((i) => timings[names[i]]));
      racing = racing.filter((i) => timings[names[i]] <= prune * best);
    }
    let bestIndex = 0;
    req.candidates.forEach((_, i) => {
      if (timings[names[i]] < timings[names[bestIndex]]) bestIndex = i;
    });
    const entry: CacheEntry = { choice: names[bestIndex], timings, measuredAt: new Date().toISOString(), ...(req.method ? { method: req.method } : {}) };
    entries[key] = entry;
    this.save(key, entry);
    return { choice: req.candidates[bestIndex], source: 'measured', entry };
  }
}
