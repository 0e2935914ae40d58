/**
 * Graceful shutdown of the real service: SIGTERM while slow requests (decision
 * batches of 1000 and touchpoint batches of 1000) are in flight. Every request
 * the server had taken gets a complete 2xx answer, a new connection after the
 * signal is refused, the process exits 0, and the acknowledged writes are on
 * disk after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listening, start, type Child } from './spawn.js';

const MAIN = 'src/main.ts';
const FIXTURE = 'test/fixtures/minimal-rules';
const DECISION_BATCHES = 16;
const TOUCHPOINT_BATCHES = 8;
const PER_BATCH = 1000;

const tmp = mkdtempSync(join(tmpdir(), 'nextbest-shutdown-'));
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Answer {
  status: number;
  body: string;
}

interface InFlight {
  /** Resolves once what is to be sent now (the whole request, or its first half) has been handed to the socket. */
  sent: Promise<void>;
  answer: Promise<Answer>;
  /** For a trickled request: sends the rest of the body. */
  finish(): void;
}

/**
 * One request on its own connection (no keep-alive), so each stands for a
 * connection the server accepted. `trickle` sends only the headers and half
 * the body until `finish()`: a request that is in flight by construction.
 */
function request(base: string, path: string, body: string, trickle = false): InFlight {
  let markSent!: () => void;
  let finish = (): void => undefined;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const answer = new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (!trickle) {
      req.end(body, () => markSent());
      return;
    }
    const half = Math.floor(body.length / 2);
    req.flushHeaders();
    req.write(body.slice(0, half), () => markSent());
    finish = () => req.end(body.slice(half));
  });
  return { sent, answer, finish: () => finish() };
}

function connectOutcome(base: string): Promise<'refused' | 'connected'> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve('refused') : reject(err)));
  });
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const decisionBatch = (batch: number): string =>
  JSON.stringify({
    requests: Array.from({ length: PER_BATCH }, (_, i) => ({ customerId: `d-${batch}-${i % 50}`, placements: ['home-hero'], explain: i % 2 === 0 })),
  });

const touchpointBatch = (batch: number): string =>
  JSON.stringify({
    touchpoints: Array.from({ length: PER_BATCH }, (_, i) => ({ id: `tp-${batch}-${i}`, type: i % 3 === 0 ? 'cart_add' : 'page_view', channel: 'web', properties: { i } })),
  });

describe('graceful shutdown (SIGTERM)', () => {
  it('finishes every in-flight request with a complete 2xx, refuses new connections, exits 0 and keeps the writes', async () => {
    const env = { PORT: '0', HOST: '127.0.0.1', RULES_DIR: FIXTURE, STORE: 'sqlite', SQLITE_PATH: join(tmp, 'profiles.db') };
    const first = start(MAIN, [], env);
    children.push(first);
    const url = await listening(first);

    const decisions = Array.from({ length: DECISION_BATCHES }, (_, b) => request(url, '/v1/decisions/batch', decisionBatch(b)));
    const ingests = Array.from({ length: TOUCHPOINT_BATCHES }, (_, b) => request(url, `/v1/customers/s-${b}/touchpoints`, touchpointBatch(b)));
    const trickled = [
      request(url, '/v1/decisions/batch', decisionBatch(DECISION_BATCHES), true),
      request(url, '/v1/customers/s-trickled/touchpoints', touchpointBatch(TOUCHPOINT_BATCHES), true),
    ];
    const all = [...decisions, ...ingests, ...trickled];
    let answered = 0;
    for (const r of all) void r.answer.then(() => answered++, () => undefined);
    await Promise.all(all.map((r) => r.sent));
    // Give the server a moment to take every connection off the listen backlog and parse its headers.
    await new Promise((r) => setTimeout(r, 50));
    const answeredBeforeSignal = answered;

    first.process.kill('SIGTERM');
    await waitFor(() => first.stdout().includes('"msg":"shutting down"'), 10_000);
    const inFlightAtSignal = all.length - answered;
    const newConnection = await connectOutcome(url);
    for (const r of trickled) r.finish();

    const answers = await Promise.all(all.map((r) => r.answer));
    const code = await first.exited;

    // The signal really came while work was going on, or the test proves nothing.
    expect(answeredBeforeSignal).toBeLessThan(all.length);
    expect(inFlightAtSignal).toBeGreaterThanOrEqual(trickled.length);
    expect(newConnection).toBe('refused');
    for (const [i, a] of answers.entries()) {
      expect(a.status, `request ${i}: ${a.body.slice(0, 200)}`).toBeGreaterThanOrEqual(200);
      expect(a.status).toBeLessThan(300);
    }
    const decisionAnswers = [...answers.slice(0, DECISION_BATCHES), answers[all.length - 2] as Answer];
    const ingestAnswers = [...answers.slice(DECISION_BATCHES, DECISION_BATCHES + TOUCHPOINT_BATCHES), answers[all.length - 1] as Answer];
    for (const a of decisionAnswers) {
      const body = JSON.parse(a.body) as { results: Array<{ decisionId?: string }> };
      expect(body.results).toHaveLength(PER_BATCH);
      expect(body.results.every((d) => typeof d.decisionId === 'string')).toBe(true);
    }
    for (const a of ingestAnswers) expect(JSON.parse(a.body)).toEqual({ accepted: PER_BATCH, duplicates: 0, expired: 0 });
    expect(code).toBe(0);
    expect(first.stdout()).toContain('"msg":"stopped"');

    const second = start(MAIN, [], env);
    children.push(second);
    const url2 = await listening(second);
    for (const customer of [...Array.from({ length: TOUCHPOINT_BATCHES }, (_, b) => `s-${b}`), 's-trickled']) {
      const profile = (await (await fetch(`${url2}/v1/customers/${customer}`)).json()) as { touchpointCount: number };
      expect(profile.touchpointCount, customer).toBe(PER_BATCH);
    }
    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});
