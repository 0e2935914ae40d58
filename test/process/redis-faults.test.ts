/**
 * Issue 6 item 4: Redis stopped and restarted under load. The test runs its
 * own redis-server (AOF with appendfsync always, so whatever Redis
 * acknowledged is on disk), puts the real service on it under a steady load of
 * touchpoint writes and decisions, kills Redis with SIGKILL, and starts it
 * again on the same port and folder. Throughout:
 *   - decisions answer 200: a cached customer from its cached profile, a
 *     customer never seen as a new visitor marked `degraded: true`;
 *   - writes answer 503 problem+json with Retry-After while Redis is down;
 *   - /readyz answers 503 while Redis is down and 200 again after the client
 *     reconnects by itself; the process stays up;
 *   - every touchpoint acknowledged with 202 is in the profile afterwards.
 * Only behaviour is asserted; the timings are printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listening, start, type Child } from './spawn.js';
import { assertRedisBinaries } from '../redis-binaries.js';

const MAIN = 'src/main.ts';
// home-hero serves offer-gold to gold members; a new visitor gets the fallback hero-welcome.
const RULES = 'test/fixtures/http-rules';
const WRITERS = 3;
const CUSTOMERS_PER_WRITER = 3;
const DECIDERS = 2;
const BEFORE_MS = 1000;
const OUTAGE_MS = 1500;
const AFTER_MS = 1000;
const POLL_DEADLINE_MS = 10_000;

const tmp = mkdtempSync(join(tmpdir(), 'nextbest-redis-faults-'));
const redisProcesses: ChildProcess[] = [];
const services: Child[] = [];

afterAll(async () => {
  for (const child of services) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  for (const redis of redisProcesses) if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL');
  await Promise.all([...services.map((s) => s.exited), ...redisProcesses.map((r) => (r.exitCode === null && r.signalCode === null ? once(r, 'exit') : null))]);
  rmSync(tmp, { recursive: true, force: true });
}, 30_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts redis-server in the foreground and waits until it accepts connections (AOF loaded). */
async function startRedis(port: number): Promise<ChildProcess> {
  assertRedisBinaries();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', tmp, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  redisProcesses.push(redis);
  let out = '';
  redis.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  redis.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = performance.now() + POLL_DEADLINE_MS;
  while (!out.includes('Ready to accept connections')) {
    if (redis.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
    if (performance.now() > deadline) throw new Error(`redis-server did not start: ${out}`);
    await sleep(20);
  }
  return redis;
}

type Phase = 'before' | 'outage' | 'recovering' | 'after';

interface Outcome {
  kind: 'write' | 'cached' | 'visitor';
  /** The phase when the request was sent and when its answer came: only requests within one phase are held to that phase's rules. */
  sent: Phase;
  answered: Phase;
  status: number;
  degraded?: boolean;
  item?: string;
  retryAfter?: string | null;
  contentType?: string | null;
  problemType?: string;
}

interface Decision {
  degraded?: boolean;
  placements: Record<string, { items: Array<{ id: string }> }>;
}

async function decide(base: string, customerId: string): Promise<{ status: number; degraded: boolean; item: string }> {
  const res = await fetch(`${base}/v1/decisions/${customerId}?placement=home-hero`);
  if (res.status !== 200) return { status: res.status, degraded: false, item: (await res.text()).slice(0, 200) };
  const decision = (await res.json()) as Decision;
  return { status: 200, degraded: decision.degraded === true, item: decision.placements['home-hero']?.items[0]?.id ?? '' };
}

function postTouchpoint(base: string, customerId: string, id: string): Promise<Response> {
  return fetch(`${base}/v1/customers/${customerId}/touchpoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, type: 'page_view', channel: 'web', properties: { id } }),
  });
}

async function readyStatus(base: string): Promise<number> {
  return (await fetch(`${base}/readyz`)).status;
}

async function until(what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < POLL_DEADLINE_MS) {
    if (await check()) return performance.now() - started;
    await sleep(20);
  }
  throw new Error(`${what} did not happen within ${POLL_DEADLINE_MS} ms`);
}

async function cacheHits(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nextbest_profile_cache_hits_total '));
  return Number(line?.split(' ')[1]);
}

describe('Redis killed and restarted under load', () => {
  it('keeps deciding, answers writes 503, reconnects by itself, and loses nothing acknowledged', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const service = start(MAIN, [], {
      PORT: '0',
      HOST: '127.0.0.1',
      RULES_DIR: RULES,
      STORE: 'redis',
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_KEY_PREFIX: `nbtest:${randomUUID()}:`,
    });
    services.push(service);
    const base = await listening(service);
    await until('/readyz 200 at start', async () => (await readyStatus(base)) === 200);

    // A customer in the profile cache: decided twice, the second time a cache hit
    // (which also shows the change subscription is up: a suspended cache never hits).
    const cached = `cached-${randomUUID()}`;
    expect((await fetch(`${base}/v1/customers/${cached}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"attributes":{"tier":"gold"}}' })).status).toBe(200);
    await until('the cached customer is served from the cache', async () => {
      await decide(base, cached);
      const before = await cacheHits(base);
      const answer = await decide(base, cached);
      return answer.item === 'offer-gold' && (await cacheHits(base)) === before + 1;
    });

    let phase: Phase = 'before';
    let running = true;
    const outcomes: Outcome[] = [];
    const acknowledged = new Map<string, string[]>(); // customer -> touchpoint ids answered 202
    const attemptedCustomers = new Set<string>();
    const unexpected: string[] = [];

    const writer = async (w: number): Promise<void> => {
      for (let n = 0; running; n++) {
        const customerId = `load-${w}-${n % CUSTOMERS_PER_WRITER}`;
        const id = `tp-${w}-${n}`;
        attemptedCustomers.add(customerId);
        const sent = phase;
        try {
          const res = await postTouchpoint(base, customerId, id);
          const body = (await res.json()) as { accepted?: number; type?: string };
          if (res.status === 202) {
            if (body.accepted !== 1) unexpected.push(`${id}: 202 with ${JSON.stringify(body)}`);
            acknowledged.set(customerId, [...(acknowledged.get(customerId) ?? []), id]);
          }
          outcomes.push({
            kind: 'write',
            sent,
            answered: phase,
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            contentType: res.headers.get('content-type'),
            ...(body.type ? { problemType: body.type } : {}),
          });
        } catch (error) {
          unexpected.push(`${id}: ${(error as Error).message}`);
        }
        await sleep(10);
      }
    };
    const decider = async (d: number): Promise<void> => {
      for (let n = 0; running; n++) {
        const visitor = n % 2 === 1;
        const customerId = visitor ? `visitor-${d}-${n}-${randomUUID()}` : cached;
        const sent = phase;
        try {
          const answer = await decide(base, customerId);
          outcomes.push({ kind: visitor ? 'visitor' : 'cached', sent, answered: phase, ...answer });
        } catch (error) {
          unexpected.push(`decision ${customerId}: ${(error as Error).message}`);
        }
        await sleep(10);
      }
    };
    const load = Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), ...Array.from({ length: DECIDERS }, (_, d) => decider(d))]);

    await sleep(BEFORE_MS);

    // The harshest stop: no chance to flush anything beyond what appendfsync always already did.
    phase = 'outage';
    const killedAt = performance.now();
    redis.kill('SIGKILL');
    await once(redis, 'exit');
    const notReadyAfter = await until('/readyz 503 after the kill', async () => (await readyStatus(base)) === 503);

    // Explicit checks in the middle of the outage, beside the load.
    const outageCached = await decide(base, cached);
    expect(outageCached).toEqual({ status: 200, degraded: false, item: 'offer-gold' });
    const outageVisitor = await decide(base, `visitor-${randomUUID()}`);
    expect(outageVisitor).toEqual({ status: 200, degraded: true, item: 'hero-welcome' });
    const outageWrite = await postTouchpoint(base, 'outage-writer', 'outage-1');
    expect(outageWrite.status).toBe(503);
    expect(outageWrite.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(outageWrite.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await outageWrite.json()).toMatchObject({ status: 503, type: '/problems/store-unavailable' });
    const outagePatch = await fetch(`${base}/v1/customers/outage-writer`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"attributes":{"a":1}}' });
    expect(outagePatch.status).toBe(503);
    expect(outagePatch.headers.get('retry-after')).not.toBeNull();
    const outageDelete = await fetch(`${base}/v1/customers/outage-writer`, { method: 'DELETE' });
    expect(outageDelete.status).toBe(503);
    expect(outageDelete.headers.get('retry-after')).not.toBeNull();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    await sleep(Math.max(0, OUTAGE_MS - (performance.now() - killedAt)));
    expect(await readyStatus(base)).toBe(503);

    phase = 'recovering';
    const restartedAt = performance.now();
    redis = await startRedis(port);
    const redisUpAfter = performance.now() - restartedAt;
    const readyAfter = await until('/readyz 200 after the restart', async () => (await readyStatus(base)) === 200);
    phase = 'after';
    const writesAfter = await until('a write is acknowledged after the restart', async () => (await postTouchpoint(base, 'after-writer', `after-${randomUUID()}`)).status === 202);

    await sleep(AFTER_MS);
    running = false;
    await load;
    expect(service.process.exitCode).toBeNull();

    // Every acknowledged touchpoint survived the SIGKILL of Redis.
    const lost: string[] = [];
    let acknowledgedCount = 0;
    for (const customerId of attemptedCustomers) {
      const ids = acknowledged.get(customerId) ?? [];
      acknowledgedCount += ids.length;
      const res = await fetch(`${base}/v1/customers/${customerId}`);
      if (res.status === 404) {
        lost.push(...ids);
        continue;
      }
      expect(res.status).toBe(200);
      const profile = (await res.json()) as { touchpoints: Array<{ id?: string | null }> };
      const stored = new Set(profile.touchpoints.map((tp) => tp.id));
      lost.push(...ids.filter((id) => !stored.has(id)));
      // Re-delivering them is idempotent: all duplicates.
      if (ids.length > 0) {
        const again = await fetch(`${base}/v1/customers/${customerId}/touchpoints`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ touchpoints: ids.map((id) => ({ id, type: 'page_view', channel: 'web' })) }),
        });
        expect(again.status).toBe(202);
        expect(await again.json()).toEqual({ accepted: 0, duplicates: ids.length, expired: 0 });
      }
    }

    const count = (filter: (o: Outcome) => boolean) => outcomes.filter(filter).length;
    const within = (p: Phase) => (o: Outcome) => o.sent === p && o.answered === p;
    console.log(
      [
        `redis killed: /readyz 503 after ${Math.round(notReadyAfter)} ms`,
        `redis restarted: accepting after ${Math.round(redisUpAfter)} ms, /readyz 200 after ${Math.round(readyAfter)} ms, first write 202 ${Math.round(writesAfter)} ms later`,
        `outage lasted ${Math.round(restartedAt - killedAt)} ms`,
        `writes: ${count((o) => o.kind === 'write')} sent, ${acknowledgedCount} acknowledged, ${count((o) => o.kind === 'write' && o.status === 503)} answered 503; none lost: ${lost.length === 0}`,
        `decisions: ${count((o) => o.kind !== 'write')} (${count((o) => o.kind !== 'write' && o.degraded === true)} degraded)`,
        ...(['before', 'outage', 'recovering', 'after'] as const).map(
          (p) =>
            `  ${p}: writes 202/503 ${count((o) => within(p)(o) && o.kind === 'write' && o.status === 202)}/${count((o) => within(p)(o) && o.kind === 'write' && o.status === 503)}` +
            `, cached decisions (degraded) ${count((o) => within(p)(o) && o.kind === 'cached')} (${count((o) => within(p)(o) && o.kind === 'cached' && o.degraded === true)})` +
            `, visitor decisions (degraded) ${count((o) => within(p)(o) && o.kind === 'visitor')} (${count((o) => within(p)(o) && o.kind === 'visitor' && o.degraded === true)})`,
        ),
      ].join('\n'),
    );

    expect(unexpected).toEqual([]);
    expect(lost).toEqual([]);
    expect(acknowledgedCount).toBeGreaterThan(0);

    // Decisions always answer 200, in every phase and across the transitions.
    expect(outcomes.filter((o) => o.kind !== 'write' && o.status !== 200)).toEqual([]);
    // The cached customer is decided from its profile throughout, the reconnect included: right
    // after it, the cache keeps its old entries as a fallback until Redis answers a read.
    expect(outcomes.filter((o) => o.kind === 'cached' && (o.degraded === true || o.item !== 'offer-gold'))).toEqual([]);
    // Writes answer 202, or 503 problem+json with Retry-After; never another status.
    const writes = outcomes.filter((o) => o.kind === 'write');
    expect(writes.filter((o) => o.status !== 202 && o.status !== 503)).toEqual([]);
    for (const o of writes.filter((w) => w.status === 503)) {
      expect(o.contentType).toMatch(/^application\/problem\+json/);
      expect(Number(o.retryAfter)).toBeGreaterThan(0);
      expect(o.problemType).toBe('/problems/store-unavailable');
    }

    // Before the kill: everything works, and nobody is degraded.
    const before = outcomes.filter(within('before'));
    expect(before.filter((o) => o.kind === 'write' && o.status !== 202)).toEqual([]);
    expect(before.filter((o) => o.degraded === true)).toEqual([]);
    expect(before.filter((o) => o.kind === 'cached' && o.item !== 'offer-gold')).toEqual([]);

    // During the outage: no write acknowledged; new visitors degraded; the cached customer from its cached profile.
    const outage = outcomes.filter(within('outage'));
    expect(outage.filter((o) => o.kind === 'write').length).toBeGreaterThan(0);
    expect(outage.filter((o) => o.kind === 'write' && o.status !== 503)).toEqual([]);
    expect(outage.filter((o) => o.kind === 'visitor').length).toBeGreaterThan(0);
    expect(outage.filter((o) => o.kind === 'visitor' && !(o.degraded === true && o.item === 'hero-welcome'))).toEqual([]);
    expect(outage.filter((o) => o.kind === 'cached').length).toBeGreaterThan(0);
    expect(outage.filter((o) => o.kind === 'cached' && (o.degraded === true || o.item !== 'offer-gold'))).toEqual([]);

    // After /readyz said 200 again: writes acknowledged, decisions read the store again.
    const after = outcomes.filter(within('after'));
    expect(after.filter((o) => o.kind === 'write').length).toBeGreaterThan(0);
    expect(after.filter((o) => o.kind === 'write' && o.status !== 202)).toEqual([]);
    expect(after.filter((o) => o.degraded === true)).toEqual([]);
    expect(after.filter((o) => o.kind === 'cached' && o.item !== 'offer-gold')).toEqual([]);

    service.process.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    redis.kill('SIGTERM');
    await once(redis, 'exit');
  }, 45_000);
});
