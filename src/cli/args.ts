// Command-line flags: node:util parseArgs with typed conversion and clear errors.
import { parseArgs } from 'node:util';

export interface FlagSpec {
  type: 'string' | 'boolean';
  help: string;
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export class UsageError extends Error {}

export type FlagValues = Record<string, string | boolean | undefined>;

export function parseFlags(argv: string[], specs: FlagSpecs): FlagValues {
  return parseCommandLine(argv, specs, false).values;
}

/** Flags and, for commands that take them (e.g. predict's image files), positional arguments. */
export function parseCommandLine(argv: string[], specs: FlagSpecs, allowPositionals = true): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, s] of Object.entries(specs)) options[name] = { type: s.type, ...(s.short ? { short: s.short } : {}) };
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: parsed.values as FlagValues, positionals: parsed.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function numberFlag(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got '${v}'`);
  return n;
}

export function usage(command: string, summary: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([n, s]) => `  --${n}${s.type === 'string' ? ' <value>' : ''}`.padEnd(30) + s.help);
  return `usage: gradmix ${command} [flags]\n\n${summary}\n\nflags:\n${rows.join('\n')}\n  --help`.padEnd(0);
}
