// Lint configuration for the whole workspace (flat config). Type-aware rules catch
// floating promises, which in a pipeline engine mean lost acknowledgements.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'packages/ui/dist/**', 'packages/ui/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test()/describe() return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
  {
    // The query language is shared with the browser: no Node built-ins in its sources.
    files: ['packages/logql/src/**/*.ts'],
    ignores: ['packages/logql/src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'os', 'crypto'] }] },
  },
  {
    // The web UI talks to the server over its public HTTP APIs only; of the workspace it shares the pure query language.
    files: ['packages/ui/src/**/*.ts', 'packages/ui/src/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@meshlog/server', '@meshlog/store', '@meshlog/core', '@meshlog/components', '@meshlog/agent', 'node:*'] }] },
  },
  {
    // The agent installs light: it must never reach the store (chDB) or the server.
    files: ['packages/agent/src/**/*.ts', 'packages/components/src/**/*.ts', 'packages/core/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@meshlog/store', '@meshlog/server', 'chdb'] }] },
  },
);
