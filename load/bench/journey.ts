/**
 * Section (h): the journey map (GET /v1/reports/journey) over 100,000 stored
 * customers in SQLite: the first computation (a request waits for it), and
 * the answer once the map is kept. The contract's target: within 5 s on 2 cores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSqliteStore } from '../../src/profiles/sqlite-store.js';
import { createJourneyReports } from '../../src/reports/journey-job.js';
import type { RulesetSnapshot } from '../../src/ruleset/snapshot.js';
import { generateProfile } from './profiles.js';

export interface JourneyResults {
  customers: number;
  touchpointsPerCustomer: number;
  seedSeconds: number;
  firstComputationSeconds: number;
  keptAnswerMs: number;
  stages: Record<string, number>;
}

export async function journeySection(
  options: { customers: number; touchpoints: number; now: number },
  snapshot: RulesetSnapshot,
  progress: (line: string) => void,
  out: (line?: string) => void,
): Promise<JourneyResults> {
  const dir = await mkdtemp(join(os.tmpdir(), 'nextbest-bench-journey-'));
  const store = createSqliteStore({ path: join(dir, 'profiles.db'), retentionDays: 365, maxTouchpointsPerProfile: 1000, synchronous: 'NORMAL' });
  try {
    progress(`(h) seeding ${options.customers} customers with ${options.touchpoints} touchpoints each into SQLite`);
    const seedStart = performance.now();
    const chunk = 500;
    for (let start = 0; start < options.customers; start += chunk) {
      const writes: Array<Promise<unknown>> = [];
      for (let i = start; i < Math.min(start + chunk, options.customers); i++) {
        const profile = generateProfile(i, { now: options.now, touchpoints: options.touchpoints });
        writes.push(store.appendTouchpoints(profile.customerId, profile.touchpoints, options.now));
        if (Object.keys(profile.attributes).length > 0) writes.push(store.patch(profile.customerId, { attributes: profile.attributes }, options.now));
      }
      await Promise.all(writes);
    }
    const seedSeconds = (performance.now() - seedStart) / 1000;

    progress('(h) computing the journey map (days=30)');
    const reports = createJourneyReports({ store, snapshot: () => snapshot, maxAgeMs: 60_000 });
    const firstStart = performance.now();
    const map = await reports.get(30);
    const firstComputationSeconds = (performance.now() - firstStart) / 1000;
    const keptStart = performance.now();
    await reports.get(30);
    const keptAnswerMs = performance.now() - keptStart;

    out();
    out('## (h) Journey map over the SQLite store');
    out(`${map.customers} customers, ${options.touchpoints} touchpoints each (seeded in ${seedSeconds.toFixed(1)} s)`);
    out(`first computation (a first request waits for it): ${firstComputationSeconds.toFixed(2)} s (target: within 5 s on 2 cores)`);
    out(`answer while the map is kept: ${keptAnswerMs.toFixed(2)} ms`);
    out(`stages now: ${map.stages.map((s) => `${s.stage} ${s.customers}`).join(', ')}`);
    return {
      customers: map.customers,
      touchpointsPerCustomer: options.touchpoints,
      seedSeconds,
      firstComputationSeconds,
      keptAnswerMs,
      stages: Object.fromEntries(map.stages.map((s) => [s.stage, s.customers])),
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
