/**
 * Outcomes are "stored durably before the answer", and decision ids outlive
 * the process: the real service on SQLite is killed with SIGKILL in the
 * middle of a stream of outcomes from several clients; after a restart on the
 * same file (no DECISION_ID_KEYS: the key is shared through the store), every
 * acknowledged outcome is there, and re-sending everything is accepted (the
 * ids issued before the crash still verify) with the acknowledged ones as
 * duplicates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listening, start, type Child } from './spawn.js';

const MAIN = 'src/main.ts';
const FIXTURE = 'test/fixtures/minimal-rules';
const CLIENTS = 8;
const CUSTOMERS_PER_CLIENT = 10;
const KILL_AFTER_ACKS = 150;

const tmp = mkdtempSync(join(tmpdir(), 'nextbest-outcome-durability-'));
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Sent {
  customerId: string;
  decisionId: string;
  item: string;
}

const outcomeOf = (sent: Sent) => ({ decisionId: sent.decisionId, customerId: sent.customerId, placement: 'home-hero', item: sent.item, kind: 'impression' });

function postOutcome(url: string, sent: Sent): Promise<Response> {
  return fetch(`${url}/v1/outcomes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(outcomeOf(sent)) });
}

describe('outcome durability under SIGKILL (SQLite)', () => {
  it('keeps every acknowledged outcome, and the decision ids issued before the crash still verify', async () => {
    const env = { PORT: '0', HOST: '127.0.0.1', RULES_DIR: FIXTURE, STORE: 'sqlite', SQLITE_PATH: join(tmp, 'profiles.db') };
    const first = start(MAIN, [], env);
    children.push(first);
    const url = await listening(first);

    const acknowledged: Sent[] = [];
    const attempted: Sent[] = [];
    let killed = false;
    const client = async (index: number): Promise<void> => {
      for (let n = 0; ; n++) {
        const customerId = `c-${index}-${n % CUSTOMERS_PER_CLIENT}`;
        try {
          const decision = (await (await fetch(`${url}/v1/decisions/${customerId}?placement=home-hero`)).json()) as {
            decisionId: string;
            placements: Record<string, { items: Array<{ id: string }> }>;
          };
          const sent = { customerId, decisionId: decision.decisionId, item: decision.placements['home-hero']?.items[0]?.id ?? '' };
          attempted.push(sent);
          const res = await postOutcome(url, sent);
          const body = (await res.json()) as { accepted?: number };
          if (res.status === 202) {
            expect(body.accepted).toBe(1);
            acknowledged.push(sent);
          } else {
            throw new Error(`unexpected ${res.status}: ${JSON.stringify(body)}`);
          }
        } catch (err) {
          if (err instanceof Error && err.message.startsWith('unexpected')) throw err;
          return; // the connection died with the process
        }
        if (acknowledged.length >= KILL_AFTER_ACKS && !killed) {
          killed = true;
          first.process.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    await first.exited;
    expect(first.process.signalCode).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);

    const second = start(MAIN, [], env);
    children.push(second);
    const url2 = await listening(second);

    const stored = new Set<string>();
    for (const customerId of new Set(attempted.map((s) => s.customerId))) {
      const res = await fetch(`${url2}/v1/customers/${customerId}`);
      if (res.status === 404) continue;
      const profile = (await res.json()) as { outcomes: Array<{ decisionId: string }> };
      for (const o of profile.outcomes) stored.add(o.decisionId);
    }
    expect(acknowledged.filter((s) => !stored.has(s.decisionId))).toEqual([]);

    const acknowledgedIds = new Set(acknowledged.map((s) => s.decisionId));
    for (const sent of attempted) {
      const res = await postOutcome(url2, sent);
      expect(res.status, sent.decisionId).toBe(202);
      const body = (await res.json()) as { accepted: number; duplicates: number };
      if (acknowledgedIds.has(sent.decisionId)) expect(body).toEqual({ accepted: 0, duplicates: 1 });
      else expect(body.accepted + body.duplicates).toBe(1);
    }

    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);
});
