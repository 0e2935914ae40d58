/**
 * Text that is not Unicode never gets in: a body that is not UTF-8, a key or
 * string that is not well-formed UTF-16 (a lone surrogate, which JSON's \u
 * escapes can spell), and a query whose percent-escapes are not UTF-8 are each
 * a 400 naming where, on every route, before any store sees them. (Redis once
 * failed its trim script on such a property after storing the touchpoint:
 * answers 503, the cap broken, the circuit breaker opened for everyone.)
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findLoneSurrogate } from '../../src/domain/json.js';
import { createHarness, expectProblem, json, removeTempDirs, STORE_KINDS, type Harness } from './harness.js';

/** The body, as raw JSON text: the escape stays an escape until JSON.parse. */
const LONE_SURROGATE_TOUCHPOINT = '{"type":"page_view","channel":"web","properties":{"k":"v\\ud800"}}';

/** A UTF-8 body with one bad byte (0xFF) inside a string at a known offset. */
function withBadByte(prefix: string, suffix: string): { bytes: Uint8Array; offset: number } {
  const head = new TextEncoder().encode(prefix);
  const tail = new TextEncoder().encode(suffix);
  const bytes = new Uint8Array(head.length + 1 + tail.length);
  bytes.set(head, 0);
  bytes[head.length] = 0xff;
  bytes.set(tail, head.length + 1);
  return { bytes, offset: head.length };
}

describe('findLoneSurrogate', () => {
  it('names the first key or string holding a lone surrogate, and passes well-formed pairs', () => {
    expect(findLoneSurrogate({ a: ['ok', { b: 'x\ud800' }] })).toBe('$.a[1].b');
    expect(findLoneSurrogate({ a: { 'k\udfff': 1 } }, '$.attributes')).toBe('$.attributes.a["k\\udfff"]');
    expect(findLoneSurrogate('\udc00\ud800')).toBe('$');
    expect(findLoneSurrogate({ emoji: '😀 \ud83d\ude00', list: [1, null, true] })).toBeNull();
  });
});

describe.each(STORE_KINDS)('text that is not Unicode (%s store)', (kind) => {
  let h: Harness;

  beforeEach(async () => {
    h = await createHarness({ store: kind, maxTouchpointsPerProfile: 2 });
  });
  afterEach(async () => {
    await h.close();
  });
  afterAll(removeTempDirs);

  const sendBytes = (method: string, url: string, bytes: Uint8Array) =>
    Promise.resolve(h.app.request(url, { method, body: bytes, headers: { 'Content-Type': 'application/json' } }));

  it('a touchpoint with a lone surrogate is a 400 naming its path every time, and nothing is stored', async () => {
    for (let n = 0; n < 4; n++) {
      const problem = await expectProblem(await h.request('POST', '/v1/customers/c-1/touchpoints', LONE_SURROGATE_TOUCHPOINT), 400);
      expect(problem.errors).toEqual([{ path: '$.properties.k', message: expect.stringContaining('lone UTF-16 surrogate') }]);
    }
    await expectProblem(await h.request('GET', '/v1/customers/c-1'), 404);
    // The store is unharmed: a good touchpoint for anyone is stored.
    expect((await h.request('POST', '/v1/customers/c-2/touchpoints', { type: 'page_view', channel: 'web' })).status).toBe(202);
  });

  it.each<[string, string, string, string, string]>([
    ['a touchpoint id in a batch', 'POST', '/v1/customers/c-1/touchpoints', '{"touchpoints":[{"type":"a","channel":"web"},{"id":"t\\udc00","type":"a","channel":"web"}]}', '$.touchpoints[1].id'],
    ['a property key', 'POST', '/v1/customers/c-1/touchpoints', '{"type":"a","channel":"web","properties":{"\\ud800x":1}}', '$.properties["\\ud800x"]'],
    ['an attribute deep inside', 'PATCH', '/v1/customers/c-1', '{"attributes":{"prefs":{"tags":["ok","\\udbff"]}}}', '$.attributes.prefs.tags[1]'],
    ['a decision context value', 'POST', '/v1/decisions', '{"customerId":"c-1","placements":["home-hero"],"context":{"name":"Ren\\ud83d"}}', '$.context.name'],
  ])('%s with a lone surrogate is a 400 naming it', async (_, method, url, body, path) => {
    const problem = await expectProblem(await h.request(method, url, body), 400);
    expect(problem.type).toBe('/problems/validation-error');
    expect(problem.errors?.map((e) => e.path)).toEqual([path]);
  });

  it('a batch answers a problem in place of the one request with a lone surrogate, and decides the others', async () => {
    const body = '{"requests":[{"customerId":"c-1","placements":["home-hero"]},{"customerId":"c-2","placements":["home-hero"],"context":{"x":"\\udc00"}}]}';
    const res = await h.request('POST', '/v1/decisions/batch', body);
    expect(res.status).toBe(200);
    const { results } = await json(res);
    expect(results[0].customerId).toBe('c-1');
    expect(results[1]).toMatchObject({ status: 400, errors: [{ path: '$.requests[1].context.x' }] });
  });

  it('well-formed text is accepted, surrogate pairs written as escapes included', async () => {
    const body = '{"id":"tp-\\ud83d\\ude00","type":"page_view","channel":"web","properties":{"k":"😀 \\ud83d\\ude00 é"}}';
    expect((await h.request('POST', '/v1/customers/c-1/touchpoints', body)).status).toBe(202);
    const profile = await json(await h.request('GET', '/v1/customers/c-1'));
    expect(profile.touchpoints[0]).toMatchObject({ id: 'tp-😀', properties: { k: '😀 😀 é' } });
  });

  it.each<[string, string]>([
    ['POST', '/v1/customers/c-1/touchpoints'],
    ['PATCH', '/v1/customers/c-1'],
    ['POST', '/v1/decisions'],
    ['POST', '/v1/decisions/batch'],
  ])('%s %s: a body that is not UTF-8 is a 400 naming the byte', async (method, url) => {
    const { bytes, offset } = withBadByte('{"customerId":"c-1","placements":["home-hero"],"attributes":{"k":"', '"}}');
    const problem = await expectProblem(await sendBytes(method, url, bytes), 400);
    expect(problem.type).toBe('/problems/malformed-json');
    expect(problem.errors).toEqual([{ path: '$', message: `is not valid UTF-8 (byte ${offset} of the body)` }]);
  });

  it('a body of UTF-16 surrogates encoded as UTF-8 (CESU-8) is refused, as is one cut inside a character', async () => {
    const cesu = Uint8Array.from([...new TextEncoder().encode('{"attributes":{"k":"'), 0xed, 0xa0, 0x80, ...new TextEncoder().encode('"}}')]);
    expect((await expectProblem(await sendBytes('PATCH', '/v1/customers/c-1', cesu), 400)).errors?.[0]?.path).toBe('$');
    const cut = Uint8Array.from([...new TextEncoder().encode('{"attributes":{"k":"'), 0xe2, 0x82]);
    expect((await expectProblem(await sendBytes('PATCH', '/v1/customers/c-1', cut), 400)).detail).toMatch(/ends inside a character/);
    await expectProblem(await h.request('GET', '/v1/customers/c-1'), 404);
  });

  it('GET decisions: a query value or key whose escapes are not UTF-8 is a 400 naming the context field', async () => {
    for (const [query, path] of [
      ['device=%ED%A0%80', '$.context.device'],
      ['device=mob%FFile', '$.context.device'],
      ['%FF=1', '$.context["%FF"]'],
      ['placement=home%E2%82', '$.placements'],
    ]) {
      const problem = await expectProblem(await h.request('GET', `/v1/decisions/c-1?placement=home-hero&${query}`), 400);
      expect(problem.errors, query).toEqual([{ path, message: 'is not valid UTF-8 once percent-decoded' }]);
    }
  });

  it('GET decisions: well-formed escapes decode into the context, and a bare "%" stays text', async () => {
    const escaped = await json(await h.request('GET', '/v1/decisions/c-1?placement=home-hero&device=%6D%6F%62%69%6C%65&name=Ren%C3%A9e'));
    expect(escaped.placements['home-hero'].items[0].id).toBe('hero-mobile');
    expect((await h.request('GET', '/v1/decisions/c-1?placement=home-hero&promo=50%&x=%zz')).status).toBe(200);
  });
});
