import { StoreUnavailableError } from '../domain/errors.js';
import { toDecisionProfile, type DecisionProfile } from '../domain/decision-profile.js';
import type { JsonObject } from '../domain/json.js';
import { outcomesNewestFirst, type StoredOutcome } from '../domain/outcome.js';
import type { Profile } from '../domain/profile.js';
import type { StoredTouchpoint } from '../domain/touchpoint.js';
import { mergeAliases, mergeAttributes, mergeOutcomes, mergeStage, mergeTouchpoints, outcomeKey } from '../identity/merge.js';
import { cloneJson } from './clone-json.js';
import { patchAttributes } from './patch-attributes.js';
import { countByKind, DAY_MS, DEFAULT_MAX_ALIASES_PER_CUSTOMER, MAX_DECISION_NAMES, type AliasResult, type AppendResult, type OutcomeAppendResult, type OutcomeDayCount, type ProfileChange, type ProfileStore, type StoreLimits } from './store.js';

/** A stored touchpoint with its insertion number, which breaks ties between equal `at` (later first). */
interface Entry {
  touchpoint: StoredTouchpoint;
  seq: number;
}

interface StoredProfile {
  customerId: string;
  attributes: JsonObject;
  stage: string | null;
  createdAt: number;
  updatedAt: number;
  /** Newest first: `at` descending, then `seq` descending. */
  entries: Entry[];
  /** Newest first (`at` descending; equal times keep the later stored first). */
  outcomes: StoredOutcome[];
  /** outcomeKey of every stored outcome: one per decision, placement, item and kind. */
  outcomeKeys: Set<string>;
  /** The other ids of this customer. */
  aliases: Set<string>;
}

/**
 * A profile store held in process memory: the fake of the port (tests, local
 * runs, a single replica that may lose its data on restart). Everything that
 * goes in or comes out is copied, so callers never share state with the store.
 */
export function createMemoryStore(limits: StoreLimits): ProfileStore {
  const records = new Map<string, StoredProfile>();
  /** alias -> canonical id: always one step (chains are flattened by addAlias). */
  const canonicalOf = new Map<string, string>();
  const resolve = (customerId: string): string => canonicalOf.get(customerId) ?? customerId;
  const maxAliases = limits.maxAliasesPerCustomer ?? DEFAULT_MAX_ALIASES_PER_CUSTOMER;
  const secrets = new Map<string, string>();
  /** The decision name list, and each name's number in it. */
  const decisionNames: string[] = [];
  const decisionNumbers = new Map<string, number>();
  const maxDecisionNames = limits.maxDecisionNames ?? MAX_DECISION_NAMES;
  const clock = limits.now ?? Date.now;
  let nextSeq = 1;
  let closed = false;

  const cutoff = (now: number): number => now - limits.retentionDays * DAY_MS;

  function ensureOpen(): void {
    if (closed) throw new StoreUnavailableError('the memory profile store is closed');
  }

  function recordFor(customerId: string, now: number): StoredProfile {
    let record = records.get(customerId);
    if (!record) {
      record = { customerId, attributes: {}, stage: null, createdAt: now, updatedAt: now, entries: [], outcomes: [], outcomeKeys: new Set(), aliases: new Set() };
      records.set(customerId, record);
    }
    return record;
  }

  /** The record as a profile; its touchpoints are the stored objects themselves unless `copy` maps them. */
  function toProfile(record: StoredProfile, now: number, copy: (tp: StoredTouchpoint) => StoredTouchpoint = copyTouchpoint): Profile {
    const oldestKept = cutoff(now);
    const touchpoints: StoredTouchpoint[] = [];
    for (const entry of record.entries) {
      // Entries are newest first, so the first expired one ends the visible part.
      if (entry.touchpoint.at < oldestKept) break;
      touchpoints.push(copy(entry.touchpoint));
    }
    const outcomes: StoredOutcome[] = [];
    for (const outcome of record.outcomes) {
      if (outcome.at < oldestKept) break;
      outcomes.push({ ...outcome });
    }
    return {
      customerId: record.customerId,
      attributes: cloneJson(record.attributes),
      stage: record.stage,
      touchpoints,
      outcomes,
      aliases: [...record.aliases].sort(),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  /**
   * The record as a decision profile. toDecisionProfile keeps none of the
   * touchpoints, only their type, channel and time, so they need no copy; the
   * attributes are copied (the cache freezes what it gets).
   */
  function toDecision(record: StoredProfile, now: number): DecisionProfile {
    return toDecisionProfile(toProfile(record, now, (tp) => tp));
  }

  function append(customerId: string, touchpoints: readonly StoredTouchpoint[], now: number): AppendResult {
    const record = recordFor(resolve(customerId), now);
    const oldestKept = cutoff(now);
    // Expired touchpoints go first so that an id whose touchpoint has aged out can be stored again.
    dropExpired(record, oldestKept);
    const seen = new Set<string>();
    for (const entry of record.entries) {
      if (entry.touchpoint.id !== null) seen.add(entry.touchpoint.id);
    }
    const added: Entry[] = [];
    let expired = 0;
    for (const touchpoint of touchpoints) {
      if (touchpoint.at < oldestKept) {
        expired++;
        continue;
      }
      if (touchpoint.id !== null) {
        if (seen.has(touchpoint.id)) continue;
        seen.add(touchpoint.id);
      }
      added.push({ touchpoint: copyTouchpoint(touchpoint), seq: nextSeq++ });
    }
    if (added.length > 0) {
      record.entries = record.entries.concat(added).sort(newestEntryFirst);
      if (record.entries.length > limits.maxTouchpointsPerProfile) record.entries.length = limits.maxTouchpointsPerProfile;
    }
    record.updatedAt = now;
    return { customerId: record.customerId, accepted: added.length, duplicates: touchpoints.length - added.length - expired, expired };
  }

  function appendOutcomes(customerId: string, outcomes: readonly StoredOutcome[], now: number): OutcomeAppendResult {
    const record = recordFor(resolve(customerId), now);
    dropExpiredOutcomes(record, cutoff(now));
    const added: StoredOutcome[] = [];
    for (const outcome of outcomes) {
      const key = outcomeKey(outcome);
      if (record.outcomeKeys.has(key)) continue;
      record.outcomeKeys.add(key);
      added.push({ ...outcome });
    }
    if (added.length > 0) {
      // Stable sort: among equal times, the later stored (put first here) stays first.
      record.outcomes = added.reverse().concat(record.outcomes).sort(outcomesNewestFirst);
    }
    record.updatedAt = now;
    return { customerId: record.customerId, accepted: added.length, duplicates: outcomes.length - added.length, acceptedByKind: countByKind(added) };
  }

  function outcomeTotals(items: readonly string[], now: number): OutcomeDayCount[] {
    const wanted = new Set(items);
    const oldestKept = cutoff(now);
    const counts = new Map<string, OutcomeDayCount>();
    for (const record of records.values()) {
      for (const outcome of record.outcomes) {
        if (outcome.at < oldestKept) break;
        if (!wanted.has(outcome.item)) continue;
        const day = Math.floor(outcome.at / DAY_MS);
        const key = `${outcome.item}\n${outcome.kind}\n${day}`;
        const known = counts.get(key);
        if (known) known.count++;
        else counts.set(key, { item: outcome.item, kind: outcome.kind, day, count: 1 });
      }
    }
    return [...counts.values()];
  }

  function patch(askedId: string, change: ProfileChange, now: number): Profile {
    const customerId = resolve(askedId);
    // Merged before the record is created, so a rejected patch leaves no trace.
    // The patch is cloned because the merge may adopt its arrays and objects.
    const attributes =
      change.attributes === undefined
        ? undefined
        : patchAttributes(records.get(customerId)?.attributes ?? {}, cloneJson(change.attributes));
    const record = recordFor(customerId, now);
    if (attributes !== undefined) record.attributes = attributes;
    if (change.stage !== undefined) record.stage = change.stage;
    record.updatedAt = now;
    return toProfile(record, now);
  }

  function addAlias(customerId: string, alias: string, now: number): AliasResult {
    const canonical = resolve(customerId);
    const owner = canonicalOf.get(alias);
    if (alias === canonical || owner === canonical) {
      return { kind: 'merged', profile: toProfile(recordFor(canonical, now), now), changed: false };
    }
    if (owner !== undefined) return { kind: 'conflict', canonical: owner };
    const target = records.get(canonical);
    const merged = records.get(alias);
    const aliases = mergeAliases(canonical, [...(target?.aliases ?? [])], alias, [...(merged?.aliases ?? [])]);
    if (aliases.length > maxAliases) return { kind: 'limit', max: maxAliases };
    // Everything that can fail is computed before the first change.
    const attributes = mergeAttributes(target?.attributes ?? {}, merged?.attributes ?? {});
    const record = recordFor(canonical, now);
    if (merged) {
      const mergeLimits = { oldestKept: cutoff(now), maxTouchpointsPerProfile: limits.maxTouchpointsPerProfile };
      const touchpoints = mergeTouchpoints(
        record.entries.map((e) => e.touchpoint),
        merged.entries.map((e) => e.touchpoint),
        mergeLimits,
      );
      // Renumbered oldest first, so that equal times keep the merged order (newestEntryFirst breaks ties by seq).
      const entries: Entry[] = new Array(touchpoints.length);
      for (let n = touchpoints.length - 1; n >= 0; n--) entries[n] = { touchpoint: touchpoints[n] as StoredTouchpoint, seq: nextSeq++ };
      record.entries = entries;
      record.outcomes = mergeOutcomes(record.outcomes, merged.outcomes, mergeLimits);
      record.outcomeKeys = new Set(record.outcomes.map(outcomeKey));
      record.stage = mergeStage(record.stage, merged.stage);
      record.createdAt = Math.min(record.createdAt, merged.createdAt);
      records.delete(alias);
    }
    record.attributes = attributes;
    record.aliases = new Set(aliases);
    for (const id of aliases) canonicalOf.set(id, canonical);
    record.updatedAt = now;
    return { kind: 'merged', profile: toProfile(record, now), changed: true };
  }

  function deleteCustomer(customerId: string): boolean {
    const canonical = resolve(customerId);
    const record = records.get(canonical);
    if (!record) return false;
    for (const alias of record.aliases) canonicalOf.delete(alias);
    return records.delete(canonical);
  }

  function sweep(now: number): number {
    let dropped = 0;
    const oldestKept = cutoff(now);
    for (const record of records.values()) dropped += dropExpired(record, oldestKept) + dropExpiredOutcomes(record, oldestKept);
    return dropped;
  }

  return {
    kind: 'memory',
    async get(customerId) {
      ensureOpen();
      const record = records.get(resolve(customerId));
      return record ? toProfile(record, clock()) : null;
    },
    async getMany(customerIds) {
      ensureOpen();
      const now = clock();
      const found = new Map<string, Profile>();
      for (const customerId of customerIds) {
        const record = records.get(resolve(customerId));
        if (record && !found.has(customerId)) found.set(customerId, toProfile(record, now));
      }
      return found;
    },
    async getForDecision(customerId) {
      ensureOpen();
      const record = records.get(resolve(customerId));
      return record ? toDecision(record, clock()) : null;
    },
    async getManyForDecision(customerIds) {
      ensureOpen();
      const now = clock();
      const found = new Map<string, DecisionProfile>();
      for (const customerId of customerIds) {
        const record = records.get(resolve(customerId));
        if (record && !found.has(customerId)) found.set(customerId, toDecision(record, now));
      }
      return found;
    },
    async appendTouchpoints(customerId, touchpoints, now) {
      ensureOpen();
      return append(customerId, touchpoints, now);
    },
    async appendOutcomes(customerId, outcomes, now) {
      ensureOpen();
      return appendOutcomes(customerId, outcomes, now);
    },
    async outcomeTotals(items, now) {
      ensureOpen();
      return outcomeTotals(items, now);
    },
    async sharedSecret(name, candidate) {
      ensureOpen();
      const known = secrets.get(name);
      if (known !== undefined) return known;
      secrets.set(name, candidate);
      return candidate;
    },
    async addDecisionNames(names) {
      ensureOpen();
      for (const name of names) {
        if (decisionNames.length >= maxDecisionNames) break;
        if (decisionNumbers.has(name)) continue;
        decisionNumbers.set(name, decisionNames.length);
        decisionNames.push(name);
      }
      return [...decisionNames];
    },
    async decisionNames() {
      ensureOpen();
      return [...decisionNames];
    },
    async patch(customerId, change, now) {
      ensureOpen();
      return patch(customerId, change, now);
    },
    async scanDecisionProfiles(cursor, limit) {
      ensureOpen();
      // Ids in order, the cursor the last id returned: deletes and inserts during a scan move nothing.
      const ids = [...records.keys()].filter((id) => cursor === null || id > cursor).sort();
      const page = ids.slice(0, Math.max(1, limit));
      const now = clock();
      const profiles = page.map((id) => toDecision(records.get(id) as StoredProfile, now));
      return { profiles, cursor: page.length < ids.length ? (page[page.length - 1] as string) : null };
    },
    async delete(customerId) {
      ensureOpen();
      return deleteCustomer(customerId);
    },
    async resolve(customerId) {
      ensureOpen();
      return resolve(customerId);
    },
    async addAlias(customerId, alias, now) {
      ensureOpen();
      return addAlias(customerId, alias, now);
    },
    async sweepExpired(now) {
      ensureOpen();
      return sweep(now);
    },
    async ping() {
      ensureOpen();
    },
    async close() {
      closed = true;
      records.clear();
      canonicalOf.clear();
    },
  };
}

function dropExpired(record: StoredProfile, oldestKept: number): number {
  const before = record.entries.length;
  // Newest first: expired entries form the tail.
  let keep = before;
  while (keep > 0 && (record.entries[keep - 1] as Entry).touchpoint.at < oldestKept) keep--;
  record.entries.length = keep;
  return before - keep;
}

/** Drops the outcomes older than retention (the tail), with their duplicate keys. */
function dropExpiredOutcomes(record: StoredProfile, oldestKept: number): number {
  const before = record.outcomes.length;
  let keep = before;
  while (keep > 0 && (record.outcomes[keep - 1] as StoredOutcome).at < oldestKept) {
    keep--;
    record.outcomeKeys.delete(outcomeKey(record.outcomes[keep] as StoredOutcome));
  }
  record.outcomes.length = keep;
  return before - keep;
}

function newestEntryFirst(a: Entry, b: Entry): number {
  return b.touchpoint.at - a.touchpoint.at || b.seq - a.seq;
}

function copyTouchpoint(touchpoint: StoredTouchpoint): StoredTouchpoint {
  return {
    id: touchpoint.id,
    type: touchpoint.type,
    channel: touchpoint.channel,
    at: touchpoint.at,
    properties: touchpoint.properties === null ? null : cloneJson(touchpoint.properties),
  };
}
