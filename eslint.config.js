// Lint rules that keep cowlab's layers apart (docs/architecture.md):
// the model imports nothing above it, kernel paths touch the packed state
// only through the model's accessors, and the pure core does no I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

/** Offsets into the packed state: only src/model/ may use them. */
const RAW_OFFSETS = '^((PG|T|V|F|S|P|PB|R|W|G)_[A-Z0-9_]+|(PAGE|VMA|SWAP|PIPEBUF|REF|WRITE)_WORDS)$';
const offsets = {
  group: ['**/model/layout.js'],
  importNamePattern: RAW_OFFSETS,
  message: 'raw state offsets belong to src/model/: use its accessors',
};
const noIo = { regex: '^(node:.*|fs|path|os|child_process|worker_threads)$', message: 'the core is pure: no I/O (docs/architecture.md)' };
const above = (dirs) => ({
  group: dirs.map((d) => `**/${d}/**`),
  message: 'a lower layer does not import a higher one (docs/architecture.md)',
});
const EDGES = ['cli', 'executor', 'diff', 'qemu', 'bench', 'fuzz', 'explore', 'matrix'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', 'executor/', 'examples/', 'eslint.config.js'] },
  { files: ['**/*.js', '**/*.mjs'], ...js.configs.recommended, languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['src/**/*.ts', 'test/**/*.ts', 'web/**/*.ts'] })),
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'web/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'no-restricted-imports': ['error', { patterns: [offsets] }],
    },
  },
  {
    files: ['src/model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [noIo, above(['kernel', 'ops', 'syscalls', 'profiles', 'properties', 'scenario', ...EDGES])] },
      ],
    },
  },
  {
    files: ['src/kernel/**/*.ts', 'src/properties/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [offsets, noIo, above(['ops', 'syscalls', 'scenario', ...EDGES])] }] },
  },
  {
    files: ['src/ops/**/*.ts', 'src/syscalls/**/*.ts', 'src/profiles/**/*.ts'],
    ignores: ['src/profiles/load.ts', 'src/profiles/hooks.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [offsets, noIo, above(EDGES)] }] },
  },
  {
    // the viewer's data and the scenario text loader run in the browser too
    files: ['src/view/**/*.ts', 'src/scenario/text.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [offsets, noIo] }] },
  },
  {
    files: ['web/**/*.ts'],
    ignores: ['web/vite.config.ts'],
    languageOptions: { globals: globals.browser },
    rules: { 'no-restricted-imports': ['error', { patterns: [offsets, noIo] }] },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      'no-restricted-imports': 'off',
    },
  },
  prettier,
);
