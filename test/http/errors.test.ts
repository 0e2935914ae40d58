/**
 * Errors in general (contract section 5): problem+json for every 4xx,
 * malformed JSON 400, body over 1 MB 413, unknown route 404, and never a 5xx
 * for bad input, checked with a table of hostile bodies for every endpoint
 * that takes one.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createHarness,
  expectProblem,
  json,
  prototypeIsClean,
  removeTempDirs,
  STORE_KINDS,
  type Harness,
  type ProblemBody,
} from './harness.js';

interface Endpoint {
  name: string;
  method: string;
  url: string;
  /** A body the endpoint accepts, to prove the hostile ones fail for their own reason. */
  valid: unknown;
  /** Wrong types for every field, and other hostile bodies specific to the endpoint (raw JSON text). */
  hostile: Array<[string, string]>;
}

const deepObject = (depth: number, leaf = '1') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
const deepArray = (depth: number, leaf = '1') => '['.repeat(depth) + leaf + ']'.repeat(depth);
const DEEP = 10_000;

const touchpointJson = (fields: string) => `{"type":"page_view","channel":"web",${fields}}`;
const decisionJson = (fields: string) => `{"customerId":"c-1","placements":["home-hero"],${fields}}`;

const ENDPOINTS: Endpoint[] = [
  {
    name: 'POST /v1/customers/{id}/touchpoints',
    method: 'POST',
    url: '/v1/customers/c-1/touchpoints',
    valid: { type: 'page_view', channel: 'web' },
    hostile: [
      ['{} (type and channel missing)', '{}'],
      ['type as a number', '{"type":1,"channel":"web"}'],
      ['type as null', '{"type":null,"channel":"web"}'],
      ['type as an object', '{"type":{"a":1},"channel":"web"}'],
      ['type of 100000 characters', JSON.stringify({ type: 'a'.repeat(100_000), channel: 'web' })],
      ['channel as an array', '{"type":"page_view","channel":["web"]}'],
      ['channel as a boolean', '{"type":"page_view","channel":true}'],
      ['id as an object', touchpointJson('"id":{}')],
      ['id as a huge number', touchpointJson('"id":1e400')],
      ['at as a huge number', touchpointJson('"at":1e400')],
      ['at as a boolean', touchpointJson('"at":true')],
      ['at as an object', touchpointJson('"at":{"date":"2026-03-01"}')],
      ['at far in the future', touchpointJson('"at":"9999-12-31T23:59:59Z"')],
      ['at beyond the Date range', touchpointJson('"at":"+275760-09-14T00:00:00Z"')],
      ['properties as a huge number', touchpointJson('"properties":1e400')],
      ['properties as an array', touchpointJson('"properties":[1,2]')],
      ['a property that is a huge number', touchpointJson('"properties":{"n":1e400}')],
      ['a property that is a huge negative number', touchpointJson('"properties":{"n":-1e400}')],
      ['properties nested 10000 deep', touchpointJson(`"properties":${deepObject(DEEP)}`)],
      ['a property that is an array nested 10000 deep', touchpointJson(`"properties":{"x":${deepArray(DEEP)}}`)],
      ['touchpoints as null', '{"touchpoints":null}'],
      ['touchpoints as a number', '{"touchpoints":1}'],
      ['touchpoints as an object', '{"touchpoints":{"type":"page_view","channel":"web"}}'],
      ['touchpoints holding null', '{"touchpoints":[null]}'],
      ['touchpoints holding a string', '{"touchpoints":["page_view"]}'],
      ['touchpoints holding an array', '{"touchpoints":[[]]}'],
      ['touchpoints holding {}', '{"touchpoints":[{}]}'],
      ['touchpoints holding wrong types', '{"touchpoints":[{"type":1,"channel":2,"at":3,"id":4,"properties":5}]}'],
      ['a batch item with properties nested 10000 deep', `{"touchpoints":[${touchpointJson(`"properties":${deepObject(DEEP)}`)}]}`],
    ],
  },
  {
    name: 'PATCH /v1/customers/{id}',
    method: 'PATCH',
    url: '/v1/customers/c-1',
    valid: { attributes: { tier: 'gold' } },
    hostile: [
      ['attributes as a huge number', '{"attributes":1e400}'],
      ['attributes as a boolean', '{"attributes":true}'],
      ['attributes as an array of arrays', '{"attributes":[[]]}'],
      ['an attribute that is a huge number', '{"attributes":{"n":1e400}}'],
      ['attributes nested 10000 deep', `{"attributes":${deepObject(DEEP)}}`],
      ['an attribute that is an array nested 10000 deep', `{"attributes":{"x":${deepArray(DEEP)}}}`],
      ['stage as a huge number', '{"stage":1e400}'],
      ['stage as an object', '{"stage":{"name":"purchase"}}'],
      ['stage of 100000 characters', JSON.stringify({ stage: 'a'.repeat(100_000) })],
      ['wrong types for every field', '{"attributes":"gold","stage":5}'],
      ['an unknown key', '{"attributes":{},"tier":"gold"}'],
    ],
  },
  {
    name: 'POST /v1/decisions',
    method: 'POST',
    url: '/v1/decisions',
    valid: { customerId: 'c-1', placements: ['home-hero'] },
    hostile: [
      ['{} (customerId and placements missing)', '{}'],
      ['customerId as a huge number', '{"customerId":1e400,"placements":["home-hero"]}'],
      ['customerId as null', '{"customerId":null,"placements":["home-hero"]}'],
      ['customerId as an array', '{"customerId":["c-1"],"placements":["home-hero"]}'],
      ['customerId as an object', '{"customerId":{},"placements":["home-hero"]}'],
      ['placements as an object', '{"customerId":"c-1","placements":{"0":"home-hero"}}'],
      ['placements as a huge number', '{"customerId":"c-1","placements":1e400}'],
      ['placements holding null', '{"customerId":"c-1","placements":[null]}'],
      ['placements holding an array', '{"customerId":"c-1","placements":[["home-hero"]]}'],
      ['placements of 100000 characters', JSON.stringify({ customerId: 'c-1', placements: ['a'.repeat(100_000)] })],
      ['context as null', decisionJson('"context":null')],
      ['context as a huge number', decisionJson('"context":1e400')],
      ['a context value that is a huge number', decisionJson('"context":{"n":1e400}')],
      ['context nested 10000 deep', decisionJson(`"context":${deepObject(DEEP)}`)],
      ['a context value that is an array nested 10000 deep', decisionJson(`"context":{"x":${deepArray(DEEP)}}`)],
      ['context over the size limit', decisionJson(`"context":{"pad":"${'x'.repeat(200_000)}"}`)],
      ['explain as null', decisionJson('"explain":null')],
      ['explain as a number', decisionJson('"explain":1')],
      ['wrong types for every field', '{"customerId":1,"placements":"home-hero","context":[],"explain":"yes"}'],
    ],
  },
  {
    name: 'POST /v1/decisions/batch',
    method: 'POST',
    url: '/v1/decisions/batch',
    valid: { requests: [{ customerId: 'c-1', placements: ['home-hero'] }] },
    hostile: [
      ['{} (requests missing)', '{}'],
      ['requests as null', '{"requests":null}'],
      ['requests as a huge number', '{"requests":1e400}'],
      ['requests as a boolean', '{"requests":true}'],
      ['requests as an object', '{"requests":{"0":{"customerId":"c-1","placements":["home-hero"]}}}'],
      ['requests as an empty array', '{"requests":[]}'],
      ['an unknown key', '{"requests":[{"customerId":"c-1","placements":["home-hero"]}],"parallel":true}'],
    ],
  },
];

/** Bodies that are wrong for every endpoint. */
const COMMON_HOSTILE: Array<[string, string]> = [
  ['null', 'null'],
  ['[]', '[]'],
  ['"x"', '"x"'],
  ['123', '123'],
  ['true', 'true'],
  ['-0', '-0'],
  ['a huge number', '1e400'],
  ['an array of objects', '[{"customerId":"c-1"}]'],
  ['an object nested 10000 deep', deepObject(DEEP)],
  ['an array nested 10000 deep', deepArray(DEEP)],
  ['a "__proto__" key', '{"__proto__":{"polluted":true}}'],
  ['a "constructor" key', '{"constructor":{"prototype":{"polluted":true}}}'],
];

const MALFORMED: Array<[string, string]> = [
  ['an unclosed object', '{'],
  ['a trailing comma', '{"a":1,}'],
  ['single quotes', "{'a':1}"],
  ['a truncated body', '{"type":"page_view","channel":"w'],
  ['a bare word', 'nul'],
  ['form encoding', 'type=page_view&channel=web'],
  ['XML', '<touchpoint type="page_view"/>'],
  ['a NUL byte', '\u0000'],
  ['two JSON values', '{} {}'],
];

async function expectClientProblem(res: Response): Promise<ProblemBody> {
  expect(res.status, `status of ${await res.clone().text().then((t) => t.slice(0, 200))}`).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  return expectProblem(res, res.status);
}

describe.each(STORE_KINDS)('errors (%s store)', (kind) => {
  let h: Harness;

  beforeEach(async () => {
    h = await createHarness({ store: kind });
  });
  afterEach(async () => {
    await h.close();
  });
  afterAll(removeTempDirs);

  describe.each(ENDPOINTS)('$name', (endpoint) => {
    it('accepts its valid body (so the failures below are the hostile bodies’ own)', async () => {
      const res = await h.request(endpoint.method, endpoint.url, endpoint.valid);
      expect(res.status).toBeLessThan(300);
    });

    it.each([...COMMON_HOSTILE, ...endpoint.hostile])('answers 4xx problem+json, never 5xx, for %s', async (_, body) => {
      const res = await h.request(endpoint.method, endpoint.url, body);
      await expectClientProblem(res);
      expect(prototypeIsClean()).toBe(true);
    });

    it.each(MALFORMED)('answers 400 problem+json for malformed JSON: %s', async (_, body) => {
      await expectProblem(await h.request(endpoint.method, endpoint.url, body), 400);
    });

    it('answers 400 problem+json for an empty body', async () => {
      await expectProblem(await h.request(endpoint.method, endpoint.url, ''), 400);
      await expectProblem(await h.request(endpoint.method, endpoint.url), 400);
    });

    it('answers 413 problem+json for a 1.1 MB body sent with its Content-Length', async () => {
      const body = JSON.stringify({ pad: 'x'.repeat(1.1 * 1024 * 1024) });
      const res = await h.request(endpoint.method, endpoint.url, body, { 'Content-Length': String(Buffer.byteLength(body)) });
      await expectProblem(res, 413);
    });

    it('answers 413 problem+json for a 1.1 MB body streamed without a Content-Length', async () => {
      const bytes = new TextEncoder().encode(JSON.stringify({ pad: 'x'.repeat(1.1 * 1024 * 1024) }));
      const chunk = 64 * 1024;
      let offset = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= bytes.length) return controller.close();
          controller.enqueue(bytes.subarray(offset, offset + chunk));
          offset += chunk;
        },
      });
      const res = await h.app.request(endpoint.url, {
        method: endpoint.method,
        body: stream,
        headers: { 'Content-Type': 'application/json' },
        duplex: 'half',
      } as RequestInit);
      await expectProblem(res, 413);
    });
  });

  it('accepts a valid body just under 1 MB (the limit is not lower): 1000 touchpoints of ~950 bytes each', async () => {
    const touchpoints = Array.from({ length: 1000 }, (_, i) => ({
      id: `tp-${i}`,
      type: 'page_view',
      channel: 'web',
      properties: { pad: 'x'.repeat(900) },
    }));
    const body = JSON.stringify({ touchpoints });
    expect(Buffer.byteLength(body)).toBeGreaterThan(950_000);
    expect(Buffer.byteLength(body)).toBeLessThan(1024 * 1024);
    const res = await h.request('POST', '/v1/customers/c-1/touchpoints', body);
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ accepted: 1000, duplicates: 0, expired: 0 });
  });

  describe('a hostile request inside a batch becomes a 4xx problem in place', () => {
    it.each<[string, string]>([
      ['null', 'null'],
      ['a number', '1e400'],
      ['a string', '"c-1"'],
      ['an array', '[]'],
      ['{}', '{}'],
      ['a "__proto__" key', '{"__proto__":{"polluted":true},"customerId":"c-1","placements":["home-hero"]}'],
      ['context nested 10000 deep', decisionJson(`"context":${deepObject(DEEP)}`)],
      ['a context value that is an array nested 10000 deep', decisionJson(`"context":{"x":${deepArray(DEEP)}}`)],
      ['a context value that is a huge number', decisionJson('"context":{"n":1e400}')],
      ['wrong types for every field', '{"customerId":1,"placements":"home-hero","context":[],"explain":"yes"}'],
    ])('%s', async (_, bad) => {
      const body = `{"requests":[{"customerId":"c-1","placements":["home-hero"]},${bad},{"customerId":"c-2","placements":["home-hero"]}]}`;
      const res = await h.request('POST', '/v1/decisions/batch', body);
      expect(res.status).toBe(200);
      const { results } = await json(res);
      expect(results).toHaveLength(3);
      expect(results[0].customerId).toBe('c-1');
      expect(results[2].customerId).toBe('c-2');
      const problem = results[1] as ProblemBody;
      expect(problem.status).toBeGreaterThanOrEqual(400);
      expect(problem.status).toBeLessThan(500);
      expect(typeof problem.type).toBe('string');
      expect(typeof problem.title).toBe('string');
      expect(typeof problem.detail).toBe('string');
      expect(prototypeIsClean()).toBe(true);
    });
  });

  describe('unknown routes', () => {
    it.each([
      ['GET', '/index.html'],
      ['GET', '/v1'],
      ['GET', '/v2/decisions/c-1?placement=home-hero'],
      ['GET', '/v1/customers'],
      ['POST', '/v1/customers'],
      ['GET', '/v1/customers/c-1/touchpoints'],
      ['POST', '/v1/customers/c-1/touchpoints/extra'],
      ['GET', '/v1/decisions'],
      ['POST', '/v1/decisions/batch/extra'],
      ['POST', '/v1/rules'],
      ['DELETE', '/v1/rules'],
      ['GET', '/v1/nothing-here'],
    ])('%s %s answers 404 problem+json', async (method, url) => {
      await expectProblem(await h.request(method, url), 404);
    });

    it.each([
      ['PUT', '/v1/customers/c-1'],
      ['POST', '/v1/customers/c-1'],
      ['DELETE', '/v1/decisions/c-1'],
      ['PATCH', '/v1/rules'],
    ])('%s %s (a method the path does not take) answers 404 or 405 problem+json', async (method, url) => {
      const res = await h.request(method, url, {});
      expect([404, 405]).toContain(res.status);
      await expectProblem(res, res.status);
    });
  });

  it('left Object.prototype clean after everything above', () => {
    expect(prototypeIsClean()).toBe(true);
  });
});
