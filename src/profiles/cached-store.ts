import { LRUCache } from 'lru-cache';
import type { DecisionProfile } from '../domain/decision-profile.js';
import { StoreUnavailableError } from '../domain/errors.js';
import { DAY_MS, type AliasResult, type DecisionReadOptions, type ProfileStore } from './store.js';

export interface CacheStats {
  /** Decision reads served from a cached entry (a profile, or the knowledge that there is none). */
  hits: number;
  /** Decision reads that found no entry; several concurrent misses of one id share one inner read. */
  misses: number;
  /** Entries held now. */
  size: number;
  /** True while invalidations may be missed (see `suspend`): reads go to the store first. */
  suspended: boolean;
}

export interface CachedProfileStore extends ProfileStore {
  /** Forgets what is cached for the customer, e.g. after another replica wrote it. */
  invalidate(customerId: string): void;
  /**
   * Says that invalidations may be missed from now on (a shared store's change
   * feed is down): reads go to the store first, and an entry answers only when
   * the store fails, so decisions still see the cached profile in an outage.
   */
  suspend(): void;
  /** Invalidations flow again: forgets everything (some may have been missed) and serves from the cache again. */
  resume(): void;
  stats(): CacheStats;
}

export interface CachedStoreOptions {
  /** Most entries kept; 0 turns caching off (concurrent reads still share one inner read). */
  max: number;
  /**
   * The inner store's retention. With it, a cached profile hides touchpoints
   * that expire while it sits in the cache, exactly as the inner `get` would.
   */
  retentionDays?: number;
  /** The clock for that retention, the inner store's clock. */
  now?: () => number;
}

/** Stands for "no such customer": lru-cache cannot hold null, and unknown visitors are the common case. */
const ABSENT = Symbol('absent');
/** What readPast tells the store: nothing it answers is kept. */
const NOT_KEPT: DecisionReadOptions = Object.freeze({ cacheMisses: false });
type Entry = DecisionProfile | typeof ABSENT;

/** One inner read in progress. A write to its id marks it stale, so its result is returned but never cached. */
interface PendingRead {
  promise: Promise<DecisionProfile | null>;
  stale: boolean;
  /** `invalidations` when it started: a read that resolved an alias is cached only if nothing was invalidated meanwhile. */
  startedAt: number;
}

/**
 * An LRU cache of decision profiles in front of a ProfileStore.
 *
 * Only the compact `DecisionProfile` is cached: it is all the hot path reads,
 * and a full profile (every touchpoint an object with its id and properties)
 * costs several times the memory. `get` and `getMany` return full profiles
 * for the rare operator and CRM reads and go straight to the inner store.
 *
 * Decision profiles it returns are shared between callers and frozen: the
 * object, its attributes (deeply) and the `types` and `channels` arrays. The
 * `at` column is a Float64Array, which JavaScript cannot freeze; callers must
 * treat it as read-only (src/decide only reads it). Handing each caller a copy
 * instead would allocate a typed array with its own backing store on every
 * decision, on the path this cache exists to make fast.
 *
 * Coalescing and staleness are tracked here rather than with lru-cache's
 * `fetch`: a `delete` during a `fetch` aborts it and rejects every waiter,
 * while a read overlapping a write should simply answer and not be cached,
 * and `getManyForDecision` must load all its misses with a single inner call.
 */
export function createCachedStore(inner: ProfileStore, options: CachedStoreOptions): CachedProfileStore {
  /**
   * Aliases (contract section 11): an entry is keyed by the id asked for, and
   * an alias's entry is its canonical customer's profile (whose customerId
   * says so). A write through any id of a customer must drop the entries of
   * all of them, so this indexes, for each canonical id, the other keys whose
   * entry is its profile. Kept in step with the cache by `onInsert` and `dispose`.
   */
  const aliasKeys = new Map<string, Set<string>>();
  const indexAlias = (key: string, entry: Entry): void => {
    if (entry === ABSENT || entry.customerId === key) return;
    let keys = aliasKeys.get(entry.customerId);
    if (!keys) aliasKeys.set(entry.customerId, (keys = new Set()));
    keys.add(key);
  };
  const unindexAlias = (key: string, entry: Entry): void => {
    if (entry === ABSENT || entry.customerId === key) return;
    const keys = aliasKeys.get(entry.customerId);
    keys?.delete(key);
    if (keys?.size === 0) aliasKeys.delete(entry.customerId);
  };
  /** Counts invalidations: see PendingRead.startedAt. */
  let invalidations = 0;
  const newCache = () =>
    options.max > 0
      ? new LRUCache<string, Entry>({ max: options.max, dispose: (entry, key) => unindexAlias(key, entry), onInsert: (entry, key) => indexAlias(key, entry) })
      : null;
  let cache = newCache();
  /**
   * The entries cached before the last `resume`, and those of customers whose
   * last write failed for want of the store (`keepAsFallback`). They may be
   * stale, so they never answer a read by themselves: only when the store
   * fails, as a better answer than "new visitor" (a store that just came back
   * may still be refusing calls for a moment). The first successful read from
   * the store drops them.
   */
  let fallback: LRUCache<string, Entry> | null = null;
  const pending = new Map<string, PendingRead>();
  const clock = options.now ?? Date.now;
  let hits = 0;
  let misses = 0;
  let suspended = false;

  /** Forgets the customer under every id this cache knows it by: its own, its canonical one, its aliases'. */
  function invalidate(customerId: string): void {
    invalidations++;
    const entry = cache?.peek(customerId);
    const canonical = entry !== undefined && entry !== ABSENT ? entry.customerId : customerId;
    const ids = new Set([customerId, canonical, ...(aliasKeys.get(customerId) ?? []), ...(aliasKeys.get(canonical) ?? [])]);
    for (const id of ids) forgetId(id);
  }

  function forgetId(customerId: string): void {
    cache?.delete(customerId);
    fallback?.delete(customerId);
    const read = pending.get(customerId);
    if (read) {
      read.stale = true;
      pending.delete(customerId);
    }
  }

  function invalidateAll(): void {
    cache?.clear();
    fallback = null;
    for (const read of pending.values()) read.stale = true;
    pending.clear();
  }

  /** A miss: the store's answer, or when the store fails, an entry kept for that (see `fallback`). */
  async function readMissed(customerId: string): Promise<DecisionProfile | null> {
    misses++;
    try {
      return await (pending.get(customerId)?.promise ?? loadOne(customerId));
    } catch (error) {
      const entry = fallbackEntry(customerId);
      if (entry === undefined) throw error;
      return entry === ABSENT ? null : entry;
    }
  }

  /**
   * What may answer when the store fails: the cached entry (while suspended,
   * entries are not trusted to answer first), else one kept from before the
   * last resume.
   */
  function fallbackEntry(customerId: string): Entry | undefined {
    return aged(cache, customerId) ?? aged(fallback, customerId);
  }

  /** The cached entry, aged by retention like the inner store's reads; undefined on a miss. */
  function lookup(customerId: string): Entry | undefined {
    return aged(cache, customerId);
  }

  function aged(entries: LRUCache<string, Entry> | null, customerId: string): Entry | undefined {
    const entry = entries?.get(customerId);
    if (entry === undefined || entry === ABSENT || options.retentionDays === undefined) return entry;
    const kept = withinRetention(entry, clock() - options.retentionDays * DAY_MS);
    if (kept !== entry) entries?.set(customerId, kept);
    return kept;
  }

  function settle(customerId: string, read: PendingRead, profile: DecisionProfile | null): DecisionProfile | null {
    const frozen = profile === null ? null : freezeLoaded(customerId, profile);
    if (pending.get(customerId) === read) pending.delete(customerId);
    // A read through an alias is not known to belong to its canonical customer until it answers: a write to that
    // customer meanwhile could not mark it stale, so it is cached only when nothing at all was invalidated.
    const throughAlias = frozen !== null && frozen.customerId !== customerId;
    if (!read.stale && !(throughAlias && read.startedAt !== invalidations)) cache?.set(customerId, frozen ?? ABSENT);
    // The store answers again: what it says from now on beats entries that may be stale.
    fallback = null;
    return frozen;
  }

  function forget(customerId: string, read: PendingRead): void {
    if (pending.get(customerId) === read) pending.delete(customerId);
  }

  /** Registers one pending read per id, all settled by a single inner call. */
  function startReads(customerIds: readonly string[], load: () => Promise<Map<string, DecisionProfile>>): void {
    const loaded = callSafely(load);
    for (const customerId of customerIds) {
      const read: PendingRead = { stale: false, promise: Promise.resolve(null), startedAt: invalidations };
      read.promise = loaded.then(
        (profiles) => settle(customerId, read, profiles.get(customerId) ?? null),
        (error: unknown) => {
          forget(customerId, read);
          throw error;
        },
      );
      // A batch's rejection reaches only the callers that wait for it; the others must not crash the process.
      read.promise.catch(() => undefined);
      pending.set(customerId, read);
    }
  }

  function loadOne(customerId: string): Promise<DecisionProfile | null> {
    startReads([customerId], async () => {
      const profile = await inner.getForDecision(customerId);
      return profile === null ? new Map() : new Map([[customerId, profile]]);
    });
    return (pending.get(customerId) as PendingRead).promise;
  }

  /**
   * Misses read from the store and not kept (`cacheMisses: false`): no
   * pending read is registered for them, so nothing can cache them later
   * either. A read already under way for an id is shared. When the store
   * fails, the entries kept for that answer, as for any miss.
   */
  async function readPast(found: Map<string, DecisionProfile>, missed: readonly string[]): Promise<Map<string, DecisionProfile>> {
    const toRead = missed.filter((customerId) => !pending.has(customerId));
    const shared = missed.filter((customerId) => pending.has(customerId));
    const sharedAnswers = shared.map((customerId) => (pending.get(customerId) as PendingRead).promise);
    try {
      const [read, answers] = await Promise.all([toRead.length > 0 ? callSafely(() => inner.getManyForDecision(toRead, NOT_KEPT)) : new Map<string, DecisionProfile>(), Promise.all(sharedAnswers)]);
      for (const customerId of toRead) {
        const profile = read.get(customerId);
        if (profile) found.set(customerId, profile);
      }
      shared.forEach((customerId, index) => {
        const profile = answers[index];
        if (profile) found.set(customerId, profile);
      });
    } catch (error) {
      sharedAnswers.forEach((answer) => answer.catch(() => undefined));
      for (const customerId of missed) {
        const entry = fallbackEntry(customerId);
        if (entry === undefined) throw error;
        if (entry !== ABSENT) found.set(customerId, entry);
      }
      return found;
    }
    // The store answers again: what it says from now on beats entries that may be stale.
    fallback = null;
    return found;
  }

  /**
   * Runs a write, then forgets the id. When an append or a patch failed for
   * want of the store, the entry is kept as a fallback instead (see
   * `keepAsFallback`); a delete always forgets it, since its caller wants
   * nothing of the customer served again.
   */
  async function write<T>(customerId: string, operation: () => Promise<T>, keepOnOutage = true, landedOn?: (result: T) => string): Promise<T> {
    try {
      const result = await operation();
      invalidate(customerId);
      // The store says which canonical customer the write reached: entries cached under its other ids go too.
      const canonical = landedOn?.(result);
      if (canonical !== undefined && canonical !== customerId) invalidate(canonical);
      return result;
    } catch (error) {
      if (keepOnOutage && error instanceof StoreUnavailableError) keepAsFallback(customerId);
      else invalidate(customerId);
      throw error;
    }
  }

  /**
   * After a write that failed because the store is unavailable. Dropping the
   * entry would decide the customer's next pages as a new visitor's for the
   * whole outage. Keeping it as it is could be wrong forever: the write may
   * still have landed (a timeout does not cancel it; a connection can drop
   * after the command went out), and then the entry lacks it. So it steps
   * back to fallback duty, like the entries kept over a `resume`: a read goes
   * to the store first and caches what the store says; the entry answers only
   * while the store fails, and the store's first answer retires it. A read
   * already under way may predate the write, so it is not cached either.
   */
  function keepAsFallback(customerId: string): void {
    const entry = cache?.peek(customerId) ?? fallback?.peek(customerId);
    invalidate(customerId);
    if (entry === undefined) return;
    fallback ??= newCache();
    fallback?.set(customerId, entry);
  }

  return {
    kind: inner.kind,
    get(customerId) {
      return inner.get(customerId);
    },
    getMany(customerIds) {
      return inner.getMany(customerIds);
    },
    async getForDecision(customerId) {
      const entry = suspended ? undefined : lookup(customerId);
      if (entry === undefined) return readMissed(customerId);
      hits++;
      return entry === ABSENT ? null : entry;
    },
    async getManyForDecision(customerIds, options) {
      const unique = [...new Set(customerIds)];
      const found = new Map<string, DecisionProfile>();
      const missed: string[] = [];
      for (const customerId of unique) {
        const entry = suspended ? undefined : lookup(customerId);
        if (entry === undefined) {
          misses++;
          missed.push(customerId);
        } else {
          hits++;
          if (entry !== ABSENT) found.set(customerId, entry);
        }
      }
      if (missed.length === 0) return found;
      if (options?.cacheMisses === false) return readPast(found, missed);
      const toLoad = missed.filter((customerId) => !pending.has(customerId));
      if (toLoad.length > 0) startReads(toLoad, () => inner.getManyForDecision(toLoad));
      // Every promise is taken before the first await: a settled read leaves `pending`.
      const answers = missed.map((customerId) => (pending.get(customerId) as PendingRead).promise);
      let loaded: Array<DecisionProfile | null>;
      try {
        loaded = await Promise.all(answers);
      } catch (error) {
        // Only a full answer will do: a customer missing from the map would be decided as unknown.
        loaded = missed.map((customerId) => {
          const entry = fallbackEntry(customerId);
          if (entry === undefined) throw error;
          return entry === ABSENT ? null : entry;
        });
      }
      missed.forEach((customerId, index) => {
        const profile = loaded[index];
        if (profile) found.set(customerId, profile);
      });
      return found;
    },
    // A scan reads through: it would only push every hot profile out of the cache.
    scanDecisionProfiles(cursor, limit) {
      return inner.scanDecisionProfiles(cursor, limit);
    },
    appendTouchpoints(customerId, touchpoints, now) {
      return write(customerId, () => inner.appendTouchpoints(customerId, touchpoints, now), true, (result) => result.customerId);
    },
    appendOutcomes(customerId, outcomes, now) {
      // Caps and the outcomeCount fact read the customer's own outcomes from here: they must see this write at once.
      return write(customerId, () => inner.appendOutcomes(customerId, outcomes, now), true, (result) => result.customerId);
    },
    outcomeTotals(items, now) {
      return inner.outcomeTotals(items, now);
    },
    sharedSecret(name, candidate) {
      return inner.sharedSecret(name, candidate);
    },
    addDecisionNames(names) {
      return inner.addDecisionNames(names);
    },
    decisionNames() {
      return inner.decisionNames();
    },
    patch(customerId, change, now) {
      return write(customerId, () => inner.patch(customerId, change, now), true, (profile) => profile.customerId);
    },
    async delete(customerId) {
      // Every id of the customer goes: its canonical id first (a rare call), whose entries index those of its aliases.
      const canonical = await inner.resolve(customerId).catch(() => customerId);
      try {
        return await write(customerId, () => inner.delete(customerId), false);
      } finally {
        invalidate(canonical);
      }
    },
    async resolve(customerId) {
      // A cached entry knows: an alias's entry is its canonical customer's profile, and an absent one is nobody's alias.
      const entry = suspended ? undefined : cache?.peek(customerId);
      if (entry !== undefined) return entry === ABSENT ? customerId : entry.customerId;
      return inner.resolve(customerId);
    },
    async addAlias(customerId, alias, now) {
      let result: AliasResult;
      try {
        result = await write(customerId, () => inner.addAlias(customerId, alias, now));
      } finally {
        invalidate(alias);
      }
      // Every id of the merged customer now answers with its profile: the alias's own aliases were another customer's.
      if (result.kind === 'merged') for (const id of [result.profile.customerId, ...(result.profile.aliases ?? [])]) invalidate(id);
      return result;
    },
    async sweepExpired(now) {
      const dropped = await inner.sweepExpired(now);
      // Without the retention rule the cache cannot age entries itself, so it starts over.
      if (dropped > 0 && options.retentionDays === undefined) invalidateAll();
      return dropped;
    },
    ping() {
      return inner.ping();
    },
    async close() {
      invalidateAll();
      await inner.close();
    },
    invalidate,
    suspend() {
      suspended = true;
    },
    resume() {
      for (const read of pending.values()) read.stale = true;
      pending.clear();
      // Entries that may have missed invalidations step back to fallback duty.
      if (cache && cache.size > 0) {
        if (fallback) {
          for (const customerId of cache.rkeys()) {
            const entry = cache.peek(customerId);
            if (entry !== undefined) fallback.set(customerId, entry);
          }
        } else {
          fallback = cache;
        }
        cache = newCache();
      }
      suspended = false;
    },
    stats() {
      return { hits, misses, size: cache?.size ?? 0, suspended };
    },
  };
}

/** Turns a synchronous throw into a rejection, so a misbehaving inner store cannot break the bookkeeping. */
function callSafely<T>(operation: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(operation()));
}

/**
 * The decision profile just read, frozen. It takes the cache's key as its
 * customerId: the inner store's copy of the id would be one more string per
 * cached customer.
 */
function freezeLoaded(customerId: string, profile: DecisionProfile): DecisionProfile {
  const { attributes, stage, types, channels, at, outcomes } = profile;
  deepFreeze(attributes);
  // Read through an alias, the profile is its canonical customer's, and says so.
  const id = profile.customerId === customerId ? customerId : profile.customerId;
  return freezeDecisionProfile({ customerId: id, attributes, stage, types, channels, at, outcomes });
}

/**
 * The profile without the touchpoints older than `oldestKept`; the profile
 * itself when none are. The columns are newest first, so those form the tail.
 */
function withinRetention(profile: DecisionProfile, oldestKept: number): DecisionProfile {
  const count = profile.at.length;
  let keep = count;
  while (keep > 0 && (profile.at[keep - 1] as number) < oldestKept) keep--;
  const { outcomes } = profile;
  const outcomeCount = outcomes.at.length;
  let keepOutcomes = outcomeCount;
  while (keepOutcomes > 0 && (outcomes.at[keepOutcomes - 1] as number) < oldestKept) keepOutcomes--;
  if (keep === count && keepOutcomes === outcomeCount) return profile;
  // slice, not subarray: a view would keep the whole old buffer alive.
  return freezeDecisionProfile({
    ...profile,
    types: profile.types.slice(0, keep),
    channels: profile.channels.slice(0, keep),
    at: profile.at.slice(0, keep),
    outcomes:
      keepOutcomes === outcomeCount
        ? outcomes
        : {
            kinds: outcomes.kinds.slice(0, keepOutcomes),
            items: outcomes.items.slice(0, keepOutcomes),
            placements: outcomes.placements.slice(0, keepOutcomes),
            at: outcomes.at.slice(0, keepOutcomes),
          },
  });
}

/**
 * Freezes what can be frozen: the profile is shared by every caller that reads
 * it from the cache, so a careless change would leak into other decisions.
 * Its attributes must already be frozen.
 */
function freezeDecisionProfile(profile: DecisionProfile): DecisionProfile {
  Object.freeze(profile.types);
  Object.freeze(profile.channels);
  Object.freeze(profile.outcomes.kinds);
  Object.freeze(profile.outcomes.items);
  Object.freeze(profile.outcomes.placements);
  Object.freeze(profile.outcomes);
  return Object.freeze(profile);
}

function deepFreeze(value: object): void {
  if (Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
}
