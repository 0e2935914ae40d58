import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidInputError, ProfileDataError, StoreUnavailableError } from '../../src/domain/errors.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import type { ProfileStore } from '../../src/profiles/store.js';
import { createCircuitBreakerStore } from '../../src/profiles/circuit-breaker-store.js';
import { createTimeoutStore } from '../../src/profiles/timeout-store.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');

/** The memory store with some methods replaced. */
function withMethods(overrides: Partial<ProfileStore>): ProfileStore {
  const inner = createMemoryStore({ retentionDays: 365, maxTouchpointsPerProfile: 100, now: () => NOW });
  return { ...inner, ...overrides, kind: 'test' };
}

describe('createTimeoutStore', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes results through and clears its timer', async () => {
    const store = createTimeoutStore(withMethods({}), { timeoutMs: 100 });
    const touchpoints = [{ id: 'tp-1', type: 'page_view', channel: 'web', at: NOW, properties: null }];
    await expect(store.appendTouchpoints('c-1', touchpoints, NOW)).resolves.toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
    const profile = await store.get('c-1');
    expect(profile?.touchpoints).toHaveLength(1);
    expect((await store.getForDecision('c-1'))?.customerId).toBe('c-1');
    expect([...(await store.getManyForDecision(['c-1', 'c-2'])).keys()]).toEqual(['c-1']);
    await expect(store.ping()).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with StoreUnavailableError once the call takes longer than the timeout', async () => {
    const store = createTimeoutStore(withMethods({ getForDecision: () => new Promise(() => {}) }), { timeoutMs: 100 });
    const outcome = store.getForDecision('c-1').then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await vi.advanceTimersByTimeAsync(99);
    let settled = false;
    void outcome.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await outcome;
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/getForDecision within 100 ms/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('maps other failures to StoreUnavailableError, keeping the cause, and clears its timer', async () => {
    const cause = new Error('connection refused');
    const store = createTimeoutStore(
      withMethods({
        get: () => Promise.reject(cause),
        delete: () => {
          throw new TypeError('synchronous failure');
        },
      }),
      { timeoutMs: 100 },
    );
    const err = await store.get('c-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).cause).toBe(cause);
    await expect(store.delete('c-1')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets domain errors about the input and StoreUnavailableError through unchanged', async () => {
    const invalid = new InvalidInputError('attributes too large');
    const unavailable = new StoreUnavailableError('closed');
    const store = createTimeoutStore(
      withMethods({ patch: () => Promise.reject(invalid), ping: () => Promise.reject(unavailable) }),
      { timeoutMs: 100 },
    );
    await expect(store.patch('c-1', {}, NOW)).rejects.toBe(invalid);
    await expect(store.ping()).rejects.toBe(unavailable);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not time sweepExpired or close', async () => {
    let finishSweep: (n: number) => void = () => {};
    const store = createTimeoutStore(withMethods({ sweepExpired: () => new Promise<number>((r) => (finishSweep = r)) }), { timeoutMs: 10 });
    const sweep = store.sweepExpired(NOW);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    finishSweep(3);
    await expect(sweep).resolves.toBe(3);
    await expect(store.close()).resolves.toBeUndefined();
  });
});

describe('createCircuitBreakerStore', () => {
  function breakerOver(fail: { error: Error | null }) {
    let clock = 0;
    let calls = 0;
    const inner = withMethods({
      getForDecision: () => {
        calls++;
        return fail.error ? Promise.reject(fail.error) : Promise.resolve(null);
      },
      ping: () => (fail.error ? Promise.reject(fail.error) : Promise.resolve()),
    });
    const store = createCircuitBreakerStore(inner, { failures: 3, openMs: 500, now: () => clock });
    return { store, calls: () => calls, advance: (ms: number) => (clock += ms) };
  }

  it('opens after consecutive StoreUnavailableErrors, skips the store while open, and tries it again after the window', async () => {
    const fail = { error: new StoreUnavailableError('down') as Error | null };
    const b = breakerOver(fail);
    for (let i = 0; i < 3; i++) await expect(b.store.getForDecision('c-1')).rejects.toBe(fail.error);
    expect(b.calls()).toBe(3);
    const skipped = await b.store.getForDecision('c-1').catch((e: unknown) => e);
    expect(skipped).toBeInstanceOf(StoreUnavailableError);
    expect((skipped as Error).message).toMatch(/skipped for 500 ms after 3 failures/);
    expect(b.calls()).toBe(3);

    b.advance(500);
    fail.error = null;
    await expect(b.store.getForDecision('c-1')).resolves.toBeNull();
    expect(b.calls()).toBe(4);
    // One success resets the count: a single failure does not reopen it.
    fail.error = new StoreUnavailableError('blip');
    await expect(b.store.getForDecision('c-1')).rejects.toBe(fail.error);
    fail.error = null;
    await expect(b.store.getForDecision('c-1')).resolves.toBeNull();
  });

  it('a failure after the window reopens it at once', async () => {
    const fail = { error: new StoreUnavailableError('down') as Error | null };
    const b = breakerOver(fail);
    for (let i = 0; i < 3; i++) await b.store.getForDecision('c-1').catch(() => undefined);
    b.advance(500);
    await expect(b.store.getForDecision('c-1')).rejects.toBe(fail.error);
    expect(b.calls()).toBe(4);
    await expect(b.store.getForDecision('c-1')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(b.calls()).toBe(4);
  });

  it('ignores errors that are not StoreUnavailableError', async () => {
    const fail = { error: new InvalidInputError('bad input') as Error | null };
    const b = breakerOver(fail);
    for (let i = 0; i < 5; i++) await expect(b.store.getForDecision('c-1')).rejects.toBe(fail.error);
    expect(b.calls()).toBe(5);
  });

  it('never opens for an error about one customer\'s data, stacked behind the timeout store as create-store does', async () => {
    let calls = 0;
    const dataError = new ProfileDataError('WRONGTYPE Operation against a key holding the wrong kind of value');
    const inner = withMethods({
      appendTouchpoints: () => {
        calls++;
        return Promise.reject(dataError);
      },
    });
    const store = createCircuitBreakerStore(createTimeoutStore(inner, { timeoutMs: 1000 }), { failures: 3, openMs: 500, now: () => 0 });
    for (let i = 0; i < 10; i++) await expect(store.appendTouchpoints('c-broken', [], NOW)).rejects.toBe(dataError);
    expect(calls).toBe(10);
    await expect(store.getForDecision('c-innocent')).resolves.toBeNull();
  });

  it('always lets ping through, and a good ping closes the circuit', async () => {
    const fail = { error: new StoreUnavailableError('down') as Error | null };
    const b = breakerOver(fail);
    for (let i = 0; i < 3; i++) await b.store.getForDecision('c-1').catch(() => undefined);
    await expect(b.store.ping()).rejects.toBe(fail.error);
    fail.error = null;
    await expect(b.store.ping()).resolves.toBeUndefined();
    await expect(b.store.getForDecision('c-1')).resolves.toBeNull();
    expect(b.calls()).toBe(4);
  });
});
