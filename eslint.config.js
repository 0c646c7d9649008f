// typescript-eslint with type information, kept to the rules that catch real bugs in a
// long-running async process: a promise nobody awaits (an unhandled rejection ends the
// pilot), a switch over a union that forgot a member, and misused promises in callbacks.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/.build/**', '.tmp/**', 'test/lint-fixtures/**', '**/*.mjs', '**/*.js'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/await-thenable': 'error',
      // Tests and wire codecs handle untyped JSON on purpose; tsc's strict mode covers the rest.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-control-regex': 'off',
      // The code uses `(a, b)` sequences in guards on purpose; tsc and review catch stray expressions.
      '@typescript-eslint/no-unused-expressions': 'off',
      // Flags `let x = null` before a try that assigns it: noise, not a bug.
      'no-useless-assignment': 'off',
    },
  },
);
