/**
 * Holds the rules snapshot that requests read. A reload builds the next
 * snapshot aside and swaps one reference; a reload with any error records the
 * errors and keeps the last good snapshot serving.
 */
import type { RuleError } from '../domain/rule-files.js';
import type { Logger } from '../observability/logger.js';
import { buildRuleset } from '../ruleset/build.js';
import type { MatcherFactory } from '../conditions/matcher.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { readRulesDir } from './read-rules-dir.js';

export interface RulesStatus {
  version: string | null;
  loadedAt: string | null;
  placements: string[];
  /** The errors of the latest failed load; empty after a good one. */
  errors: RuleError[];
  warnings: RuleError[];
  reloads: { success: number; failure: number };
}

export interface ReloadOutcome {
  ok: boolean;
  changed: boolean;
  version: string | null;
  errors: RuleError[];
}

export interface RuleRegistry {
  /** The snapshot to serve; null until the first good load. */
  readonly current: RulesetSnapshot | null;
  status(): RulesStatus;
  reload(): Promise<ReloadOutcome>;
}

export interface RuleRegistryOptions {
  dir: string;
  logger: Logger;
  now?: () => number;
  createMatcher?: MatcherFactory;
}

export function createRuleRegistry(options: RuleRegistryOptions): RuleRegistry {
  const now = options.now ?? Date.now;
  let current: RulesetSnapshot | null = null;
  let errors: RuleError[] = [];
  let warnings: RuleError[] = [];
  const reloads = { success: 0, failure: 0 };
  let running: Promise<ReloadOutcome> | null = null;
  let queued: Promise<ReloadOutcome> | null = null;

  async function load(): Promise<ReloadOutcome> {
    let result;
    try {
      const sources = await readRulesDir(options.dir);
      result = buildRuleset(sources, { now: now(), ...(options.createMatcher ? { createMatcher: options.createMatcher } : {}) });
    } catch (err) {
      result = { snapshot: null, errors: [{ file: '.', path: '$', message: (err as Error).message }], warnings: [] };
    }
    if (!result.snapshot) {
      reloads.failure++;
      errors = result.errors;
      options.logger.error('rules rejected; the last good rules keep serving', {
        version: current?.version ?? null,
        errors: result.errors,
      });
      return { ok: false, changed: false, version: current?.version ?? null, errors: result.errors };
    }
    reloads.success++;
    errors = [];
    warnings = result.warnings;
    const changed = current?.version !== result.snapshot.version;
    if (changed) {
      current = result.snapshot;
      options.logger.info('rules loaded', {
        version: current.version,
        placements: [...current.placements.keys()],
        warnings: result.warnings,
      });
    }
    return { ok: true, changed, version: current?.version ?? null, errors: [] };
  }

  return {
    get current() {
      return current;
    },
    status(): RulesStatus {
      return {
        version: current?.version ?? null,
        loadedAt: current?.loadedAt ?? null,
        placements: current ? [...current.placements.keys()].sort() : [],
        errors,
        warnings,
        reloads: { ...reloads },
      };
    },
    // Reloads never overlap: one that is asked for while another runs waits for it, and requests that pile up share one.
    reload(): Promise<ReloadOutcome> {
      if (!running) {
        running = load().finally(() => {
          running = null;
        });
        return running;
      }
      if (!queued) {
        queued = running.then(() => {
          queued = null;
          return this.reload();
        });
      }
      return queued;
    },
  };
}
