import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createRedisReportStore } from '../../src/reports/redis-report-store.js';
import { runReportStoreContract } from './report-store.contract.js';
import { startRedisCluster, type RedisCluster } from './redis-cluster.js';
import { waitReady } from './redis-helpers.js';

// A real three-master Redis Cluster: each script and each report's pipeline must keep to one placement's slot.
let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

runReportStoreContract(
  'redis cluster',
  async (options) => {
    const store = createRedisReportStore({ ...options, url: cluster.url, cluster: true, keyPrefix: `nbtest:${randomUUID()}:` });
    await waitReady(store);
    // The cluster is thrown away after the file, so the keys need no cleanup.
    return { store, cleanup: () => store.close() };
  },
  { expiresByItself: true },
);
