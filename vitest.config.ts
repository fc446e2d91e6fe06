import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // the built JavaScript runs as plain Node modules: through vitest's module transform the model runs
    // about 4.5 times slower, so tests that run it at length import dist/ (test/global-setup.ts checks it is
    // not older than src/)
    server: { deps: { external: [/\/dist\//] } },
    globalSetup: ['test/global-setup.ts'],
  },
});
