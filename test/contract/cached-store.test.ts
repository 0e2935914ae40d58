import path from 'node:path';
import { createCachedStore } from '../../src/profiles/cached-store.js';
import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import type { ProfileStore, StoreLimits } from '../../src/profiles/store.js';
import { runProfileStoreContract } from './profile-store.contract.js';
import { makeTempDir } from './temp-dir.js';

function cacheOver(inner: ProfileStore, limits: StoreLimits) {
  return createCachedStore(inner, { max: 100, retentionDays: limits.retentionDays, ...(limits.now ? { now: limits.now } : {}) });
}

runProfileStoreContract('cached(memory)', async (limits) => {
  const store = cacheOver(createMemoryStore(limits), limits);
  return { store, cleanup: () => store.close() };
});

runProfileStoreContract('cached(sqlite)', async (limits) => {
  const temp = makeTempDir();
  const store = cacheOver(createSqliteStore({ ...limits, path: path.join(temp.dir, 'profiles.db') }), limits);
  return {
    store,
    async cleanup() {
      await store.close();
      temp.remove();
    },
  };
});

// A cache too small for the suite's profiles keeps evicting, which exercises the miss paths.
runProfileStoreContract('cached(memory), one entry', async (limits) => {
  const store = createCachedStore(createMemoryStore(limits), { max: 1, retentionDays: limits.retentionDays, ...(limits.now ? { now: limits.now } : {}) });
  return { store, cleanup: () => store.close() };
});
