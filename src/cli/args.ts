// Command-line flags: node:util parseArgs, then every value checked against its flag's rule
// (flag-values.ts) at parse time, a did-you-mean for a mistyped flag, and old spellings of renamed
// flags still read (with a note) for one release.
import { parseArgs } from 'node:util';
import { didYouMean } from './did-you-mean.js';
import { FlagValueError, checkValue, type ValueRule } from './flag-values.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  help: string;
  short?: string;
  /** What a string value must be; checked before the command does anything. */
  value?: ValueRule;
  /** An old spelling: the flag it was renamed to. Read with a note, not listed in --help. */
  renamedTo?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export class UsageError extends Error {
  /** The command whose --help lists what was wrong, where not the one run (a subcommand: 'sweep plan'). */
  helpCommand?: string;
}

export type FlagValues = Record<string, string | boolean | undefined>;

export function parseFlags(argv: string[], specs: FlagSpecs): FlagValues {
  return parseCommandLine(argv, specs, false).values;
}

/** "Unknown option '--widht'" -> the same with "; did you mean --width?" when a flag is close. */
function unknownFlagMessage(message: string, specs: FlagSpecs): string {
  const m = /Unknown option '(-{1,2})([^'=]*)'/.exec(message);
  if (!m) return message;
  const known = [
    'help',
    ...Object.entries(specs)
      .filter(([, s]) => !s.renamedTo)
      .map(([n]) => n),
  ];
  return `unknown flag ${m[1]}${m[2]}${didYouMean(m[2], known, '--')}`;
}

/** Moves a renamed flag's value to its new name, with a note on stderr. */
function applyRenames(values: FlagValues, specs: FlagSpecs): void {
  for (const [old, spec] of Object.entries(specs)) {
    if (!spec.renamedTo || values[old] === undefined) continue;
    if (values[spec.renamedTo] !== undefined) throw new UsageError(`--${old} is the old name of --${spec.renamedTo}; give only --${spec.renamedTo}`);
    console.error(`note: --${old} is now --${spec.renamedTo}; the old name will go in the next release`);
    values[spec.renamedTo] = values[old];
    delete values[old];
  }
}

/**
 * `--batch -5` as `--batch=-5`: parseArgs takes a value that starts with a dash for a flag, and
 * calls it ambiguous; a negative number is a value, which then gets its flag's range message.
 */
function joinNegativeNumbers(argv: string[], specs: FlagSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    if (name && specs[name]?.type === 'string' && /^-\.?\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** Flags and, for commands that take them (e.g. predict's image files), positional arguments. */
export function parseCommandLine(argv: string[], specs: FlagSpecs, allowPositionals = true): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, s] of Object.entries(specs)) options[name] = { type: s.type, ...(s.short ? { short: s.short } : {}) };
  let parsed: { values: FlagValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: joinNegativeNumbers(argv, specs), options, allowPositionals, strict: true }) as typeof parsed;
  } catch (e) {
    throw new UsageError(unknownFlagMessage((e as Error).message, specs));
  }
  const values = { ...parsed.values };
  if (values.help) return { values, positionals: parsed.positionals };
  applyRenames(values, specs);
  for (const [name, raw] of Object.entries(values)) {
    const rule = specs[name]?.value;
    if (typeof raw === 'string' && rule) checkFlagValue(name, raw, rule);
  }
  return { values, positionals: parsed.positionals };
}

/** Checks one value (e.g. an item of a list the command splits itself) against a rule, as a usage error naming --flag. */
export function checkFlagValue(flag: string, raw: string, rule: ValueRule): void {
  try {
    checkValue(flag, raw, rule);
  } catch (e) {
    throw e instanceof FlagValueError ? new UsageError(e.message) : e;
  }
}

export function numberFlag(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got '${typeof v === 'string' ? v : JSON.stringify(v)}'`);
  return n;
}

/** A comma-separated flag as trimmed, non-empty items (undefined when not given). */
export function listFlag(values: Record<string, unknown>, name: string): string[] | undefined {
  const v = values[name];
  return typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

export function usage(command: string, summary: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs)
    .filter(([, s]) => !s.renamedTo)
    .map(([n, s]) => `  --${n}${s.type === 'string' ? ' <value>' : ''}`.padEnd(30) + s.help);
  return `usage: gradmix ${command} [flags]\n\n${summary}\n\nflags:\n${rows.join('\n')}\n  --help`;
}
