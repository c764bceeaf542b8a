// The lint and format settings keep doing their job: eslint.config.js, run on a small probe
// project, still reports a floating promise, a misused promise, an unused value and `any` leaking
// into typed code (and lets tests read JSON untyped); .prettierignore keeps generated and
// hand-laid files out of `npm run format` and the code in.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint, type Linter } from 'eslint';
import * as prettier from 'prettier';

const root = new URL('..', import.meta.url).pathname;
const test = suite('lint-config');

const PROBE = `
async function work(): Promise<number> {
  return 1;
}
export function floating(): void {
  work();
}
export function misused(items: number[]): void {
  items.forEach(async () => {
    await work();
  });
}
export function unused(_placeholder: number, used: number): number {
  const dropped = used * 2;
  return used;
}
export function leaks(text: string): number {
  const parsed = JSON.parse(text);
  return parsed;
}
`;

const TEST_PROBE = `
export function readResults(text: string): number {
  const results = JSON.parse(text);
  return results.auroc;
}
`;

test('eslint.config.js reports floating and misused promises, unused values and unsafe any', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradmix-lint-'));
  try {
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'test'));
    writeFileSync(join(dir, 'src', 'probe.ts'), PROBE);
    writeFileSync(join(dir, 'test', 'probe.test.ts'), TEST_PROBE);
    const tsconfig = { compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', lib: ['ES2022'], types: [] }, include: ['src/*.ts', 'test/*.ts'] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const config = ((await import(new URL('../eslint.config.js', import.meta.url).href)) as { default: Linter.Config[] }).default;
    // The repository's rules; only the type information comes from the probe's own tsconfig.
    const eslint = new ESLint({
      cwd: dir,
      overrideConfigFile: true,
      baseConfig: [...config, { languageOptions: { parserOptions: { project: ['./tsconfig.json'], tsconfigRootDir: dir } } }],
    });
    const [src, tests] = await eslint.lintFiles(['src/probe.ts', 'test/probe.test.ts']);
    const found = (r: ESLint.LintResult) => r.messages.map((m) => `${m.ruleId ?? m.message}:${m.line}`).sort();
    assert.equal(found(src), [
      '@typescript-eslint/no-floating-promises:6',
      '@typescript-eslint/no-misused-promises:9',
      '@typescript-eslint/no-unsafe-assignment:18',
      '@typescript-eslint/no-unsafe-return:19',
      '@typescript-eslint/no-unused-vars:14',
    ]);
    assert.equal(found(tests), [], 'tests read JSON untyped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('.prettierignore: generated, installed and hand-laid files stay out of npm run format; code is in', async () => {
  const ignored = async (file: string) => (await prettier.getFileInfo(join(root, file), { ignorePath: join(root, '.prettierignore') })).ignored;
  for (const file of ['runtime/kernel-sources.generated.ts', 'dist/src/index.js', 'node_modules/uvu/package.json', 'package-lock.json', 'README.md', 'demo/styles.css', 'demo/index.html']) {
    assert.ok(await ignored(file), `${file} is left alone`);
  }
  for (const file of ['src/tensor.ts', 'scripts/run-tests.mjs', 'eslint.config.js', 'package.json', 'test/lint-config.test.ts']) {
    assert.not.ok(await ignored(file), `${file} is formatted`);
  }
});

test.run();
