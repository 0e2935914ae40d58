/**
 * Holds the rules snapshot that requests read. A reload builds the next
 * snapshot aside and swaps one reference; a reload with any error records the
 * errors and keeps the last good snapshot serving.
 *
 * A reload reads and checks the files in a worker thread (rules-loader.ts)
 * and compiles the result here one placement at a time, yielding to the
 * event loop in between, so requests and /healthz keep being answered while
 * even a large rule set loads.
 */
import type { RuleError } from '../domain/rule-files.js';
import type { Logger } from '../observability/logger.js';
import { createCompiledMatcher } from '../conditions/compiled-matcher.js';
import type { MatcherFactory } from '../conditions/matcher.js';
import { compileRulesetInSlices } from '../ruleset/compile.js';
import { DEFAULT_RULE_LIMITS, type RuleLimits } from '../ruleset/limits.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { createWorkerLoader, type LoadedRules, type RulesLoader } from './rules-loader.js';

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
  /** Nothing was loaded: the files are as they were at the last load (reloadIfChanged only). */
  skipped: boolean;
  version: string | null;
  errors: RuleError[];
}

export interface RuleRegistry {
  /** The snapshot to serve; null until the first good load. */
  readonly current: RulesetSnapshot | null;
  status(): RulesStatus;
  /** Loads the rules folder whatever it holds: at start-up, and on SIGHUP. */
  reload(): Promise<ReloadOutcome>;
  /**
   * Loads the rules folder only if its content differs from that of the last
   * load, good or failed: the watcher's file events and its poll both see one
   * change, and it must load (and log, and count) once.
   */
  reloadIfChanged(): Promise<ReloadOutcome>;
}

export interface RuleRegistryOptions {
  dir: string;
  logger: Logger;
  now?: () => number;
  createMatcher?: MatcherFactory;
  limits?: RuleLimits;
  /** Where the files are read and checked; default: a worker thread shared by every registry. */
  loader?: RulesLoader;
  /** Awaited before each compile slice; default: until the event loop has had a turn (setImmediate). */
  pause?: () => Promise<void>;
  /**
   * Told each snapshot swapped in, the first included, right after the swap
   * (main.ts shares its decision names through the store). Must not throw; it
   * is not awaited.
   */
  onSwap?: (snapshot: RulesetSnapshot) => void;
}

let sharedLoader: RulesLoader | null = null;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function createRuleRegistry(options: RuleRegistryOptions): RuleRegistry {
  const now = options.now ?? Date.now;
  const limits = options.limits ?? DEFAULT_RULE_LIMITS;
  const loader = options.loader ?? (sharedLoader ??= createWorkerLoader());
  const createMatcher = options.createMatcher ?? createCompiledMatcher;
  const pause = options.pause ?? nextTurn;
  let current: RulesetSnapshot | null = null;
  let errors: RuleError[] = [];
  let warnings: RuleError[] = [];
  const reloads = { success: 0, failure: 0 };
  /** The content key of the files last loaded, and whether that load failed. */
  let lastKey: string | null = null;
  let lastFailed = false;
  let running: Promise<ReloadOutcome> | null = null;
  let queued: Promise<ReloadOutcome> | null = null;
  let queuedForce = false;

  const failure = (message: string): RuleError[] => [{ file: '.', path: '$', message }];

  async function load(force: boolean): Promise<ReloadOutcome> {
    const at = now();
    let loaded: LoadedRules;
    try {
      loaded = await loader.load({ dir: options.dir, now: at, limits, unlessKey: force ? null : lastKey });
    } catch (err) {
      // The worker died (out of memory, say): not the files' fault as far as we know, so the same files may be tried again.
      return reject(failure(`the rules could not be read and checked: ${(err as Error).message}`), lastKey);
    }
    if (loaded.status === 'unchanged') {
      return { ok: !lastFailed, changed: false, skipped: true, version: current?.version ?? null, errors: lastFailed ? errors : [] };
    }
    if (!loaded.parts) return reject(loaded.errors, loaded.key);
    let snapshot: RulesetSnapshot;
    try {
      snapshot = await compileRulesetInSlices(loaded.parts, { version: loaded.version, now: at, createMatcher, warnings: loaded.warnings, pause });
    } catch (err) {
      return reject(failure(`the rules could not be compiled: ${(err as Error).message}`), loaded.key);
    }
    lastKey = loaded.key;
    reloads.success++;
    errors = [];
    warnings = loaded.warnings;
    const changed = current?.version !== snapshot.version;
    if (changed) {
      current = snapshot;
      options.onSwap?.(snapshot);
    }
    const recovered = lastFailed;
    lastFailed = false;
    if (changed || recovered) {
      options.logger.info(recovered ? 'rules recovered' : 'rules loaded', {
        version: current?.version,
        placements: current ? [...current.placements.keys()] : [],
        warnings: loaded.warnings,
      });
    }
    return { ok: true, changed, skipped: false, version: current?.version ?? null, errors: [] };
  }

  function reject(found: RuleError[], key: string | null): ReloadOutcome {
    lastKey = key;
    lastFailed = true;
    reloads.failure++;
    errors = found;
    options.logger.error(current ? 'rules rejected; the last good rules keep serving' : 'rules rejected; no rules are loaded yet, so none are served', {
      version: current?.version ?? null,
      errors: found,
    });
    return { ok: false, changed: false, skipped: false, version: current?.version ?? null, errors: found };
  }

  // Reloads never overlap: one that is asked for while another runs waits for it, and requests that pile up share one.
  function request(force: boolean): Promise<ReloadOutcome> {
    if (!running) {
      running = load(force).finally(() => {
        running = null;
      });
      return running;
    }
    queuedForce ||= force;
    queued ??= running.then(() => {
      queued = null;
      const forced = queuedForce;
      queuedForce = false;
      return request(forced);
    });
    return queued;
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
    reload: () => request(true),
    reloadIfChanged: () => request(false),
  };
}
