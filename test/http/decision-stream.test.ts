/**
 * POST /v1/decisions/stream in-process: NDJSON in and out, in order, a
 * problem with its line for a bad line, answers before the body ends,
 * backpressure from a reader that pauses, and no more reading once the
 * client has gone.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_STREAM_LINE_BYTES } from '../../src/domain/decision-stream.js';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import type { CachedProfileStore } from '../../src/profiles/cached-store.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { createHarness, expectProblem, json, removeTempDirs, STORE_KINDS, touchpoint, type Harness } from './harness.js';

const encoder = new TextEncoder();
const line = (value: unknown): string => `${JSON.stringify(value)}\n`;

/** Reads an NDJSON answer whole, one parsed value a line. */
async function answerLines(res: Response): Promise<any[]> {
  const text = await res.text();
  expect(text === '' || text.endsWith('\n'), 'the answer ends with a line break').toBe(true);
  return text === '' ? [] : text.slice(0, -1).split('\n').map((l) => JSON.parse(l));
}

/** Reads answer lines one at a time from a response body. */
function lineReader(res: Response): { next(): Promise<any>; cancel(): Promise<void> } {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  return {
    async next() {
      for (;;) {
        const at = buffered.indexOf('\n');
        if (at >= 0) {
          const text = buffered.slice(0, at);
          buffered = buffered.slice(at + 1);
          return JSON.parse(text);
        }
        const { done, value } = await reader.read();
        if (done) return undefined;
        buffered += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

/** A body that writes `count` lines (or without end) as fast as it is read, counting what it gave. */
function countingBody(makeLine: (n: number) => string, count = Infinity, linesPerChunk = 50) {
  const state = { lines: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      let text = '';
      for (let i = 0; i < linesPerChunk && state.lines < count; i++) text += makeLine(++state.lines);
      if (text !== '') controller.enqueue(encoder.encode(text));
      if (state.lines >= count) controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

const post = (h: Harness, body: string | Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  Promise.resolve(h.app.request('/v1/decisions/stream', { method: 'POST', body, headers: { 'Content-Type': 'application/x-ndjson', ...headers }, duplex: 'half' } as RequestInit));

/** Lets the event loop turn `turns` times: long enough for a runaway producer to show, with no clock involved. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

// The sqlite store once more with every group read on its reader thread (SQLITE_READER_THREAD=true).
describe.each([...STORE_KINDS, 'sqlite, reader thread'] as const)('POST /v1/decisions/stream (%s store)', (variant) => {
  const kind = variant === 'sqlite, reader thread' ? 'sqlite' : variant;
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ store: kind, maxBodyBytes: 16 * 1024, sqliteReaderThread: variant === 'sqlite, reader thread' });
    await h.request('PATCH', '/v1/customers/c-gold', { attributes: { tier: 'gold', sidebar: true } });
    await h.request('POST', '/v1/customers/c-buyer/touchpoints', touchpoint({ type: 'purchase', channel: 'web' }));
  });
  afterEach(() => h.close());
  afterAll(removeTempDirs);

  it('answers one line a request, in order, exactly as the batch route decides them', async () => {
    const customers = ['c-gold', 'c-buyer', 'c-new', 'c-gold'];
    const requests = Array.from({ length: 300 }, (_, i) => ({
      customerId: `${customers[i % customers.length]}${i % 7 === 0 ? '' : ''}`,
      placements: i % 2 === 0 ? ['home-hero', 'sidebar'] : ['email-banner'],
      context: { channel: i % 3 === 0 ? 'web' : 'email', n: i },
    }));
    const res = await post(h, requests.map(line).join(''));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(res.headers.get('x-nextbest-item-fields')).toBe('kind,title,url,code,channels,activeUntil');
    const streamed = await answerLines(res);
    expect(streamed).toHaveLength(requests.length);
    expect(streamed.map((d) => d.customerId)).toEqual(requests.map((r) => r.customerId));

    const batched: any[] = [];
    for (let start = 0; start < requests.length; start += 100) {
      const batch = await json(await h.request('POST', '/v1/decisions/batch', { requests: requests.slice(start, start + 100) }));
      batched.push(...batch.results);
    }
    const withoutId = ({ decisionId, ...rest }: { decisionId: string }) => {
      expect(typeof decisionId).toBe('string');
      return rest;
    };
    expect(streamed.map(withoutId)).toEqual(batched.map(withoutId));
  });

  it('reads past the profile cache: sees the writes just made, and keeps none of the customers it read', async () => {
    const cache = h.store as CachedProfileStore;
    // c-gold is cached by a page's decision, then changed; c-fresh is written and never read before.
    expect((await json(await h.request('GET', '/v1/decisions/c-gold?placement=sidebar'))).placements.sidebar.fallback).toBe(false);
    await h.request('PATCH', '/v1/customers/c-gold', { attributes: { sidebar: false } });
    await h.request('PATCH', '/v1/customers/c-fresh', { attributes: { tier: 'gold', sidebar: true } });
    const cached = cache.stats().size;
    const streamed = await answerLines(await post(h, line({ customerId: 'c-gold', placements: ['sidebar'] }) + line({ customerId: 'c-fresh', placements: ['sidebar'] })));
    expect(streamed.map((d) => [d.customerId, d.placements.sidebar.fallback])).toEqual([
      ['c-gold', true],
      ['c-fresh', false],
    ]);
    expect(cache.stats().size).toBe(cached);
    // A page's decision still caches, and the stream then answers from it, the same.
    const page = await json(await h.request('GET', '/v1/decisions/c-fresh?placement=sidebar'));
    const hits = cache.stats().hits;
    const [again] = await answerLines(await post(h, line({ customerId: 'c-fresh', placements: ['sidebar'] })));
    expect(cache.stats().hits).toBe(hits + 1);
    expect(again.placements).toEqual(page.placements);
  });

  it('answers a bad line with a problem naming its status and line (blank lines counted) and goes on', async () => {
    const good = { customerId: 'c-gold', placements: ['home-hero'] };
    const body = [
      line(good), // 1
      '\n', // 2: blank
      '   \r\n', // 3: blank
      '{"customerId":"c-1",\n', // 4: malformed
      line({ customerId: 'a*b', placements: ['home-hero'] }), // 5: invalid id
      line({ customerId: 'c-1', placements: ['nope'] }), // 6: unknown placement
      line({ customerId: 'c-1', placements: ['home-hero'], context: { __proto__: null, constructor: 1 } }), // 7: forbidden key
      `${JSON.stringify(good)}\r\n`, // 8: CRLF
      line({ customerId: 'c-1', placements: ['home-hero'], context: { big: 'x'.repeat(MAX_STREAM_LINE_BYTES) } }), // 9: too long
      '42\n', // 10: not an object
    ].join('');
    const bytes = Buffer.concat([Buffer.from(body), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from(JSON.stringify(good))]); // 11: not UTF-8; 12: no final break
    const res = await post(h, bytes);
    expect(res.status).toBe(200);
    const answers = await answerLines(res);
    expect(answers.map((a) => (a.decisionId ? 'decision' : `${a.status}@${a.line}`))).toEqual([
      'decision',
      '400@4',
      '400@5',
      '400@6',
      '400@7',
      'decision',
      '413@9',
      '400@10',
      '400@11',
      'decision',
    ]);
    expect(answers[2].errors).toEqual([{ path: '$.customerId', message: expect.any(String) }]);
    expect(answers[3]).toMatchObject({ type: '/problems/unknown-placement', errors: [{ path: '$.placements[0]' }] });
    expect(answers[4].errors[0].path).toBe('$.context.constructor');
    expect(answers[1]).toMatchObject({ type: '/problems/malformed-json', title: 'Malformed JSON' });
    for (const problem of answers.filter((a) => !a.decisionId)) {
      expect(problem).toMatchObject({ type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    }
  });

  it('takes a line of exactly the limit, and refuses one byte more, wherever the chunks split them', async () => {
    const request = (padding: number) => JSON.stringify({ customerId: 'c-1', placements: ['home-hero'], context: { pad: 'x'.repeat(padding) } });
    const base = request(0).length;
    const exact = request(MAX_STREAM_LINE_BYTES - base);
    const over = request(MAX_STREAM_LINE_BYTES - base + 1);
    expect(Buffer.byteLength(exact)).toBe(MAX_STREAM_LINE_BYTES);
    // Context is at most 16 KB, so the exact line is a 400 for its context, not a 413 for its length.
    const text = `${exact}\n${over}\n${request(1)}\n`;
    const chunks = text.match(/[\s\S]{1,7001}/g) as string[];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(encoder.encode(next));
      },
    });
    const answers = await answerLines(await post(h, body));
    expect(answers.map((a) => a.status ?? 'decision')).toEqual([400, 413, 'decision']);
    expect(answers[0].errors[0].path).toBe('$.context');
    expect(answers[1].line).toBe(2);
  });

  it('has no body limit: a stream far over MAX_BODY_BYTES is answered whole', async () => {
    const count = 2000;
    const { stream } = countingBody((n) => line({ customerId: `c-${n}`, placements: ['sidebar'] }), count);
    const answers = await answerLines(await post(h, stream));
    expect(answers).toHaveLength(count);
    expect(answers.at(-1).customerId).toBe(`c-${count}`);
    // The same bytes to the batch route are refused for size.
    await expectProblem(await h.request('POST', '/v1/decisions/batch', { requests: Array.from({ length: 1000 }, (_, i) => ({ customerId: `c-${i}`, placements: ['sidebar'] })) }), 413);
  });

  it('answers an empty body with an empty answer', async () => {
    const res = await post(h, '');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(await (await post(h, '\n\n  \n')).text()).toBe('');
  });

  it('answers a line before the body has ended', async () => {
    let send: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        send = controller;
      },
    });
    send?.enqueue(encoder.encode(line({ customerId: 'c-gold', placements: ['home-hero'] })));
    const res = await post(h, body);
    const reader = lineReader(res);
    expect((await reader.next()).customerId).toBe('c-gold');
    send?.enqueue(encoder.encode(line({ customerId: 'c-buyer', placements: ['home-hero'] })));
    expect((await reader.next()).customerId).toBe('c-buyer');
    send?.close();
    expect(await reader.next()).toBeUndefined();
  });

  it('reads the body only as fast as the answers are read, and picks up where the reader left off', async () => {
    const { stream, state } = countingBody((n) => line({ customerId: `c-${n % 50}`, placements: ['home-hero', 'sidebar'], context: { n } }));
    const reader = lineReader(await post(h, stream));
    expect((await reader.next()).placements).toBeDefined();
    await turns(500);
    const whilePaused = state.lines;
    await turns(500);
    // A producer without backpressure would have given hundreds of thousands of lines by now.
    expect(state.lines).toBe(whilePaused);
    expect(state.lines).toBeLessThan(20_000);
    for (let i = 0; i < 1000; i++) await reader.next();
    expect(state.lines).toBeGreaterThan(1000);
    await reader.cancel();
  });

  it('stops reading and deciding when the client goes away', async () => {
    let decided = 0;
    const counting = (store: ProfileStore): ProfileStore =>
      new Proxy(store, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (property !== 'getManyForDecision' || typeof value !== 'function') return value;
          return (ids: readonly string[]) => {
            decided += ids.length;
            return (value as ProfileStore['getManyForDecision']).call(target, ids);
          };
        },
      });
    const counted = await createHarness({ store: kind, wrapStore: counting });
    try {
      const { stream, state } = countingBody((n) => line({ customerId: `c-${n}`, placements: ['sidebar'] }));
      const reader = lineReader(await post(counted, stream));
      for (let i = 0; i < 300; i++) await reader.next();
      await reader.cancel();
      await turns(50);
      expect(state.cancelled).toBe(true);
      const after = { lines: state.lines, decided };
      await turns(500);
      expect({ lines: state.lines, decided }).toEqual(after);
    } finally {
      await counted.close();
    }
  });
});

describe('POST /v1/decisions/stream when things are not well', () => {
  afterAll(removeTempDirs);

  it('answers 503 before reading anything when no rules are loaded', async () => {
    const h = await createHarness({ wrapRules: (registry) => ({ current: null, status: () => registry.status() }) });
    try {
      await expectProblem(await post(h, line({ customerId: 'c-1', placements: ['home-hero'] })), 503);
    } finally {
      await h.close();
    }
  });

  it('decides as for a new visitor, marked degraded, when the store does not answer', async () => {
    const down = (store: ProfileStore): ProfileStore =>
      new Proxy(store, {
        get(target, property, receiver) {
          if (property === 'getManyForDecision') return () => Promise.reject(new StoreUnavailableError('down'));
          return Reflect.get(target, property, receiver) as unknown;
        },
      });
    const h = await createHarness({ wrapStore: down });
    try {
      const answers = await answerLines(await post(h, line({ customerId: 'c-1', placements: ['home-hero'] }).repeat(3)));
      expect(answers.map((a) => a.degraded)).toEqual([true, true, true]);
    } finally {
      await h.close();
    }
  });

  it('answers 500 when the first group fails unexpectedly, and a 500 problem per line after the answer has begun', async () => {
    let calls = 0;
    let secondRead!: () => void;
    const secondReadAsked = new Promise<void>((resolve) => (secondRead = resolve));
    const flaky = (store: ProfileStore): ProfileStore =>
      new Proxy(store, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (property !== 'getManyForDecision' || typeof value !== 'function') return value;
          return (ids: readonly string[]) => {
            if (++calls !== 2) return (value as ProfileStore['getManyForDecision']).call(target, ids);
            secondRead();
            return Promise.reject(new Error('a bug'));
          };
        },
      });
    const h = await createHarness({ wrapStore: flaky });
    try {
      // Three chunks, one group each (the third sent once the second group's read is asked for): the second group fails.
      const chunks = [0, 1, 2].map((n) => line({ customerId: `c-${n}`, placements: ['home-hero'] }));
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (chunks.length === 1) await secondReadAsked;
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(encoder.encode(next));
        },
      });
      const answers = await answerLines(await post(h, body));
      expect(answers.map((a) => a.status ?? 'decision')).toEqual(['decision', 500, 'decision']);
      expect(answers[1]).toMatchObject({ line: 2, type: '/problems/internal-error' });
      calls = 1;
      await expectProblem(await post(h, line({ customerId: 'c-1', placements: ['home-hero'] })), 500);
    } finally {
      await h.close();
    }
  });
});
