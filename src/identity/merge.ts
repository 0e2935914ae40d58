/**
 * What one customer's data becomes when another id is merged into it
 * (contract section 11): pure functions, used by the memory store as they
 * are and by the other stores for the parts they do not do in their own
 * language (SQL, Lua): attributes and the stage.
 */
import { InvalidInputError } from '../domain/errors.js';
import { FORBIDDEN_KEYS, isPlainObject, jsonByteLength, type Json, type JsonObject } from '../domain/json.js';
import { outcomesNewestFirst, type StoredOutcome } from '../domain/outcome.js';
import { MAX_ATTRIBUTES_BYTES, type Profile } from '../domain/profile.js';
import type { StoredTouchpoint } from '../domain/touchpoint.js';

export interface MergeLimits {
  /** Touchpoints and outcomes with `at` before this are dropped. */
  oldestKept: number;
  maxTouchpointsPerProfile: number;
}

/**
 * The attributes of the merged customer: every key of both, the canonical
 * value winning a conflict; where both hold an object, they merge the same
 * way one level down. Forbidden keys (`__proto__` and friends) of the alias
 * are skipped. Throws InvalidInputError naming `$.alias` when the result
 * would outgrow MAX_ATTRIBUTES_BYTES: a merge that cannot keep everything
 * is refused rather than half done.
 */
export function mergeAttributes(canonical: JsonObject, alias: JsonObject): JsonObject {
  const merged = mergeObjects(canonical, alias);
  const bytes = jsonByteLength(merged);
  if (bytes > MAX_ATTRIBUTES_BYTES) {
    const message = `the merged attributes would take ${bytes} bytes as JSON; at most ${MAX_ATTRIBUTES_BYTES} are allowed`;
    throw new InvalidInputError(message, [{ path: '$.alias', message }]);
  }
  return merged;
}

function mergeObjects(canonical: JsonObject, alias: JsonObject): JsonObject {
  const result: JsonObject = {};
  for (const key of Object.keys(alias)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    result[key] = alias[key] as Json;
  }
  for (const key of Object.keys(canonical)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const mine = canonical[key] as Json;
    const theirs = result[key];
    result[key] = isPlainObject(mine) && isPlainObject(theirs) ? mergeObjects(mine as JsonObject, theirs as JsonObject) : mine;
  }
  return result;
}

/** The explicit stage of the merged customer: the canonical one's if set, else the alias's. */
export function mergeStage(canonical: string | null, alias: string | null): string | null {
  return canonical ?? alias;
}

/**
 * Both timelines as one, newest first: the alias's touchpoints whose id the
 * canonical customer already holds are dropped, as are those past retention;
 * then the newest `maxTouchpointsPerProfile` are kept. Among equal times the
 * alias's come first, as touchpoints stored later do.
 */
export function mergeTouchpoints(canonical: readonly StoredTouchpoint[], alias: readonly StoredTouchpoint[], limits: MergeLimits): StoredTouchpoint[] {
  const ids = new Set<string>();
  for (const tp of canonical) if (tp.id !== null) ids.add(tp.id);
  const added = alias.filter((tp) => {
    if (tp.at < limits.oldestKept) return false;
    if (tp.id === null) return true;
    if (ids.has(tp.id)) return false;
    ids.add(tp.id);
    return true;
  });
  const all = added.concat(canonical.filter((tp) => tp.at >= limits.oldestKept));
  // Stable: among equal times, the alias's (first here) stay first.
  all.sort((a, b) => b.at - a.at);
  if (all.length > limits.maxTouchpointsPerProfile) all.length = limits.maxTouchpointsPerProfile;
  return all;
}

/** What makes an outcome a duplicate of another of the same customer: decision, placement, item and kind. */
export function outcomeKey(outcome: Pick<StoredOutcome, 'decisionId' | 'placement' | 'item' | 'kind'>): string {
  return `${outcome.decisionId}\n${outcome.placement}\n${outcome.item}\n${outcome.kind}`;
}

/** Both customers' outcomes, newest first, each decision, placement, item and kind once (the canonical's copy kept), within retention. */
export function mergeOutcomes(canonical: readonly StoredOutcome[], alias: readonly StoredOutcome[], limits: Pick<MergeLimits, 'oldestKept'>): StoredOutcome[] {
  const keys = new Set(canonical.map(outcomeKey));
  const added = alias.filter((outcome) => {
    if (outcome.at < limits.oldestKept) return false;
    const key = outcomeKey(outcome);
    if (keys.has(key)) return false;
    keys.add(key);
    return true;
  });
  return added.concat(canonical.filter((outcome) => outcome.at >= limits.oldestKept)).sort(outcomesNewestFirst);
}

/** The aliases of the merged customer, sorted: the canonical's, the alias itself and the alias's own (chains flattened). */
export function mergeAliases(canonicalId: string, canonical: readonly string[], aliasId: string, alias: readonly string[]): string[] {
  const all = new Set([...canonical, aliasId, ...alias]);
  all.delete(canonicalId);
  return [...all].sort();
}

/**
 * The canonical customer after `aliasId` is merged into it; either profile
 * may be null (never seen). The customer exists since the earlier of the two.
 */
export function mergeProfiles(canonicalId: string, canonical: Profile | null, aliasId: string, alias: Profile | null, limits: MergeLimits, now: number): Profile {
  return {
    customerId: canonicalId,
    attributes: mergeAttributes(canonical?.attributes ?? {}, alias?.attributes ?? {}),
    stage: mergeStage(canonical?.stage ?? null, alias?.stage ?? null),
    touchpoints: mergeTouchpoints(canonical?.touchpoints ?? [], alias?.touchpoints ?? [], limits),
    outcomes: mergeOutcomes(canonical?.outcomes ?? [], alias?.outcomes ?? [], limits),
    aliases: mergeAliases(canonicalId, canonical?.aliases ?? [], aliasId, alias?.aliases ?? []),
    createdAt: Math.min(canonical?.createdAt ?? now, alias?.createdAt ?? now),
    updatedAt: now,
  };
}
