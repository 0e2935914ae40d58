import type { DecisionProfile } from '../domain/decision-profile.js';
import type { JsonObject } from '../domain/json.js';
import type { OutcomeKind, StoredOutcome } from '../domain/outcome.js';
import type { Profile } from '../domain/profile.js';
import type { StoredTouchpoint } from '../domain/touchpoint.js';
import { methodList, type AsyncMethodName } from './wrap-store.js';

export interface AppendResult {
  /** The canonical id the touchpoints landed on: the one asked for, or the customer it is an alias of. */
  customerId: string;
  /** Touchpoints newly stored (an old one may be dropped at once by the cap). */
  accepted: number;
  /** Touchpoints skipped because one with the same id was already stored for the customer. */
  duplicates: number;
  /**
   * Touchpoints not stored because they were already older than retention
   * (`at` before now minus the retention): they would be dropped at once, so
   * they are neither stored nor checked for duplicates.
   */
  expired: number;
}

export interface OutcomeAppendResult {
  /** The canonical id the outcomes landed on. */
  customerId: string;
  /** Outcomes newly stored. */
  accepted: number;
  /** Outcomes skipped: one of the same decision, placement, item and kind was already stored for the customer. */
  duplicates: number;
  /** The accepted ones per kind (nextbest_outcomes_total{kind}). */
  acceptedByKind: Partial<Record<OutcomeKind, number>>;
}

/** Counts outcomes per kind. */
export function countByKind(outcomes: ReadonlyArray<{ kind: OutcomeKind }>): Partial<Record<OutcomeKind, number>> {
  const counts: Partial<Record<OutcomeKind, number>> = {};
  for (const { kind } of outcomes) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** How many outcomes of one kind for one item, of every customer, have an `at` on one UTC day. */
export interface OutcomeDayCount {
  item: string;
  kind: OutcomeKind;
  /** The UTC day: floor(at / DAY_MS). */
  day: number;
  count: number;
}

export interface DecisionReadOptions {
  /**
   * False: a cache in front answers from what it holds but keeps nothing it
   * reads from the store for this call. For a pass over many customers, each
   * once (the decision stream, `nextbest offers`): caching them would only
   * push the hot ones out and churn the heap. The store is written through
   * (a write invalidates what is cached), so a read that goes past the cache
   * sees every write that has resolved. Default true. A backend told false
   * may let the profiles it answers share memory, as no one keeps one past
   * the others (the SQLite store puts a group's touchpoint times in one array).
   */
  cacheMisses?: boolean;
}

export interface DecisionProfilePage {
  profiles: DecisionProfile[];
  /** Where the next page starts; null when the scan is complete. */
  cursor: string | null;
}

export interface ProfileChange {
  /** A JSON merge patch (RFC 7386) applied to the attributes. */
  attributes?: JsonObject;
  /** A stage sets the explicit stage, null clears it, undefined leaves it. */
  stage?: string | null;
}

/**
 * What `addAlias` did (contract section 11). `merged`: the alias now belongs to
 * the canonical customer (`changed` false when it already did: a repeat is a
 * no-op); `conflict`: the alias already belongs to another customer;
 * `limit`: the canonical customer would have more than `max` aliases.
 */
export type AliasResult =
  | { kind: 'merged'; profile: Profile; changed: boolean }
  | { kind: 'conflict'; canonical: string }
  | { kind: 'limit'; max: number };

/**
 * Where profiles live. Every method is asynchronous so that network stores fit
 * the same port. Writes are durable when their promise resolves.
 */
export interface ProfileStore {
  readonly kind: string;
  /**
   * Every method taking a customer id resolves it first: an alias acts on its
   * canonical customer (contract section 11), whose id the profiles it returns carry.
   *
   * The profile, its touchpoints and outcomes newest first and within retention, its aliases; null if never seen.
   */
  get(customerId: string): Promise<Profile | null>;
  /** The profiles that exist among the ids; missing ones are absent from the map. */
  getMany(customerIds: readonly string[]): Promise<Map<string, Profile>>;
  /**
   * What a decision reads of the profile (`toDecisionProfile` of `get`): the
   * hot path. The profile cache serves it from memory; a backend may build it
   * without reading touchpoint ids and properties. Like `get`, a fresh copy
   * the caller may keep (the cache freezes it).
   */
  getForDecision(customerId: string): Promise<DecisionProfile | null>;
  /** The decision profiles that exist among the ids; missing ones are absent from the map. */
  getManyForDecision(customerIds: readonly string[], options?: DecisionReadOptions): Promise<Map<string, DecisionProfile>>;
  /**
   * Stores touchpoints (creating the profile), skipping those already past
   * retention and ids already stored, then applies retention and the cap.
   */
  appendTouchpoints(customerId: string, touchpoints: readonly StoredTouchpoint[], now: number): Promise<AppendResult>;
  /**
   * Stores outcomes (creating the profile), one per decision, placement, item
   * and kind: a repeat is a duplicate. Retention applies as to touchpoints.
   */
  appendOutcomes(customerId: string, outcomes: readonly StoredOutcome[], now: number): Promise<OutcomeAppendResult>;
  /**
   * Everyone's outcomes for these items, counted per item, kind and day,
   * within retention: what caps with `scope: "all"` count (read in the
   * background, never per decision). Days with no outcome are absent.
   */
  outcomeTotals(items: readonly string[], now: number): Promise<OutcomeDayCount[]>;
  /**
   * The value stored under `name` for every replica; stores `candidate` when
   * there is none yet and returns it. (The decision id key, when none is configured.)
   */
  sharedSecret(name: string, candidate: string): Promise<string>;
  /**
   * Numbers the names not numbered yet, after those that are, and returns the
   * whole list (contract section 8: the decision id's name dictionary). The
   * list only grows: a name keeps its number for every replica and across
   * restarts. Past MAX_DECISION_NAMES, names are left out (decision ids then
   * carry them in full). Adding a name already numbered changes nothing.
   */
  addDecisionNames(names: readonly string[]): Promise<DecisionNameList>;
  /** The whole list of numbered names, as addDecisionNames returns it. */
  decisionNames(): Promise<DecisionNameList>;
  /** Applies a change (creating the profile) and returns the profile after it. */
  patch(customerId: string, change: ProfileChange, now: number): Promise<Profile>;
  /**
   * One page of every stored profile, as decision profiles (reports that read
   * every customer: the journey map). Start with a null cursor and pass back
   * the cursor of each page until it is null. `limit` is a hint: a page may
   * hold a few more or fewer, even none before the end. A profile stored for
   * the whole scan is returned at least once; Redis may return one twice
   * (SCAN's guarantee), so callers that count keep the ids they have seen.
   */
  scanDecisionProfiles(cursor: string | null, limit: number): Promise<DecisionProfilePage>;
  /** Removes every trace of the customer, its canonical customer and all its aliases; false if there was none. */
  delete(customerId: string): Promise<boolean>;
  /** The canonical id of the customer: the one it is an alias of, else itself (seen or not). */
  resolve(customerId: string): Promise<string>;
  /**
   * Makes `alias` one customer with `customerId`'s canonical customer, merging
   * in what the alias had (identity/merge.ts), atomically: touchpoints
   * (deduplicated by id, retention and the cap applied), outcomes, attributes
   * (the canonical value wins), the explicit stage (the canonical one's if
   * set) and the alias's own aliases. Creates the canonical profile when
   * neither was seen. The caller refuses `alias` equal to `customerId`.
   */
  addAlias(customerId: string, alias: string, now: number): Promise<AliasResult>;
  /** Drops touchpoints and outcomes older than retention across all profiles; returns how many. */
  sweepExpired(now: number): Promise<number>;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The names decision ids refer to by number (placement names, item ids, rule
 * names), in order: the name of number i is at index i.
 */
export type DecisionNameList = readonly string[];

/** Most names the decision name list holds; later names are not numbered (ids carry them in full). */
export const MAX_DECISION_NAMES = 1_000_000;

/**
 * Every method of ProfileStore, for the decorators that wrap them all
 * (wrap-store.ts). The compiler rejects this list until a new method is on it.
 */
export const PROFILE_STORE_METHODS = methodList<ProfileStore>()([
  'get',
  'getMany',
  'getForDecision',
  'getManyForDecision',
  'appendTouchpoints',
  'appendOutcomes',
  'outcomeTotals',
  'sharedSecret',
  'addDecisionNames',
  'decisionNames',
  'patch',
  'scanDecisionProfiles',
  'delete',
  'resolve',
  'addAlias',
  'sweepExpired',
  'ping',
  'close',
]);

export type ProfileStoreMethod = AsyncMethodName<ProfileStore>;

/**
 * Tells a replica's cache what other replicas changed. `suspend` means
 * notifications may be missed from now on (the subscription is down), `resume`
 * that they flow again and anything cached before may be stale.
 */
export interface ChangeListener {
  changed(customerId: string): void;
  suspend(): void;
  resume(): void;
}

/** A shared store's news of what other replicas wrote, for the profile cache in front of it. */
export interface ChangeFeed {
  /** Subscribes to the changes every replica publishes; one listener per store. */
  watchChanges(listener: ChangeListener): void;
}

export interface StoreLimits {
  retentionDays: number;
  maxTouchpointsPerProfile: number;
  /** Most aliases of one canonical customer (MAX_ALIASES_PER_CUSTOMER); default 100. */
  maxAliasesPerCustomer?: number;
  /** Most names the decision name list holds; default MAX_DECISION_NAMES (tests lower it). */
  maxDecisionNames?: number;
  /** The clock used to apply retention on reads. */
  now?: () => number;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

/** MAX_ALIASES_PER_CUSTOMER's default. */
export const DEFAULT_MAX_ALIASES_PER_CUSTOMER = 100;
