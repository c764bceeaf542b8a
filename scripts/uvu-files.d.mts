// Types of scripts/uvu-files.mjs, for the TypeScript that imports it (bench/device/kernel-suite.ts).
export interface UvuOutcome {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  /** What uvu printed, without ANSI colours. */
  output: string;
}

export function runUvuFiles(files: [name: string, url: string][], options?: { bail?: boolean }): Promise<UvuOutcome>;
