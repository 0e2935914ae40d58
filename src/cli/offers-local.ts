/**
 * What `nextbest offers` decides with in local mode: the rules and the store
 * opened from the environment as `serve` opens them (the rules as the command
 * checked them once, when it gives them), and the decisions' dependencies as
 * the service's app resolves them. Each decision worker (offers-worker.ts)
 * opens its own.
 */
import { resolveDeps, type ResolvedDeps } from '../http/deps.js';
import { createLogger } from '../observability/logger.js';
import { createProfileStore, decisionKeyring, itemsCountingEveryone, matcherFor, shareDecisionNames } from '../composition.js';
import { createDecisionSigner } from '../outcomes/decision-id.js';
import type { DecisionNames } from '../outcomes/decision-names.js';
import { createSharedOutcomeTotals } from '../outcomes/shared-totals.js';
import { createRuleRegistry } from '../reload/registry.js';
import { checkedLoader } from '../reload/rules-loader.js';
import { formatRuleError } from '../ruleset/format.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { OffersError } from './offers-error.js';
import type { CheckedRules } from '../reload/rules-loader.js';
import { configOf } from './offers-rules.js';

export interface LocalDecisions {
  deps: ResolvedDeps;
  /** The rules the whole run decides with, as a stream uses the rules current when it began. */
  snapshot: RulesetSnapshot;
  /** Where the decisions come from, for messages. */
  source: string;
  /** The decision name list the ids are signed with; the decision workers all take their parent's (offers-transport.ts). */
  names: DecisionNames;
  close(): Promise<void>;
}

/** Opens the rules and the store; with `rules`, compiles those (checked by checkRulesOnce) rather than reading the folder. */
export async function openLocalDecisions(env: NodeJS.ProcessEnv, rules?: CheckedRules): Promise<LocalDecisions> {
  const config = configOf(env);
  // Warnings only, and to stderr: standard output may be the offers themselves.
  const logger = createLogger({ level: config.logLevel === 'silent' ? 'silent' : 'warn', destination: process.stderr });
  const registry = createRuleRegistry({
    dir: config.rulesDir,
    logger,
    createMatcher: matcherFor(config.evaluator),
    limits: config.ruleLimits,
    ...(rules ? { loader: checkedLoader(rules) } : {}),
  });
  const loaded = await registry.reload();
  if (!loaded.ok) throw new OffersError(`the rules in ${config.rulesDir} are invalid:\n${loaded.errors.map((e) => `  ${formatRuleError(e)}`).join('\n')}`);
  let store;
  try {
    store = createProfileStore({
      store: config.store,
      sqlitePath: config.sqlitePath,
      redisUrl: config.redisUrl,
      redisCluster: config.redisCluster,
      redisKeyPrefix: config.redisKeyPrefix,
      retentionDays: config.touchpointRetentionDays,
      maxTouchpointsPerProfile: config.maxTouchpointsPerProfile,
      maxAliasesPerCustomer: config.maxAliasesPerCustomer,
      // One pass over a list, each recipient once: a cache would only cost.
      cacheMax: 0,
      storeTimeoutMs: config.storeTimeoutMs,
    });
  } catch (err) {
    throw new OffersError(`cannot open the ${config.store} profile store: ${(err as Error).message}`);
  }
  // Decisions made here are decisions like any other (contract section 12): signed with the key the service
  // uses, so their outcomes are accepted, and capped with everyone's counts as the store holds them now.
  const keyring = await decisionKeyring(config, store, logger);
  // The rules' names numbered as the service numbers them, so the ids are as short as the service's.
  const names = await shareDecisionNames(store, registry.current, logger);
  const outcomeTotals = createSharedOutcomeTotals({ store, items: () => itemsCountingEveryone(registry.current) });
  try {
    await outcomeTotals.refresh();
  } catch (err) {
    logger.warn('cannot read everyone\'s outcome counts; caps with scope "all" count nothing in this run', { error: (err as Error).message });
  }
  const deps = resolveDeps({ rules: registry, store, logger, signer: createDecisionSigner(keyring.keyring, { names }), outcomeTotals });
  return {
    deps,
    snapshot: deps.snapshot(),
    source: config.store === 'sqlite' ? `the rules in ${config.rulesDir} and the store at ${config.sqlitePath}` : `the rules in ${config.rulesDir} and the ${config.store} store`,
    names,
    close: () => {
      keyring.stop();
      names.stop();
      return store.close();
    },
  };
}
