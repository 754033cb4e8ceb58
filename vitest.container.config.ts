import { defineConfig } from 'vitest/config';

// `npm run test:container`: the tests that start ims-relay in a container (test/container/)
export default defineConfig({
  test: {
    include: ['test/container/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
