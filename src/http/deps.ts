import type { Logger } from '../logger.js';
import type { ProfileStore } from '../profiles/store.js';
import type { RulesStatus } from '../reload/registry.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
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
}

export interface ResolvedDeps extends Required<AppDeps> {
  /** The snapshot to use for this request, or a 503 when no rules are loaded yet. */
  snapshot(): RulesetSnapshot;
}

export function resolveDeps(deps: AppDeps): ResolvedDeps {
  return {
    now: Date.now,
    newId: () => crypto.randomUUID(),
    maxBodyBytes: 1024 * 1024,
    ...deps,
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
