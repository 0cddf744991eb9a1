import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql ships both index.mjs ("module") and index.js ("main"). Node, and so
    // every library we load, gets index.js; Vite would hand our own files the .mjs
    // copy, and GraphQLError from one copy is not an instanceof the other's.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Fails the test that leaves a node, feed, worker or client open (test/support/leaks.ts).
    setupFiles: ['test/support/leak-check.ts'],
    // Each test file gets its own database (see test/support/database.ts), so files run in parallel.
    pool: 'forks',
    // Most files spend their time waiting on other processes (PostgreSQL, servers, probes), so
    // more files run at once than there are cores (vitest's default is one fewer than the cores).
    // SWITCHBOARD_TEST_WORKERS overrides it: .ci/run runs two suites side by side at 2 each.
    maxWorkers: Number(process.env['SWITCHBOARD_TEST_WORKERS']) || Math.max(3, availableParallelism() * 2),
    // Every run leaves a JSON report: `npm run test:slowest` prints the slowest files from it.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
    testTimeout: 30_000,
    // What a page or a server shows after a change may take more than a second on two busy cores.
    expect: { poll: { timeout: 5_000 } },
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
