/**
 * The offers command and its decision workers load what they use: loading
 * the whole service with them (its HTTP app, prom-client, the Redis client)
 * took 0.6 s of a run's start (docs/performance.md, 2026-12-06, session
 * 11). The Redis client is loaded when a Redis store is made, prom-client
 * only by the service. A child process imports what each thread imports and
 * lists the CommonJS packages loaded (both are; require's cache holds them).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** The node_modules packages loaded after importing `modules` (and, with `redis`, making a Redis store), in a fresh process. */
async function packagesLoaded(modules: string[], redis = false): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    for (const m of ${JSON.stringify(modules)}) await import(new URL(m, ${JSON.stringify(new URL('../../', import.meta.url).href)}).href);
    if (${redis}) {
      const { createProfileStore } = await import(new URL('src/composition.ts', ${JSON.stringify(new URL('../../', import.meta.url).href)}).href);
      const store = createProfileStore({ store: 'redis', redisUrl: 'redis://127.0.0.1:1', sqlitePath: '', retentionDays: 1, maxTouchpointsPerProfile: 1, cacheMax: 0 });
      await store.close();
    }
    const names = new Set();
    for (const path of Object.keys(createRequire(import.meta.url).cache)) {
      const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(path);
      if (m) names.add(m[1]);
    }
    console.log(JSON.stringify([...names].sort()));
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../../', import.meta.url) });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as string[];
}

describe('modules the offers command loads', () => {
  it('a decision worker loads neither prom-client nor the Redis client for a SQLite store', async () => {
    const loaded = await packagesLoaded(['src/cli/offers-local.ts', 'src/http/decision-stream.ts', 'src/cli/offers-output.ts']);
    expect(loaded).toContain('better-sqlite3');
    expect(loaded).not.toContain('ioredis');
    expect(loaded).not.toContain('prom-client');
  });

  it('the command itself loads neither', async () => {
    const loaded = await packagesLoaded(['src/cli/offers.ts']);
    expect(loaded).not.toContain('ioredis');
    expect(loaded).not.toContain('prom-client');
  });

  it('the Redis client is loaded when a Redis store is made', async () => {
    expect(await packagesLoaded(['src/composition.ts'], true)).toContain('ioredis');
  });
});
