/**
 * Keep-alive connections after bad requests, against the real server with
 * Node's own fetch (undici, which keeps connections alive and reuses them).
 * A request answered before its body was read (413 on the Content-Length, a
 * 404 for an unknown route, a 401) leaves body bytes on the wire; the server
 * must either announce that it will not reuse that connection or read past
 * them, so that no later request on a reused connection meets a closed socket.
 * Closing, it reads what the client still sends until the client ends, so
 * the client never meets a reset before it has read the answer.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listening, start, type Child } from './spawn.js';

const MAIN = 'src/main.ts';
const FIXTURE = 'test/fixtures/minimal-rules';
const GOOD_REQUESTS = 200;
const CONCURRENCY = 4;

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
});

interface Outcome {
  status: number | null;
  error: string | null;
  /** The Connection header: whether the server keeps the connection for another request. */
  connection?: string | null;
}

async function send(url: string, init: RequestInit = {}): Promise<Outcome> {
  try {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    return { status: res.status, error: null, connection: res.headers.get('connection') };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: null, error: `${(err as Error).message}: ${cause?.code ?? ''} ${cause?.message ?? ''}` };
  }
}

/** A body sent with Transfer-Encoding: chunked: the server cannot know its size before reading it. */
const chunked = (text: string): ReadableStream<Uint8Array> => {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + 64 * 1024));
      offset += 64 * 1024;
    },
  });
};
const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('connection reuse after bad requests', () => {
  it('answers every later request on reused keep-alive connections', async () => {
    const child = start(MAIN, [], { PORT: '0', HOST: '127.0.0.1', RULES_DIR: FIXTURE, STORE: 'memory', API_KEYS: 'good-key-123456:decide' });
    children.push(child);
    const base = await listening(child);
    const auth = { 'x-api-key': 'good-key-123456' };
    const decision = { customerId: 'c-1', placements: ['home-hero'] };

    // Each bad request runs on several connections at once, so that the pool's connections all carry one.
    const bad: Array<[string, () => Promise<Outcome>, number]> = [
      ['malformed JSON', () => send(`${base}/v1/decisions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"customerId": ' }), 400],
      [
        '1001-item batch',
        () => send(`${base}/v1/decisions/batch`, { ...json({ requests: Array.from({ length: 1001 }, () => decision) }), headers: { ...auth, 'content-type': 'application/json' } }),
        400,
      ],
      ['2 MB body', () => send(`${base}/v1/decisions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) }), 413],
      [
        '2 MB chunked body (no Content-Length)',
        () =>
          send(`${base}/v1/decisions`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: chunked('x'.repeat(2 * 1024 * 1024)),
            duplex: 'half',
          } as RequestInit),
        413,
      ],
      ['unknown route with a body', () => send(`${base}/v1/nowhere`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: 'y'.repeat(256 * 1024) }), 404],
      ['no API key, with a body', () => send(`${base}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'z'.repeat(256 * 1024) }), 401],
      ['unknown route', () => send(`${base}/nowhere`, { headers: auth }), 404],
    ];
    for (const [name, request, status] of bad) {
      const outcomes = await Promise.all(Array.from({ length: CONCURRENCY }, request));
      for (const outcome of outcomes) expect(outcome, name).toMatchObject({ status, error: null });
    }

    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < GOOD_REQUESTS) {
        const i = next++;
        const outcome =
          i % 2 === 0
            ? await send(`${base}/v1/decisions/c-${i}?placement=home-hero`, { headers: auth })
            : await send(`${base}/v1/decisions`, { ...json({ ...decision, customerId: `c-${i}` }), headers: { ...auth, 'content-type': 'application/json' } });
        if (outcome.status !== 200) failures.push(`request ${i}: ${outcome.status ?? outcome.error}`);
        // Good requests keep their connection: the fix must not be to close every one.
        else if (outcome.connection !== 'keep-alive') failures.push(`request ${i}: Connection: ${outcome.connection}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(failures).toEqual([]);

    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 60_000);

  it('reads on past an early answer until the client has sent its body, then closes without a reset', async () => {
    const child = start(MAIN, [], { PORT: '0', HOST: '127.0.0.1', RULES_DIR: FIXTURE, STORE: 'memory', API_KEYS: 'good-key-123456:decide' });
    children.push(child);
    const { hostname, port } = new URL(await listening(child));
    // Half-open, as an HTTP client writing a body is: the service's end does not end the sending.
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    let received = '';
    let serverEnded = false;
    let error: string | null = null;
    socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => (serverEnded = true));
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const piece = 'x'.repeat(64 * 1024);
    const pieces = 32;
    socket.write(`POST /v1/decisions HTTP/1.1\r\nHost: ${hostname}\r\nX-Api-Key: good-key-123456\r\nContent-Type: application/json\r\nContent-Length: ${pieces * piece.length}\r\n\r\n`);
    socket.write(piece);
    // The 413 comes on the declared length, and the service ends its side after it.
    await expect.poll(() => serverEnded, { timeout: 10_000 }).toBe(true);
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received.toLowerCase()).toContain('connection: close');
    // The client goes on sending its body, as clients do, a piece at a time: a service that had closed its socket
    // would answer these with a reset.
    for (let sent = 1; sent < pieces && error === null; sent++) {
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    socket.end();
    await closed;
    expect(error).toBeNull();

    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 30_000);
});
