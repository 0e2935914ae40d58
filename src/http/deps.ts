import type { ApiKey } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { OutcomeTotals } from '../domain/outcome-totals.js';
import { createDecisionSigner, createKeyring, generateDecisionKey, type DecisionSigner } from '../outcomes/decision-id.js';
import type { ProfileStore } from '../profiles/store.js';
import { DEFAULT_REPORT_RETENTION_DAYS } from '../reports/report-store.js';
import { createMemoryReportStore } from '../reports/memory-report-store.js';
import { createReports, type Reports } from '../reports/reports.js';
import type { RulesStatus } from '../reload/registry.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { degradedWarner, type DegradedWarner } from './degraded-warning.js';
import { noMetrics, type Metrics } from '../observability/metrics-hooks.js';
import { HttpProblem, PROBLEM_TYPES } from './problem.js';

export interface RulesPort {
  readonly current: RulesetSnapshot | null;
  status(): RulesStatus;
}

export interface AppDeps {
  rules: RulesPort;
  store: ProfileStore;
  logger: Logger;
  now?: () => number;
  newId?: () => string;
  /** Largest accepted request body; contract: 1 MB. */
  maxBodyBytes?: number;
  /** API keys and their scopes (auth.ts); null or absent: no authentication. */
  apiKeys?: readonly ApiKey[] | null;
  /** Origins browsers may call the API from (cors.ts); empty or absent: no CORS headers. `*`: any. */
  corsOrigins?: readonly string[];
  /** Prometheus metrics (observability/metrics.ts): fed by the routes and served at GET /metrics; absent: neither. */
  metrics?: Metrics;
  /** Signs decision ids and verifies those outcomes bring back; absent: a key of this process only, every name in full. */
  signer?: DecisionSigner;
  /** Everyone's outcome counts, for caps with scope "all"; absent: they count nothing. */
  outcomeTotals?: OutcomeTotals | null;
  /** A journey map older than this is recomputed in the background when next asked for (reports/journey-job.ts). */
  journeyMaxAgeMs?: number;
  /** Report aggregates, served counts and optimize's statistics; absent: kept in memory. */
  reports?: Reports;
  /** The random source decisions of optimized placements draw from; default Math.random. */
  random?: () => number;
}

export interface ResolvedDeps extends Required<AppDeps> {
  /** The snapshot to use for this request, or a 503 when no rules are loaded yet. */
  snapshot(): RulesetSnapshot;
  /** Logs, now and then, decisions made blind because the profile store failed. */
  warnDegraded: DegradedWarner;
}

export function resolveDeps(deps: AppDeps): ResolvedDeps {
  return {
    now: Date.now,
    newId: () => crypto.randomUUID(),
    maxBodyBytes: 1024 * 1024,
    apiKeys: null,
    corsOrigins: [],
    metrics: noMetrics,
    outcomeTotals: null,
    journeyMaxAgeMs: 60_000,
    random: Math.random,
    ...deps,
    signer: deps.signer ?? createDecisionSigner(createKeyring([generateDecisionKey()])),
    reports:
      deps.reports ??
      createReports({
        store: createMemoryReportStore({ retentionDays: DEFAULT_REPORT_RETENTION_DAYS, ...(deps.now ? { now: deps.now } : {}) }),
        rules: () => deps.rules.current,
        ...(deps.now ? { now: deps.now } : {}),
      }),
    warnDegraded: degradedWarner(deps.logger),
    snapshot(): RulesetSnapshot {
      const current = deps.rules.current;
      if (!current) {
        throw new HttpProblem(
          { type: PROBLEM_TYPES.notReady, title: 'Not ready', status: 503, detail: 'no rules are loaded yet' },
          { 'Retry-After': '1' },
        );
      }
      return current;
    },
  };
}
