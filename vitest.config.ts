import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Finds or starts the Redis the redis store's tests use (test/global-redis.ts).
    globalSetup: ['test/global-redis.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
