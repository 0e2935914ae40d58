/**
 * Child process for section (d): runs load/memory.ts's measureCacheMemory and
 * prints its result as one JSON line. Started by cache-memory.ts as
 * `node --expose-gc --import tsx load/bench/memory-runner.ts`, so the reading
 * is of a process that holds the cache and nothing of the benchmark's.
 */
import { measureCacheMemory } from '../memory.js';
import { RESULT_PREFIX } from './cache-memory.js';

const result = await measureCacheMemory({
  profiles: Number(process.env.MEMORY_PROFILES ?? 100_000),
  touchpointsPerProfile: Number(process.env.MEMORY_TOUCHPOINTS ?? 60),
});
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
