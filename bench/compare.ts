// `npm run bench:compare -- A.json B.json [--svg out.svg]`: per-row B/A ratios of two benchmark
// runs (schema in bench/schema.ts) with a noise-aware verdict, and an SVG chart (bars and
// roofline; default: the temporary directory). See bench/NOTES.md, "Comparing runs".
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRun } from './schema.js';
import { compareRuns, formatComparison } from './compare-runs.js';
import { comparisonSvg } from './compare-svg.js';

function main(argv: string[]): void {
  const files: string[] = [];
  let svg = join(tmpdir(), 'gradmix-bench-compare.svg');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--svg') {
      svg = argv[++i] ?? '';
      if (!svg) throw new Error('bench:compare: --svg needs a path');
    } else if (argv[i].startsWith('--')) throw new Error(`bench:compare: unknown option ${argv[i]}; usage: bench:compare -- A.json B.json [--svg out.svg]`);
    else files.push(argv[i]);
  }
  if (files.length !== 2) throw new Error(`bench:compare: needs two result files (A.json B.json), got ${files.length}`);
  const [a, b] = files.map((f) => {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new Error(`bench:compare: cannot read ${f}: ${(e as Error).message}`);
    }
    return parseRun(text, f);
  });
  const rows = compareRuns(a, b);
  console.log(formatComparison(a, b, rows));
  writeFileSync(svg, comparisonSvg(a, b, rows));
  console.log(`chart: ${svg}`);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 1;
}
