/**
 * "Stored durably before the answer": the real service on SQLite is killed
 * with SIGKILL in the middle of a stream of touchpoints from several clients,
 * and every touchpoint it acknowledged with 202 must be there after a restart
 * on the same file. Unacknowledged ones may or may not be.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listening, start, type Child } from './spawn.js';

const MAIN = 'src/main.ts';
const FIXTURE = 'test/fixtures/minimal-rules';
const CLIENTS = 8;
const CUSTOMERS_PER_CLIENT = 20;
const KILL_AFTER_ACKS = 300;

const tmp = mkdtempSync(join(tmpdir(), 'nextbest-durability-'));
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Sent {
  customerId: string;
  id: string;
}

const customerOf = (client: number, n: number): string => `c-${client}-${n % CUSTOMERS_PER_CLIENT}`;

function postTouchpoint(url: string, sent: Sent): Promise<Response> {
  return fetch(`${url}/v1/customers/${sent.customerId}/touchpoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: sent.id, type: 'page_view', channel: 'web', properties: { n: sent.id } }),
  });
}

describe('durability under SIGKILL (SQLite)', () => {
  it('keeps every acknowledged touchpoint, and re-sending them yields only duplicates', async () => {
    const env = { PORT: '0', HOST: '127.0.0.1', RULES_DIR: FIXTURE, STORE: 'sqlite', SQLITE_PATH: join(tmp, 'profiles.db') };
    const first = start(MAIN, [], env);
    children.push(first);
    const url = await listening(first);

    const acknowledged: Sent[] = [];
    const attempted: Sent[] = [];
    let killed = false;
    let killedAt = -1;
    // Each client sends until its connection dies, as a real sender would: with group commit the
    // clients' answers arrive together, so clients that stopped once the kill was decided would
    // leave no request for it to interrupt.
    const client = async (index: number): Promise<void> => {
      for (let n = 0; ; n++) {
        const sent = { customerId: customerOf(index, n), id: `tp-${index}-${n}` };
        attempted.push(sent);
        try {
          const res = await postTouchpoint(url, sent);
          const body = (await res.json()) as { accepted?: number };
          // A 202 that arrived before the kill counts; the body proves the answer was complete.
          if (res.status === 202) {
            expect(body.accepted).toBe(1);
            acknowledged.push(sent);
          }
        } catch {
          // The connection died with the process: not acknowledged, so no promise was made.
          return;
        }
        if (acknowledged.length >= KILL_AFTER_ACKS && !killed) {
          killed = true;
          killedAt = acknowledged.length;
          first.process.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    await first.exited;
    expect(first.process.signalCode).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
    // Other clients were mid-request when the kill came: the stream was really interrupted.
    expect(attempted.length).toBeGreaterThan(acknowledged.length);

    const second = start(MAIN, [], env);
    children.push(second);
    const url2 = await listening(second);

    const storedIds = new Set<string>();
    const customers = new Set(attempted.map((s) => s.customerId));
    for (const customerId of customers) {
      const res = await fetch(`${url2}/v1/customers/${customerId}`);
      if (res.status === 404) continue;
      expect(res.status).toBe(200);
      const profile = (await res.json()) as { touchpoints: Array<{ id?: string }> };
      for (const tp of profile.touchpoints) if (tp.id !== undefined) storedIds.add(tp.id);
    }
    const lost = acknowledged.filter((s) => !storedIds.has(s.id)).map((s) => s.id);
    expect(lost).toEqual([]);

    // Idempotent re-delivery after the crash: acknowledged ids are duplicates, the rest are new or duplicates.
    const acknowledgedIds = new Set(acknowledged.map((s) => s.id));
    const answers = await Promise.all(
      attempted.map(async (sent) => ({ sent, body: (await (await postTouchpoint(url2, sent)).json()) as { accepted: number; duplicates: number } })),
    );
    for (const { sent, body } of answers) {
      if (acknowledgedIds.has(sent.id)) expect(body, sent.id).toEqual({ accepted: 0, duplicates: 1, expired: 0 });
      else expect(body.accepted + body.duplicates, sent.id).toBe(1);
    }

    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});
