import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { PROFILE_STORE_METHODS, type ProfileStore } from '../../src/profiles/store.js';
import { wrapStore } from '../../src/profiles/wrap-store.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');

describe('wrapStore', () => {
  it('puts every listed method but the exempt ones through `around`, with the arguments and result of the inner call', async () => {
    const inner = createMemoryStore({ retentionDays: 365, maxTouchpointsPerProfile: 100, now: () => NOW });
    const seen: string[] = [];
    const store = wrapStore(
      inner,
      PROFILE_STORE_METHODS,
      async (method, call) => {
        seen.push(method);
        return call();
      },
      { exempt: ['close'] },
    );
    expect(store.kind).toBe('memory');
    const touchpoints = [{ id: 'tp-1', type: 'page_view', channel: 'web', at: NOW, properties: null }];
    expect(await store.appendTouchpoints('c-1', touchpoints, NOW)).toMatchObject({ accepted: 1, duplicates: 0, expired: 0 });
    expect((await store.get('c-1'))?.touchpoints).toHaveLength(1);
    expect([...(await store.getMany(['c-1', 'c-2'])).keys()]).toEqual(['c-1']);
    expect((await store.getForDecision('c-1'))?.types).toEqual(['page_view']);
    expect([...(await store.getManyForDecision(['c-1'])).keys()]).toEqual(['c-1']);
    expect((await store.patch('c-1', { stage: 'purchase' }, NOW)).stage).toBe('purchase');
    expect(await store.sweepExpired(NOW)).toBe(0);
    await store.ping();
    expect(await store.delete('c-1')).toBe(true);
    await store.close();
    expect(seen).toEqual(['appendTouchpoints', 'get', 'getMany', 'getForDecision', 'getManyForDecision', 'patch', 'sweepExpired', 'ping', 'delete']);
  });

  it('looks the inner method up at each call, and keeps properties it does not wrap', async () => {
    const inner: ProfileStore & { extra: string } = {
      ...createMemoryStore({ retentionDays: 365, maxTouchpointsPerProfile: 100 }),
      kind: 'test',
      extra: 'kept',
    };
    const store = wrapStore(inner, PROFILE_STORE_METHODS, (_method, call) => call());
    inner.ping = () => Promise.reject(new Error('replaced after wrapping'));
    await expect(store.ping()).rejects.toThrow('replaced after wrapping');
    expect(store.extra).toBe('kept');
  });
});
