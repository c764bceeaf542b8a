// What a flag's value must be (an integer in a range, one of a list, an existing file, ...),
// declared beside the flag and checked when the command line is parsed: before the GPU starts and
// before any data loads, with the flag's name in the message and a did-you-mean for near misses.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { didYouMean } from './did-you-mean.js';

export type ValueRule =
  | { kind: 'int'; min: number; max?: number }
  | { kind: 'number'; min?: number; max?: number; /** exclusive bounds */ above?: number; below?: number }
  | { kind: 'choice'; choices: readonly string[] }
  /** Comma-separated items, each one of `choices`, or (without choices) an integer in min..max. */
  | { kind: 'list'; choices?: readonly string[]; min?: number; max?: number; repeats?: readonly string[] }
  /** An existing file; `inFolder` names the file a folder given instead probably meant (checkpoint.safetensors). */
  | { kind: 'file'; inFolder?: string }
  | { kind: 'folder' }
  /** A folder to write into: made when missing, but not an existing file. */
  | { kind: 'output' }
  | { kind: 'text' };

export const int = (min: number, max?: number): ValueRule => ({ kind: 'int', min, max });
export const num = (bounds: { min?: number; max?: number; above?: number; below?: number }): ValueRule => ({ kind: 'number', ...bounds });
export const oneOf = (choices: readonly string[]): ValueRule => ({ kind: 'choice', choices });
/** `repeats`: items that may appear more than once (every other repeated item is refused). */
export const listOf = (choices: readonly string[], repeats: readonly string[] = []): ValueRule => ({ kind: 'list', choices, repeats });
export const intList = (min: number, max: number): ValueRule => ({ kind: 'list', min, max });
export const existingFile: ValueRule = { kind: 'file' };
export const checkpointFile: ValueRule = { kind: 'file', inFolder: 'checkpoint.safetensors' };
export const existingFolder: ValueRule = { kind: 'folder' };
export const outputFolder: ValueRule = { kind: 'output' };
/** Free text: a name, a list checked by the command itself. */
export const text: ValueRule = { kind: 'text' };

/** Thrown for a bad value; args.ts turns it into a UsageError. */
export class FlagValueError extends Error {}

function range(min: number | undefined, max: number | undefined, above?: number, below?: number): string {
  const lo = above !== undefined ? `> ${above}` : min !== undefined ? `>= ${min}` : '';
  const hi = below !== undefined ? `< ${below}` : max !== undefined ? `<= ${max}` : '';
  if (min !== undefined && max !== undefined && above === undefined && below === undefined) return `${min}..${max}`;
  return lo && hi ? `${lo} and ${hi}` : lo || hi;
}

/** What the rule accepts, for messages. */
export function describeRule(r: ValueRule): string {
  switch (r.kind) {
    case 'int':
      return `an integer ${range(r.min, r.max)}`.trimEnd();
    case 'number':
      return `a number ${range(r.min, r.max, r.above, r.below)}`.trimEnd();
    case 'choice':
      return `one of ${r.choices.join(', ')}`;
    case 'list':
      return r.choices ? `a comma-separated list of ${r.choices.join(', ')}` : `a comma-separated list of integers ${range(r.min, r.max)}`;
    case 'file':
      return 'an existing file';
    case 'folder':
      return 'an existing folder';
    case 'output':
      return 'a folder (made when missing)';
    case 'text':
      return 'text';
  }
}

/** Decimal numbers only: Number() also reads '0x10', '0b11' and '' (so a typo could pass as a value). */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function checkNumber(flag: string, raw: string, r: Extract<ValueRule, { kind: 'int' | 'number' }>): void {
  const n = Number(raw);
  const bad = () => new FlagValueError(`--${flag} must be ${describeRule(r)}, got '${raw}'`);
  if (!DECIMAL.test(raw) || !Number.isFinite(n)) throw bad();
  if (r.kind === 'int' && !Number.isInteger(n)) throw bad();
  if (r.min !== undefined && n < r.min) throw bad();
  if (r.max !== undefined && n > r.max) throw bad();
  if (r.kind === 'number' && r.above !== undefined && !(n > r.above)) throw bad();
  if (r.kind === 'number' && r.below !== undefined && !(n < r.below)) throw bad();
}

function checkChoice(flag: string, raw: string, choices: readonly string[], whole = raw): void {
  if (choices.includes(raw)) return;
  const quoted = whole === raw ? `'${raw}'` : `'${raw}' (in '${whole}')`;
  throw new FlagValueError(`--${flag}: unknown value ${quoted}, use one of ${choices.join(', ')}${didYouMean(raw, choices)}`);
}

function checkPath(flag: string, raw: string, want: 'file' | 'folder', inFolder?: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(raw).isFile();
  } catch {
    throw new FlagValueError(`--${flag} ${raw}: no such ${want}`);
  }
  if (want === 'file' && !isFile) {
    const meant = inFolder && existsSync(join(raw, inFolder)) ? `; did you mean ${join(raw, inFolder)}?` : '';
    throw new FlagValueError(`--${flag} ${raw}: is a folder, not a file${meant}`);
  }
  if (want === 'folder' && isFile) throw new FlagValueError(`--${flag} ${raw}: is a file, not a folder`);
}

/** Throws a FlagValueError naming --flag when `raw` breaks the rule. */
export function checkValue(flag: string, raw: string, r: ValueRule): void {
  switch (r.kind) {
    case 'int':
    case 'number':
      return checkNumber(flag, raw, r);
    case 'choice':
      return checkChoice(flag, raw, r.choices);
    case 'list': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (items.length === 0) throw new FlagValueError(`--${flag} is empty; expected ${describeRule(r)}`);
      const twice = items.find((item, i) => items.indexOf(item) !== i && !r.repeats?.includes(item));
      if (twice !== undefined) throw new FlagValueError(`--${flag} names ${twice} twice`);
      for (const item of items) {
        if (r.choices) checkChoice(flag, item, r.choices, raw);
        else checkNumber(flag, item, { kind: 'int', min: r.min ?? 0, max: r.max });
      }
      return;
    }
    case 'file':
      return checkPath(flag, raw, 'file', r.inFolder);
    case 'folder':
      return checkPath(flag, raw, 'folder');
    case 'output':
      if (existsSync(raw) && statSync(raw).isFile()) throw new FlagValueError(`--${flag} ${raw}: is a file, not a folder`);
      return;
    case 'text':
      return;
  }
}
