/**
 * Outcomes with Redis down: decisions still answer (degraded), and caps with
 * scope "all" keep the last counts the service read; outcome writes answer
 * 503. The test runs its own redis-server and kills it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listening, start, type Child } from './spawn.js';
import { assertRedisBinaries } from '../redis-binaries.js';

const MAIN = 'src/main.ts';
const tmp = mkdtempSync(join(tmpdir(), 'nextbest-redis-down-outcomes-'));
let redis: ChildProcess | null = null;
let service: Child | null = null;

afterAll(async () => {
  if (service && service.process.exitCode === null && service.process.signalCode === null) service.process.kill('SIGKILL');
  if (redis && redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

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

async function startRedis(port: number): Promise<ChildProcess> {
  assertRedisBinaries();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = performance.now() + 10_000;
  while (!out.includes('Ready to accept connections')) {
    if (child.exitCode !== null || performance.now() > deadline) throw new Error(`redis-server did not start: ${out}`);
    await sleep(20);
  }
  return child;
}

interface Decision {
  decisionId: string;
  degraded?: boolean;
  placements: Record<string, { items: Array<{ id: string }> }>;
}

async function decide(base: string, customerId: string): Promise<{ status: number; decision: Decision }> {
  const res = await fetch(`${base}/v1/decisions/${customerId}?placement=home-hero`);
  return { status: res.status, decision: (await res.json()) as Decision };
}

describe('outcomes with Redis down', () => {
  it('decisions answer with the last known counts (degraded), outcome writes answer 503', async () => {
    // The welcome hero (everyone's fallback) may be shown twice in all: a cap counting everyone.
    const rules = join(tmp, 'rules');
    cpSync('test/fixtures/minimal-rules', rules, { recursive: true });
    writeFileSync(
      join(rules, 'catalog.json'),
      JSON.stringify({
        items: [
          { id: 'hero-welcome', kind: 'content', title: 'Welcome', caps: [{ kind: 'impression', max: 2, scope: 'all' }] },
          { id: 'hero-cart', kind: 'content', title: 'Your cart is waiting', channels: ['web'] },
          { id: 'offer-10', kind: 'offer', code: 'TEN' },
        ],
      }),
    );
    const port = await freePort();
    redis = await startRedis(port);
    service = start(MAIN, [], { PORT: '0', HOST: '127.0.0.1', RULES_DIR: rules, STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: 'nbdown:' });
    const url = await listening(service);

    const served: Decision[] = [];
    for (const customerId of ['c-a', 'c-b']) {
      const { decision } = await decide(url, customerId);
      served.push(decision);
      expect(decision.placements['home-hero']?.items.map((i) => i.id)).toEqual(['hero-welcome']);
      const res = await fetch(`${url}/v1/outcomes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ decisionId: decision.decisionId, customerId, placement: 'home-hero', item: 'hero-welcome', kind: 'impression' }),
      });
      expect(res.status).toBe(202);
    }
    // Everyone's counts reach every decision within the refresh interval (5 s).
    const deadline = performance.now() + 20_000;
    let items: string[] = ['hero-welcome'];
    while (items.includes('hero-welcome') && performance.now() < deadline) {
      await sleep(200);
      items = (await decide(url, 'c-new')).decision.placements['home-hero']?.items.map((i) => i.id) ?? [];
    }
    expect(items).toEqual([]);

    const before = served[0] as Decision;
    redis.kill('SIGKILL');
    await once(redis, 'exit');

    // A customer never seen: decided blind (degraded), and the cap still holds from the last counts.
    const blind = await decide(url, 'c-never-seen');
    expect(blind.status).toBe(200);
    expect(blind.decision.degraded).toBe(true);
    expect(blind.decision.placements['home-hero']?.items).toEqual([]);

    const write = await fetch(`${url}/v1/outcomes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decisionId: before.decisionId, customerId: 'c-a', placement: 'home-hero', item: 'hero-welcome', kind: 'click' }),
    });
    expect(write.status).toBe(503);
    expect(write.headers.get('content-type')).toContain('application/problem+json');
    // Later refreshes fail and change nothing: still capped.
    await sleep(5500);
    expect((await decide(url, 'c-other')).decision.placements['home-hero']?.items).toEqual([]);

    service.process.kill('SIGTERM');
    await service.exited;
  }, 60_000);
});
