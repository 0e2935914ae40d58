import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createHarness,
  expectProblem,
  json,
  removeTempDirs,
  STORE_KINDS,
  withPing,
  type Harness,
} from './harness.js';

describe.each(STORE_KINDS)('health and readiness (%s store)', (kind) => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(removeTempDirs);

  it('GET /healthz answers 200 {status: "ok"}', async () => {
    h = await createHarness({ store: kind });
    const res = await h.request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json(res)).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 once the rules are loaded and the store answers', async () => {
    h = await createHarness({ store: kind });
    const res = await h.request('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('GET /readyz answers 503 problem+json when the store ping rejects, while /healthz stays 200', async () => {
    h = await createHarness({
      store: kind,
      wrapStore: (store) => withPing(store, () => Promise.reject(new Error('database is locked'))),
    });
    const res = await h.request('GET', '/readyz');
    await expectProblem(res, 503);
    expect((await h.request('GET', '/healthz')).status).toBe(200);
  });

  it('GET /readyz answers 503 when the store ping never settles', async () => {
    // The store's own timeout (STORE_TIMEOUT_MS) bounds the ping: the hang is put behind it, once
    // the harness has seen the store answer.
    let hanging = false;
    h = await createHarness({
      store: kind,
      wrapBackend: (store) => withPing(store, () => (hanging ? new Promise<void>(() => {}) : store.ping())),
    });
    hanging = true;
    const res = await h.request('GET', '/readyz');
    const problem = await expectProblem(res, 503);
    expect(problem.checks).toMatchObject({ store: expect.stringMatching(/did not answer ping within \d+ ms/) });
  });

  it('GET /readyz answers 503 problem+json while no rules are loaded (rules port current is null)', async () => {
    h = await createHarness({
      store: kind,
      wrapRules: (registry) => ({
        get current() {
          return null;
        },
        status: () => registry.status(),
      }),
    });
    const res = await h.request('GET', '/readyz');
    await expectProblem(res, 503);
    expect((await h.request('GET', '/healthz')).status).toBe(200);
  });

  it('decisions answer 503 problem+json, not 500, while no rules are loaded', async () => {
    h = await createHarness({
      store: kind,
      wrapRules: (registry) => ({
        get current() {
          return null;
        },
        status: () => registry.status(),
      }),
    });
    const res = await h.request('POST', '/v1/decisions', { customerId: 'c-1', placements: ['home-hero'] });
    await expectProblem(res, 503);
  });
});
