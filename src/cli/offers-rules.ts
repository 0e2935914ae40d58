/**
 * What `nextbest offers` reads in its own thread before its decision workers
 * are ready: the configuration `serve` would read, and the rules folder read
 * and checked once for the run (kept apart from offers-local.ts, which loads
 * the stores and everything a decision needs, for the workers alone).
 */
import { ConfigError, loadConfig, type Config } from '../config.js';
import { checkAnswer } from '../reload/check-answer.js';
import { OffersError } from './offers-error.js';
import type { CheckedRules } from '../reload/rules-loader.js';

/** The configuration `serve` would read from env; a bad value is an OffersError. */
export function configOf(env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new OffersError(err.message);
    throw err;
  }
}

/**
 * The rules folder read and checked once for a run, in this thread, for every
 * decision worker to compile (`openLocalDecisions` with `rules`): each worker
 * reading and checking a thousand rules itself, in a thread of its own, was
 * most of a run's start.
 */
export async function checkRulesOnce(env: NodeJS.ProcessEnv): Promise<CheckedRules> {
  const config = configOf(env);
  return checkAnswer({ dir: config.rulesDir, now: Date.now(), limits: config.ruleLimits });
}
