import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'sim/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time even on two cores: most process tests spend their time waiting for
    // block deadlines (report, review), not computing, so one file at a time left a core idle
    // (the suite took 15.6 min serially, 8.7 min this way).
    maxWorkers: 2,
  },
});
