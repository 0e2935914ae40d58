import { createMemoryReportStore } from '../../src/reports/memory-report-store.js';
import { runReportStoreContract } from './report-store.contract.js';

runReportStoreContract('memory', async (options) => {
  const store = createMemoryReportStore(options);
  return { store, cleanup: () => store.close() };
});
