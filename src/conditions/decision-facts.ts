/**
 * Fact values for one decision, computed from the profile and request once:
 * constant facts up front, parameterised facts on first use and then memoised
 * by their parameters, so a fact used by fifty conditions is computed once.
 */
import type { JsonObject } from '../domain/json.js';
import { OUTCOME_KINDS, type OutcomeKind } from '../domain/outcome.js';
import { internedId, NO_ID, NO_OUTCOMES, type DecisionProfile, type OutcomeColumns } from '../domain/decision-profile.js';
import type { BucketParams, OutcomeCountParams, TouchpointCountParams, TouchpointFilterParams } from './fact-catalog.js';
import type { FactSource } from './fact-source.js';
import { bucketOf } from './bucket.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface DecisionFacts extends FactSource {
  stage: string | undefined;
  stageIndex: number | undefined;
}

export function createFacts(input: {
  customerId: string;
  profile: DecisionProfile | null;
  context: JsonObject;
  now: number;
}): DecisionFacts {
  return new Facts(input.customerId, input.profile, input.context, input.now);
}

const NO_TOUCHPOINTS = new Float64Array(0);
/** A one-kind list per outcome kind, for caps: made once, not per count. */
const ONE_KIND = new Map<OutcomeKind, readonly OutcomeKind[]>(OUTCOME_KINDS.map((kind) => [kind, [kind]]));
const NO_NAMES: readonly string[] = [];

/**
 * A class rather than an object of closures: a decision makes one, and a page
 * render asks for a decision on every request.
 */
class Facts implements DecisionFacts {
  readonly attributes: unknown;
  stage: string | undefined = undefined;
  stageIndex: number | undefined = undefined;
  /** Memoised by the params object: compiled conditions pass the same object every time (equal params are one object), and json-rules-engine caches fact values by their params itself. */
  private counts: Map<object, number> | undefined = undefined;
  private recency: Map<object, number | null> | undefined = undefined;
  private outcomeCounts: Map<object, number> | undefined = undefined;
  /**
   * Facts of the profile alone (buckets, the distinct types and channels, the
   * touchpoints' ids) are kept with the cached profile object across
   * decisions: a SHA-256 per salt and two sorts were several percent of a GET
   * decision. Without a profile, or for one of another id, they are per decision.
   */
  private readonly memo: ProfileMemo;
  private readonly at: Float64Array;
  private readonly types: readonly string[];
  private readonly channels_: readonly string[];
  private readonly outcomes: OutcomeColumns;
  /** Read for one pass and kept by no one (sharesMemory): what is built for it may share memory. */
  private readonly transient: boolean;

  constructor(
    readonly customerId: string,
    profile: DecisionProfile | null,
    readonly context: JsonObject,
    private readonly now: number,
  ) {
    this.attributes = profile?.attributes ?? {};
    this.at = profile?.at ?? NO_TOUCHPOINTS;
    this.types = profile?.types ?? NO_NAMES;
    this.channels_ = profile?.channels ?? NO_NAMES;
    this.outcomes = profile?.outcomes ?? NO_OUTCOMES;
    this.transient = sharesMemory(this.at);
    // A profile read for one pass is decided once (twice at most): its memo is not worth a WeakMap entry.
    this.memo = profile?.customerId === customerId && !this.transient ? profileMemo(profile) : newMemo();
  }

  // Built on first use: most rule sets never read them.
  get touchpointTypes(): string[] {
    return (this.memo.touchpointTypes ??= [...this.index().typeNames].sort());
  }

  get channels(): string[] {
    return (this.memo.channels ??= [...this.index().channelNames].sort());
  }

  touchpointCount(params: TouchpointCountParams): number {
    const counts = (this.counts ??= new Map());
    let count = counts.get(params);
    if (count === undefined) {
      count = this.count(filterOf(params));
      counts.set(params, count);
    }
    return count;
  }

  daysSinceLastTouchpoint(params: TouchpointFilterParams): number | null {
    const recency = (this.recency ??= new Map());
    let days = recency.get(params);
    if (days === undefined) {
      const newest = this.newest(filterOf(params));
      days = newest === -Infinity ? null : Math.max(0, this.now - newest) / DAY_MS;
      recency.set(params, days);
    }
    return days;
  }

  outcomeCount(params: OutcomeCountParams): number {
    const counts = (this.outcomeCounts ??= new Map());
    let count = counts.get(params);
    if (count === undefined) {
      count = this.countOutcomes(outcomeFilterOf(params));
      counts.set(params, count);
    }
    return count;
  }

  itemOutcomeCount(item: string, kind: OutcomeKind, withinDays: number | null): number {
    const { at } = this.outcomes;
    if (at.length === 0) return 0;
    const since = withinDays === null ? -Infinity : this.now - withinDays * DAY_MS;
    return this.countItem(item, since, ONE_KIND.get(kind) ?? [kind], null);
  }

  bucket(params: BucketParams): number {
    // Salt, bucket, salt, bucket…: a rule set uses a salt or two, and a Map per cached profile would weigh more.
    const buckets = (this.memo.buckets ??= []);
    for (let k = 0; k < buckets.length; k += 2) if (buckets[k] === params.salt) return buckets[k + 1] as number;
    const bucket = bucketOf(this.customerId, params.salt);
    buckets.push(params.salt, bucket);
    return bucket;
  }

  private count(filter: TouchpointFilter): number {
    const index = this.index();
    if (filter.typeIds !== null && index.grouped) return this.countByType(filter, index.ids);
    const at = this.at;
    const ids = index.ids;
    const n = at.length;
    const since = filter.withinDays === undefined ? -Infinity : this.now - filter.withinDays * DAY_MS;
    // Stores answer touchpoints newest first; then a window's count stops at the first older one.
    const newestFirst = this.newestFirst();
    let count = 0;
    for (let i = 0; i < n; i++) {
      const time = at[i] as number;
      if (!(time >= since)) {
        if (newestFirst && time < since) break;
        continue;
      }
      if (this.accepts(filter, ids, i, n)) count++;
    }
    return count;
  }

  /**
   * A customer has a few outcomes, hardly thousands, and each filter names a
   * few values: a scan comparing strings (interned, so mostly by reference) is enough.
   */
  private countOutcomes(filter: OutcomeFilter): number {
    const { kinds, placements, at } = this.outcomes;
    const n = at.length;
    if (n === 0) return 0;
    const since = filter.withinDays === undefined ? -Infinity : this.now - filter.withinDays * DAY_MS;
    const newestFirst = (this.memo.outcomesNewestFirst ??= isNewestFirst(at));
    let count = 0;
    if (filter.items !== null) {
      for (let f = 0; f < filter.items.length; f++) count += this.countItem(filter.items[f] as string, since, filter.kinds, filter.placements);
      return count;
    }
    for (let i = 0; i < n; i++) {
      const time = at[i] as number;
      if (!(time >= since)) {
        if (newestFirst && time < since) break;
        continue;
      }
      if (filter.kinds !== null && !filter.kinds.includes(kinds[i] as string)) continue;
      if (filter.placements !== null && !filter.placements.includes(placements[i] as string)) continue;
      count++;
    }
    return count;
  }

  /**
   * One item's outcomes since `since` of the kinds and placements given (null:
   * any), reading only that item's positions: caps ask per item, for every
   * candidate of a decision, and the outcomeCount fact per item it names.
   */
  private countItem(item: string, since: number, kinds: readonly unknown[] | null, placements: readonly unknown[] | null): number {
    const positions = this.outcomesOf(item);
    if (positions === undefined) return 0;
    const { at } = this.outcomes;
    const newestFirst = (this.memo.outcomesNewestFirst ??= isNewestFirst(at));
    let count = 0;
    for (let k = 0; k < positions.length; k++) {
      const i = positions[k] as number;
      const time = at[i] as number;
      if (!(time >= since)) {
        if (newestFirst && time < since) break;
        continue;
      }
      if (kinds !== null && !kinds.includes(this.outcomes.kinds[i])) continue;
      if (placements !== null && !placements.includes(this.outcomes.placements[i])) continue;
      count++;
    }
    return count;
  }

  /**
   * Where an item's outcomes are in the columns, newest first. Caps ask per
   * item, for every candidate of a decision: grouped by item once per cached
   * profile, each count reads only that item's outcomes.
   */
  private outcomesOf(item: string): number[] | undefined {
    return (this.memo.outcomesByItem ??= groupByItem(this.outcomes.items)).get(item);
  }

  /** The newest matching touchpoint's time; -Infinity when none matches. */
  private newest(filter: TouchpointFilter): number {
    const index = this.index();
    if (filter.typeIds !== null && index.grouped) return this.newestByType(filter, index.ids);
    const at = this.at;
    const ids = index.ids;
    const n = at.length;
    // With the newest first, the first match is the newest.
    const newestFirst = this.newestFirst();
    let newest = -Infinity;
    for (let i = 0; i < n; i++) {
      if ((at[i] as number) > newest && this.accepts(filter, ids, i, n)) {
        newest = at[i] as number;
        if (newestFirst) break;
      }
    }
    return newest;
  }

  private countByType(filter: TouchpointFilter, ids: TouchpointIds): number {
    const since = filter.withinDays === undefined ? -Infinity : this.now - filter.withinDays * DAY_MS;
    const { at } = this;
    const n = at.length;
    let count = 0;
    for (const type of filter.typeIds as readonly number[]) {
      const group = findGroup(ids, n, type);
      if (group < 0) continue;
      for (let k = ids[group] as number, end = ids[group + 1] as number; k < end; k++) {
        const i = ids[k] as number;
        // Newest first within the group too: the rest are older still.
        if (!((at[i] as number) >= since)) break;
        if (this.acceptsChannel(filter, ids, i, n)) count++;
      }
    }
    return count;
  }

  private newestByType(filter: TouchpointFilter, ids: TouchpointIds): number {
    const { at } = this;
    const n = at.length;
    let newest = -Infinity;
    for (const type of filter.typeIds as readonly number[]) {
      const group = findGroup(ids, n, type);
      if (group < 0) continue;
      for (let k = ids[group] as number, end = ids[group + 1] as number; k < end; k++) {
        const i = ids[k] as number;
        if (this.acceptsChannel(filter, ids, i, n)) {
          if ((at[i] as number) > newest) newest = at[i] as number;
          break;
        }
      }
    }
    return newest;
  }

  private acceptsChannel(filter: TouchpointFilter, ids: TouchpointIds, i: number, n: number): boolean {
    if (filter.channels === null) return true;
    const channel = ids[n + i] as number;
    return channel === NO_ID ? filter.channelNames.includes(this.channels_[i] as string) : filter.channels[channel] === 1;
  }

  /** Whether touchpoint i passes the filter: by id, or by name for the rare string the intern table had no room for. */
  private accepts(filter: TouchpointFilter, ids: TouchpointIds, i: number, n: number): boolean {
    if (filter.types !== null) {
      const type = ids[i] as number;
      if (type === NO_ID ? !filter.typeNames.includes(this.types[i] as string) : filter.types[type] !== 1) return false;
    }
    if (filter.channels !== null) {
      const channel = ids[n + i] as number;
      if (channel === NO_ID ? !filter.channelNames.includes(this.channels_[i] as string) : filter.channels[channel] !== 1) return false;
    }
    return true;
  }

  /** The touchpoints' ids and groups, made once per profile. */
  private index(): TouchpointIndex {
    return (this.memo.index ??= touchpointIndex(this.types, this.channels_, this.newestFirst(), this.transient));
  }

  private newestFirst(): boolean {
    return (this.memo.newestFirst ??= isNewestFirst(this.at));
  }
}

/**
 * What is kept with a cached profile. A class with every field present from
 * the start, filled in as decisions ask: an object literal grown property by
 * property would take a different hidden class for each order in which rules
 * first ask (outcomes only for customers who have some), and every access to
 * it on the decision path would go megamorphic.
 */
class ProfileMemo {
  /** Salt, bucket, salt, bucket… */
  buckets: Array<string | number> | undefined = undefined;
  touchpointTypes: string[] | undefined = undefined;
  channels: string[] | undefined = undefined;
  /** Whether the touchpoint times never increase. */
  newestFirst: boolean | undefined = undefined;
  /** Whether the outcome times never increase. */
  outcomesNewestFirst: boolean | undefined = undefined;
  /** The positions of each item's outcomes, in column order. */
  outcomesByItem: Map<string, number[]> | undefined = undefined;
  index: TouchpointIndex | undefined = undefined;
}

type TouchpointIds = Uint16Array | Uint32Array;

/**
 * A profile's touchpoints as numbers, in one array (one allocation per
 * cached profile; Uint32 only for profiles of 65,536 touchpoints or more),
 * for n touchpoints in k type groups:
 *
 *   [0, n)                 the interned id of each touchpoint's type
 *   [n, 2n)                the interned id of each one's channel
 *   [2n, 3n)               the touchpoint indices grouped by type, newest first in each group
 *   3n + g, g < k          group g's type id
 *   3n + k + g, g <= k     where group g starts in the array (its end is the next one's start)
 *
 * Groups exist only when they are complete and in order (`grouped`): every
 * type has an id and the touchpoints are newest first, as stores answer them.
 */
interface TouchpointIndex {
  ids: TouchpointIds;
  grouped: boolean;
  /** The distinct types and channels, in order of first appearance: the touchpointTypes and channels facts, sorted. */
  typeNames: readonly string[];
  channelNames: readonly string[];
}

const EMPTY_INDEX: TouchpointIndex = { ids: new Uint16Array(0), grouped: false, typeNames: NO_NAMES, channelNames: NO_NAMES };

/** Each touchpoint's group while an index is built: kept between builds, which run one at a time. */
let groupScratch = new Int32Array(256);

/**
 * A profile holds a few distinct types and channels, each one interned string
 * repeated (decision-profile.ts): each touchpoint's name is found among the
 * names already seen (by identity, nearly always), and each distinct name's id
 * is looked up once. A profile read for one decision (a send) builds this once
 * and uses it once, so its cost is the decision's.
 */
function touchpointIndex(types: readonly string[], channels: readonly string[], newestFirst: boolean, transient: boolean): TouchpointIndex {
  const n = types.length;
  if (n === 0) return EMPTY_INDEX;
  const typeNames: string[] = [];
  const groupTypes: number[] = [];
  const sizes: number[] = [];
  if (groupScratch.length < n) groupScratch = new Int32Array(Math.max(n, 2 * groupScratch.length));
  const groupOf = groupScratch;
  let grouped = newestFirst;
  for (let i = 0; i < n; i++) {
    const name = types[i] as string;
    // A loop, not indexOf: inlined, it took a third less for 60 touchpoints of a dozen types.
    let g = 0;
    while (g < typeNames.length && typeNames[g] !== name) g++;
    if (g === typeNames.length) {
      typeNames.push(name);
      const type = internedId(name);
      if (type === NO_ID) grouped = false;
      groupTypes.push(type);
      sizes.push(1);
    } else {
      sizes[g] = (sizes[g] as number) + 1;
    }
    groupOf[i] = g;
  }
  const k = grouped ? groupTypes.length : 0;
  const length = 3 * n + 2 * k + 1;
  const ids = length > 0xffff ? new Uint32Array(length) : transient ? sharedIds(length) : new Uint16Array(length);
  const channelNames: string[] = [];
  const channelIds: number[] = [];
  for (let i = 0; i < n; i++) {
    ids[i] = groupTypes[groupOf[i] as number] as number;
    const channel = channels[i] as string;
    let c = 0;
    while (c < channelNames.length && channelNames[c] !== channel) c++;
    if (c === channelNames.length) {
      channelNames.push(channel);
      channelIds.push(internedId(channel));
    }
    ids[n + i] = channelIds[c] as number;
  }
  if (grouped) {
    const groupsAt = 3 * n;
    const startsAt = groupsAt + k;
    let next = 2 * n;
    const fill: number[] = [];
    for (let g = 0; g < k; g++) {
      ids[groupsAt + g] = groupTypes[g] as number;
      ids[startsAt + g] = next;
      fill.push(next);
      next += sizes[g] as number;
    }
    ids[startsAt + k] = next;
    for (let i = 0; i < n; i++) ids[(fill[groupOf[i] as number] as number)++] = i;
  }
  return { ids, grouped, typeNames, channelNames };
}

/**
 * A profile whose touchpoint times are a view on a larger array was read for
 * one pass and is kept by no one (DecisionReadOptions.cacheMisses false): its
 * index may share memory with those of the profiles decided around it.
 */
function sharesMemory(at: Float64Array): boolean {
  return at.byteLength !== at.buffer.byteLength;
}

/** Indices of profiles no one keeps, one after the other: 64 KiB holds about 160 of 60 touchpoints. */
let sharedIdsBuffer = new Uint16Array(0);
let sharedIdsUsed = 0;
const SHARED_IDS = 32_768;

/**
 * A zeroed Uint16Array of `length` from the shared buffer: a typed array of its
 * own costs about 2 µs to allocate and free, a view on one a tenth of that.
 * Kept alive only by the profiles in flight, the buffer goes with them.
 */
function sharedIds(length: number): Uint16Array {
  if (sharedIdsUsed + length > sharedIdsBuffer.length) {
    sharedIdsBuffer = new Uint16Array(Math.max(SHARED_IDS, length));
    sharedIdsUsed = 0;
  }
  const ids = sharedIdsBuffer.subarray(sharedIdsUsed, sharedIdsUsed + length);
  sharedIdsUsed += length;
  return ids;
}

/** Where type's group starts in the index (the position of its start offset), or -1 when the profile has no such touchpoint. */
function findGroup(ids: TouchpointIds, n: number, type: number): number {
  const groupsAt = 3 * n;
  const k = (ids.length - 1 - 3 * n) / 2;
  for (let g = 0; g < k; g++) if (ids[groupsAt + g] === type) return groupsAt + k + g;
  return -1;
}

/**
 * What has been computed so far from a profile object alone. Weakly held: it
 * lives exactly as long as the profile cache keeps the profile (a write makes
 * a new profile object, which starts empty), and a few salts and slugs cost
 * little beside the profile's touchpoints.
 */
const memoByProfile = new WeakMap<DecisionProfile, ProfileMemo>();

/** Each item's positions in the outcome columns, in column order. */
function groupByItem(items: readonly string[]): Map<string, number[]> {
  const byItem = new Map<string, number[]>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as string;
    const positions = byItem.get(item);
    if (positions) positions.push(i);
    else byItem.set(item, [i]);
  }
  return byItem;
}

function newMemo(): ProfileMemo {
  return new ProfileMemo();
}

function profileMemo(profile: DecisionProfile): ProfileMemo {
  let memo = memoByProfile.get(profile);
  if (!memo) {
    memo = newMemo();
    memoByProfile.set(profile, memo);
  }
  return memo;
}


/** Whether the times never increase (and are all numbers). */
function isNewestFirst(at: Float64Array): boolean {
  for (let i = 0; i < at.length; i++) {
    const time = at[i] as number;
    if (Number.isNaN(time) || (i > 0 && time > (at[i - 1] as number))) return false;
  }
  return true;
}

/** What touchpoint params ask, read once per params object. */
interface TouchpointFilter {
  /** Indexed by interned id: 1 for the types the filter takes; null takes every type. */
  types: Uint8Array | null;
  /** The same for channels. */
  channels: Uint8Array | null;
  /** The names themselves, for touchpoints whose type or channel has no id. */
  typeNames: readonly string[];
  channelNames: readonly string[];
  /** The ids of the types named, when every one has an id; null otherwise, or when every type is taken. */
  typeIds: readonly number[] | null;
  withinDays: number | undefined;
}

/**
 * Params objects belong to the rules (a compiled condition passes the same one
 * every time), so their filters are kept for as long as the rules are.
 */
const filters = new WeakMap<TouchpointCountParams, TouchpointFilter>();

function filterOf(params: TouchpointCountParams): TouchpointFilter {
  let filter = filters.get(params);
  if (!filter) {
    const typeNames = asList(params.type);
    const channelNames = asList(params.channel);
    const typeIds = typeNames && [...new Set(typeNames.map(idOf))];
    filter = {
      typeIds: typeIds && !typeIds.includes(NO_ID) ? typeIds : null,
      types: typeNames && idTable(typeNames),
      channels: channelNames && idTable(channelNames),
      typeNames: typeNames ?? NO_NAMES,
      channelNames: channelNames ?? NO_NAMES,
      withinDays: params.withinDays,
    };
    filters.set(params, filter);
  }
  return filter;
}

/**
 * 1 at the id of every name that has one. A name without an id (the intern
 * table was full) never matches by id; touchpoints with that name have no id
 * either, and are compared by name.
 */
function idTable(names: readonly string[]): Uint8Array {
  const named = names.map(idOf);
  const table = new Uint8Array(Math.max(0, ...named) + 1);
  for (const id of named) if (id !== NO_ID) table[id] = 1;
  return table;
}

/** Validation makes every name a string; anything else gets no id and is compared as it is. */
function idOf(name: unknown): number {
  return typeof name === 'string' ? internedId(name) : NO_ID;
}

function asList(value: string | readonly string[] | undefined): readonly string[] | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? [value] : value;
}

/** What outcomeCount params ask, read once per params object; null takes every value. */
interface OutcomeFilter {
  kinds: readonly unknown[] | null;
  items: readonly unknown[] | null;
  placements: readonly unknown[] | null;
  withinDays: number | undefined;
}

const outcomeFilters = new WeakMap<OutcomeCountParams, OutcomeFilter>();

function outcomeFilterOf(params: OutcomeCountParams): OutcomeFilter {
  let filter = outcomeFilters.get(params);
  if (!filter) {
    filter = {
      kinds: asList(params.kind),
      // Each item once: counting goes item by item, and a list naming one twice must not count it twice.
      items: params.item === undefined ? null : [...new Set(asList(params.item) ?? [])],
      placements: asList(params.placement),
      withinDays: params.withinDays,
    };
    outcomeFilters.set(params, filter);
  }
  return filter;
}
