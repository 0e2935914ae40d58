import { createMemoryStore } from '../../src/profiles/memory-store.js';
import { runProfileStoreContract } from './profile-store.contract.js';

runProfileStoreContract('memory', async (limits) => {
  const store = createMemoryStore(limits);
  return { store, cleanup: () => store.close() };
});
