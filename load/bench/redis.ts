/**
 * Section (e) of `npm run bench`: the service on the Redis store.
 *
 *   - decisions with a warm profile cache (every profile in the replica's
 *     LRU cache: Redis is not touched),
 *   - decisions with a cold cache (PROFILE_CACHE_MAX=0: every decision reads
 *     its profile from Redis with one script call),
 *   - ingestion: single-touchpoint POSTs, each a Lua script that appends,
 *     de-duplicates, trims and publishes the change.
 *
 * It needs a Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379); its
 * keys go under a prefix of their own and are deleted afterwards. Without a
 * Redis the section says so and is skipped.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { serviceUrlFromLine, startChild, tempDirs, type ChildServer } from './children.js';
import { ingestLoad, loadTest, seedCustomers, warmProfileCache, type LoadRun } from './http.js';
import { generateProfiles } from './profiles.js';
import { bytes, duration, heading, rate, table, type Cell } from './report.js';
import type { GeneratedRules } from './rules.js';

export interface RedisBenchSettings {
  root: string;
  /** How the service is started (node's arguments): dist/main.js, or src/main.ts through tsx. */
  serviceArgs: string[];
  redisUrl: string;
  customers: number;
  touchpoints: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export interface RedisBenchResults {
  skipped?: string;
  redisVersion?: string;
  seedMs?: number;
  warm?: LoadRun;
  cold?: LoadRun;
  ingest?: LoadRun;
  /** used_memory growth per seeded customer, bytes. */
  redisBytesPerCustomer?: number;
}

export async function redisSection(
  settings: RedisBenchSettings,
  rules: GeneratedRules,
  now: number,
  progress: (message: string) => void,
  out: (line?: string) => void,
): Promise<RedisBenchResults> {
  const admin = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
  } catch (err) {
    const skipped = `no Redis at ${settings.redisUrl} (${(err as Error).message}); set BENCH_REDIS_URL`;
    out(heading('(e) The Redis store'));
    out(`Skipped: ${skipped}.`);
    return { skipped };
  }
  const prefix = `nbbench:${randomUUID()}:`;
  const dir = await mkdtemp(join(os.tmpdir(), 'nextbest-bench-redis-'));
  tempDirs.add(dir);
  const servers: ChildServer[] = [];
  const results: RedisBenchResults = {};
  try {
    results.redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
    const rulesDir = join(dir, 'rules');
    await mkdir(join(rulesDir, 'placements'), { recursive: true });
    for (const source of rules.sources) await writeFile(join(rulesDir, source.file), source.text);

    const customers = generateProfiles(settings.customers, { now, touchpoints: settings.touchpoints, idPrefix: 'redis-bench-' });
    const [first, second] = rules.webPlacements as [string, string];
    const paths = customers.map((c) => `/v1/decisions/${c.customerId}?placement=${first}&placement=${second}&channel=web`);
    const nextPath = () => paths[Math.floor(Math.random() * paths.length)] as string;

    const start = (name: string, cacheMax: number) =>
      startChild({
        name,
        args: settings.serviceArgs,
        cwd: settings.root,
        env: {
          ...process.env,
          STORE: 'redis',
          REDIS_URL: settings.redisUrl,
          REDIS_KEY_PREFIX: prefix,
          PORT: '0',
          HOST: '127.0.0.1',
          RULES_DIR: rulesDir,
          PROFILE_CACHE_MAX: String(cacheMax),
          RULES_POLL_INTERVAL_MS: '0',
        },
        urlFromLine: serviceUrlFromLine,
      });

    progress('(e) starting two services on Redis: cache on, cache off');
    const warm = await start('the service on Redis (cache on)', Math.max(50_000, settings.customers * 2));
    servers.push(warm);
    const cold = await start('the service on Redis (PROFILE_CACHE_MAX=0)', 0);
    servers.push(cold);

    const memoryBefore = usedMemory(await admin.info('memory'));
    progress(`(e) seeding ${customers.length} customers × ${settings.touchpoints} touchpoints into Redis`);
    const seedStart = performance.now();
    await seedCustomers(warm.url, customers);
    results.seedMs = performance.now() - seedStart;
    results.redisBytesPerCustomer = (usedMemory(await admin.info('memory')) - memoryBefore) / customers.length;
    await warmProfileCache(warm.url, customers.map((c) => c.customerId), first);

    progress(`(e) decisions, warm cache: ${settings.warmupSeconds} s warm-up, ${settings.seconds} s measured`);
    await loadTest({ url: warm.url, connections: settings.connections, durationSec: settings.warmupSeconds, nextPath });
    results.warm = await loadTest({ url: warm.url, connections: settings.connections, durationSec: settings.seconds, nextPath, serverPid: warm.process.pid });

    progress(`(e) decisions, no cache (every profile read from Redis): ${settings.warmupSeconds} s warm-up, ${settings.seconds} s measured`);
    await loadTest({ url: cold.url, connections: settings.connections, durationSec: settings.warmupSeconds, nextPath });
    results.cold = await loadTest({ url: cold.url, connections: settings.connections, durationSec: settings.seconds, nextPath, serverPid: cold.process.pid });

    progress(`(e) ingestion: one touchpoint per POST, ${settings.seconds} s measured`);
    const ingest = { url: warm.url, customerPrefix: 'redis-bench-', customers: customers.length, connections: settings.connections };
    await ingestLoad({ ...ingest, durationSec: settings.warmupSeconds });
    results.ingest = await ingestLoad({ ...ingest, durationSec: settings.seconds, serverPid: warm.process.pid });
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await deleteKeys(admin, prefix);
    await admin.quit().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  printRedis(settings, results, out);
  return results;
}

function printRedis(settings: RedisBenchSettings, results: RedisBenchResults, out: (line?: string) => void): void {
  out(heading('(e) The Redis store'));
  out(
    `The service (STORE=redis, Redis ${results.redisVersion ?? '?'} at ${settings.redisUrl}, on this same machine) with ${settings.customers.toLocaleString('en-US')} customers × ` +
      `${settings.touchpoints} touchpoints seeded through the API; ${settings.connections} connections, ${settings.seconds} s per run after ${settings.warmupSeconds} s of warm-up. ` +
      'Warm: every profile in the replica cache. Cold: PROFILE_CACHE_MAX=0, so each decision reads its profile from Redis (one Lua call returning ' +
      `${settings.touchpoints} touchpoints). Ingest: one touchpoint per POST, fresh ids, each an atomic append that also publishes the change.`,
  );
  out();
  const rows: Cell[][] = [];
  const row = (label: string, run: LoadRun | undefined) => {
    if (!run) return;
    rows.push([
      label,
      rate(run.requestsPerSec),
      duration(run.latency.p50),
      duration(run.latency.p99),
      duration(run.latency.max),
      duration(run.serverCpuPerResponse),
      run.responses.toLocaleString('en-US'),
      run.non2xx + run.errors + run.timeouts,
    ]);
  };
  row('GET decision, warm cache', results.warm);
  row('GET decision, no cache (Redis read)', results.cold);
  row('POST touchpoint', results.ingest);
  out(table(['Run', 'req/s', 'p50', 'p99', 'max', 'server CPU/response', 'responses', 'non-2xx/errors'], rows));
  if (results.seedMs !== undefined) {
    out();
    out(
      `Seeding (a PATCH and a ${settings.touchpoints}-touchpoint POST per customer, 16 in flight) took ${duration(results.seedMs)}: ` +
        `${rate((settings.customers * settings.touchpoints * 1000) / results.seedMs)} touchpoints/s. ` +
        `Redis used_memory grew by ${bytes(results.redisBytesPerCustomer ?? NaN)} per customer.`,
    );
  }
}

function usedMemory(info: string): number {
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function deleteKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}
