import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', 'bench/results/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly', TextDecoder: 'readonly', Buffer: 'readonly', performance: 'readonly', fetch: 'readonly', Response: 'readonly', Intl: 'readonly', globalThis: 'readonly' },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      'no-control-regex': 'off', // control characters in regexes are deliberate: we strip them from untrusted text
    },
  },
  {
    // The core and the commands are platform-free: only the composition root wires adapters.
    files: ['src/**/*.ts', 'commands/**/*.ts'],
    ignores: ['src/main.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['discord.js', '@discordjs/*', '@slack/*'], message: 'Platform SDKs belong in adapters/.' },
            { group: ['**/adapters/**'], message: 'The core must not depend on an adapter; add a port in src/ instead.' },
          ],
        },
      ],
    },
  },
  {
    files: ['eslint.config.js', 'vitest.config.ts'], // tool configs must default-export
    rules: { 'no-restricted-syntax': 'off' },
  },
);
