/**
 * The Redis client library, loaded the first time a Redis store makes a
 * client: a process that never talks to Redis (the service on SQLite, the
 * decision workers of `nextbest offers`) does not pay the 100 ms it takes
 * to load (docs/performance.md, 2026-12-06, session 11). ioredis is
 * CommonJS, so it can be required when needed and the stores stay
 * synchronous to create.
 */
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';

const require = createRequire(import.meta.url);
let loaded: typeof IORedis | undefined;

export function ioredis(): typeof IORedis {
  return (loaded ??= require('ioredis') as typeof IORedis);
}
