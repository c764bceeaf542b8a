// Lint: the rules that catch real bugs (promises nobody awaits or catches, values computed and
// dropped, `any` leaking into typed code), with type information: TypeScript files from
// tsconfig.json (exactly as tsc sees them), the plain JavaScript and the demo page from
// tsconfig.eslint.json.
// `npm run lint`; CI runs it after the type-check.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/', 'node_modules/', 'runs/', 'runtime/kernel-sources.generated.ts', '.device-kit/', '.device-kit.staging/', '.device-cache/'],
  },
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.json', './tsconfig.eslint.json'], tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `_name` marks a value kept on purpose (a placeholder argument, a key dropped from a rest copy).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // Short-circuit and ternary statements (`ok ? pos++ : neg++`) are deliberate; a bare
      // comparison or property read is what this rule is for.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // A catch block passes on whatever was thrown; wrapping it would hide its stack.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Off, with the reason. These report style, not bugs, on this codebase:
      // - async functions without await implement an async interface (a bench family's rows(),
      //   a CLI command); making them sync would break the interface.
      '@typescript-eslint/require-await': 'off',
      // - arrays in messages print as `2,3` on purpose (shapes, ranges).
      '@typescript-eslint/restrict-template-expressions': 'off',
      // - module functions are destructured from dynamic imports (`const { f } = await import(...)`)
      //   and GPU methods are saved and restored by tests; none of them uses `this` unbound.
      '@typescript-eslint/unbound-method': 'off',
      // - errors rethrown from a catch already carry the cause's message next to the file or flag
      //   at fault; the chained `cause` adds nothing a user reads.
      'preserve-caught-error': 'off',
      // - its findings here are deliberate assertions as often as dead ones (a dynamic import's
      //   `as string` keeps tsc from resolving a .mjs module; `as never` bridges TF.js's two copies
      //   of its types), and an unneeded assertion is noise, not a bug.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // Plain JavaScript has no annotations, so every parameter and JSON value is `any`: the
    // no-unsafe-* rules would report the missing types, not bugs. The promise rules still run.
    files: ['**/*.mjs', '**/*.js'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Tests read the JSON the CLI writes (results.json, log lines, predictions) and check each
    // field with an assertion: the untyped access is the point, and a wrong field fails the test.
    // In the browser test, page.evaluate() bodies reach the page's `window.gradmix` as `any`.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The type program resolves this module to its .d.mts, so it is linted without type information.
    files: ['scripts/uvu-files.mjs', 'eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
