import path from 'node:path';
import { createSqliteReportStore } from '../../src/reports/sqlite-report-store.js';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import { describe, expect, it } from 'vitest';
import { runReportStoreContract } from './report-store.contract.js';
import { makeTempDir } from './temp-dir.js';

runReportStoreContract('sqlite', async (options) => {
  const temp = makeTempDir();
  const store = createSqliteReportStore({ ...options, path: path.join(temp.dir, 'nested', 'nextbest.db') });
  return {
    store,
    async cleanup() {
      await store.close();
      temp.remove();
    },
  };
});

describe('sqlite report store beside the profile store', () => {
  it('shares the profile store\'s file without touching its tables or schema version', async () => {
    const temp = makeTempDir();
    try {
      const file = path.join(temp.dir, 'nextbest.db');
      const profiles = createSqliteStore({ path: file, retentionDays: 30, maxTouchpointsPerProfile: 100 });
      const reports = createSqliteReportStore({ path: file, retentionDays: 410 });
      await profiles.patch('c-1', { attributes: { tier: 'gold' } }, Date.now());
      await reports.addServed([{ placement: 'p', rule: 'r', item: 'i', arm: null, day: new Date().toISOString().slice(0, 10), count: 2 }]);
      expect((await profiles.get('c-1'))?.attributes).toEqual({ tier: 'gold' });
      await reports.close();
      await profiles.close();
      // Opened again in the other order, both still work on the same file.
      const reopened = createSqliteStore({ path: file, retentionDays: 30, maxTouchpointsPerProfile: 100 });
      expect((await reopened.get('c-1'))?.attributes).toEqual({ tier: 'gold' });
      await reopened.close();
    } finally {
      temp.remove();
    }
  });
});
