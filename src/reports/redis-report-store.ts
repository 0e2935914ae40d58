/**
 * Report aggregates in Redis, shared by every replica. The keys of one
 * placement share its hash tag, so each script below touches one slot of a
 * Redis Cluster:
 *
 *   <prefix>r:{<placement>}:<day>:a   hash: JSON [rule, item, arm] → "served,impressions,clicks,conversions,dismisses,value"
 *   <prefix>r:{<placement>}:<day>:o   set: the outcomeKey of every outcome counted that day
 *
 * A row's counters are packed in one field so a 400-day report reads 400
 * small hashes, not six times as many fields. Both keys expire when their
 * day leaves retention. Each write is one Lua script per placement and day,
 * atomic on the server: an outcome is counted exactly when its key joins the
 * set, so a retried request never counts it twice.
 */
import type { Cluster, ClusterNode, Redis, RedisOptions } from 'ioredis';
import { ioredis } from '../profiles/ioredis.js';
import { StoreUnavailableError } from '../domain/errors.js';
import type { OptimizeGoal, RankingArm } from '../domain/report.js';
import {
  COUNTER_OF_KIND,
  DAY_MS,
  dayOf,
  dayStart,
  daysBetween,
  firstKeptDay,
  groupBy,
  outcomeKey,
  type GoalCounts,
  type ReportDayRow,
  type ReportOutcome,
  type ReportStore,
  type ReportStoreOptions,
  type ServedCount,
} from './report-store.js';

export interface RedisReportStoreOptions extends ReportStoreOptions {
  /** As the profile store's REDIS_URL: one URL, or with `cluster` the seed nodes, comma-separated. */
  url: string;
  cluster?: boolean;
  /** The profile store's key prefix: report keys go under `<prefix>r:`. */
  keyPrefix?: string;
}

/** The packed counters' slots, 1-based as Lua counts. */
const SLOT = { served: 1, impressions: 2, clicks: 3, conversions: 4, dismisses: 5, value: 6 } as const;

/**
 * KEYS[1] the day's hash, KEYS[2] its outcome set; ARGV[1] the expiry (epoch
 * ms), ARGV[2] 1 to count or -1 to take back, then per outcome: its key, its
 * row's field, its counter's slot and its value. Numbers are written with 17
 * significant digits, so a sum of values survives the round trip exactly.
 */
const COUNT_OUTCOMES = `
local sign = tonumber(ARGV[2])
local changed = 0
for i = 3, #ARGV, 4 do
  local fresh
  if sign > 0 then fresh = redis.call('SADD', KEYS[2], ARGV[i]) else fresh = redis.call('SREM', KEYS[2], ARGV[i]) end
  if fresh == 1 then
    local c = {0, 0, 0, 0, 0, 0}
    local packed = redis.call('HGET', KEYS[1], ARGV[i + 1])
    if packed then
      local n = 1
      for part in string.gmatch(packed, '[^,]+') do c[n] = tonumber(part); n = n + 1 end
    end
    local slot = tonumber(ARGV[i + 2])
    c[slot] = math.max(0, c[slot] + sign)
    c[6] = math.max(0, c[6] + sign * tonumber(ARGV[i + 3]))
    for n = 1, 6 do c[n] = string.format('%.17g', c[n]) end
    redis.call('HSET', KEYS[1], ARGV[i + 1], table.concat(c, ','))
    changed = changed + 1
  end
end
if changed > 0 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
  if sign > 0 then redis.call('PEXPIREAT', KEYS[2], ARGV[1]) end
end
return changed
`;

/** KEYS[1] the day's hash; ARGV[1] the expiry, then per row: its field and the count to add to served. */
const ADD_SERVED = `
for i = 2, #ARGV, 2 do
  local c = {0, 0, 0, 0, 0, 0}
  local packed = redis.call('HGET', KEYS[1], ARGV[i])
  if packed then
    local n = 1
    for part in string.gmatch(packed, '[^,]+') do c[n] = tonumber(part); n = n + 1 end
  end
  c[1] = c[1] + tonumber(ARGV[i + 1])
  for n = 1, 6 do c[n] = string.format('%.17g', c[n]) end
  redis.call('HSET', KEYS[1], ARGV[i], table.concat(c, ','))
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 0
`;

type ScriptCall = (...args: Array<string | number>) => Promise<unknown>;
type Client = Redis | Cluster;

export function createRedisReportStore(options: RedisReportStoreOptions): ReportStore {
  const prefix = `${options.keyPrefix ?? 'nextbest:'}r:`;
  const clock = options.now ?? Date.now;
  const client = connect(options);
  client.defineCommand('nbReportCount', { lua: COUNT_OUTCOMES, numberOfKeys: 2 });
  client.defineCommand('nbReportServed', { lua: ADD_SERVED, numberOfKeys: 1 });
  const commands = client as unknown as Record<'nbReportCount' | 'nbReportServed', ScriptCall>;
  // Without a listener, ioredis prints every failed attempt; the profile store reports the connection's state.
  client.on('error', () => undefined);
  let closed = false;

  const rowsKey = (placement: string, day: string): string => `${prefix}{${placement}}:${day}:a`;
  const countedKey = (placement: string, day: string): string => `${prefix}{${placement}}:${day}:o`;
  const field = (rule: string | null, item: string, arm: RankingArm | null | undefined): string => JSON.stringify([rule, item, arm ?? null]);
  /** When a day's keys go: the end of its last day under retention. */
  const expiry = (day: string): number => dayStart(day) + options.retentionDays * DAY_MS;
  const kept = (day: string): boolean => day >= firstKeptDay(clock(), options.retentionDays);

  async function run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError('the redis report store is closed');
    try {
      return await call();
    } catch (error) {
      throw new StoreUnavailableError(`the redis report store failed ${operation}: ${(error as Error).message}`, { cause: error });
    }
  }

  async function count(outcomes: readonly ReportOutcome[], sign: 1 | -1): Promise<void> {
    const groups = groupBy(outcomes, (o) => `${o.placement}\n${dayOf(o.at)}`);
    await run(sign === 1 ? 'to count outcomes' : 'to forget outcomes', () =>
      Promise.all(
        [...groups.values()].map((group) => {
          const first = group[0] as ReportOutcome;
          const day = dayOf(first.at);
          if (sign === 1 && !kept(day)) return Promise.resolve(0);
          const args: Array<string | number> = [rowsKey(first.placement, day), countedKey(first.placement, day), expiry(day), sign];
          for (const o of group) args.push(outcomeKey(o), field(o.rule, o.item, o.arm), SLOT[COUNTER_OF_KIND[o.kind]], o.value ?? 0);
          return commands.nbReportCount(...args);
        }),
      ),
    );
  }

  /** Each day's rows of a placement, read together (one slot, so one pipeline on a cluster too). */
  async function readDays(placement: string, days: readonly string[]): Promise<Array<[string, Record<string, string>]>> {
    if (days.length === 0) return [];
    const replies = await run('to read a report', () => {
      const pipeline = client.pipeline();
      for (const day of days) pipeline.hgetall(rowsKey(placement, day));
      return pipeline.exec();
    });
    return days.map((day, n) => {
      const [error, rows] = replies?.[n] ?? [new Error('no reply'), null];
      if (error) throw new StoreUnavailableError(`the redis report store failed to read a report: ${error.message}`, { cause: error });
      return [day, rows as Record<string, string>];
    });
  }

  return {
    kind: 'redis',
    async addServed(counts: readonly ServedCount[]) {
      const groups = groupBy(
        counts.filter((c) => kept(c.day)),
        (c) => `${c.placement}\n${c.day}`,
      );
      await run('to add served counts', () =>
        Promise.all(
          [...groups.values()].map((group) => {
            const first = group[0] as ServedCount;
            const args: Array<string | number> = [rowsKey(first.placement, first.day), expiry(first.day)];
            for (const c of group) args.push(field(c.rule, c.item, c.arm), c.count);
            return commands.nbReportServed(...args);
          }),
        ),
      );
    },
    recordOutcomes: (outcomes) => count(outcomes, 1),
    forgetOutcomes: (outcomes) => count(outcomes, -1),
    async query(placement, fromDay, toDay) {
      const rows: ReportDayRow[] = [];
      for (const [day, fields] of await readDays(placement, daysBetween(fromDay, toDay))) {
        for (const key in fields) {
          const [rule, item, arm] = JSON.parse(key) as [string | null, string, RankingArm | null];
          const [served, impressions, clicks, conversions, dismisses, value] = (fields[key] as string).split(',').map(Number) as number[];
          rows.push({ rule, item, arm, day, served: served ?? 0, impressions: impressions ?? 0, clicks: clicks ?? 0, conversions: conversions ?? 0, dismisses: dismisses ?? 0, value: value ?? 0 });
        }
      }
      return rows;
    },
    async goalStats(placement: string, goal: OptimizeGoal, sinceDay: string) {
      const slot = SLOT[goal === 'click' ? 'clicks' : 'conversions'] - 1;
      const stats = new Map<string, GoalCounts>();
      for (const [, fields] of await readDays(placement, daysBetween(sinceDay, dayOf(clock())))) {
        for (const key in fields) {
          const item = (JSON.parse(key) as [unknown, string])[1];
          const counters = (fields[key] as string).split(',');
          const s = stats.get(item) ?? { goals: 0, impressions: 0 };
          s.goals += Number(counters[slot] ?? 0);
          s.impressions += Number(counters[SLOT.impressions - 1] ?? 0);
          stats.set(item, s);
        }
      }
      return stats;
    },
    async sweepExpired() {
      // Every key carries its own expiry.
      return 0;
    },
    async ping() {
      await run('to answer a ping', () => client.ping());
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

function connect(options: RedisReportStoreOptions): Client {
  const common: RedisOptions = {
    protocol: 2,
    connectionName: 'nextbest-reports',
    connectTimeout: 2000,
    // As the profile store: fail fast while disconnected, never resend a write after a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
  };
  if (options.cluster) {
    const nodes: ClusterNode[] = options.url.split(',').map((seed) => seed.trim()).filter(Boolean);
    return new (ioredis().Cluster)(nodes, {
      redisOptions: common,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    });
  }
  return new (ioredis().Redis)(options.url, common);
}
