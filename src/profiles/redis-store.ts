import { randomUUID } from 'node:crypto';
import type { Cluster, ClusterNode, Redis, RedisOptions } from 'ioredis';
import { ioredis } from './ioredis.js';
import { intern, NO_OUTCOMES, type DecisionProfile, type OutcomeColumns } from '../domain/decision-profile.js';
import { InvalidInputError, ProfileDataError, StoreUnavailableError } from '../domain/errors.js';
import type { JsonObject } from '../domain/json.js';
import { OUTCOME_KINDS, type OutcomeKind, type StoredOutcome } from '../domain/outcome.js';
import type { Profile } from '../domain/profile.js';
import type { StoredTouchpoint } from '../domain/touchpoint.js';
import { patchAttributes } from './patch-attributes.js';
import { mergeAttributes } from '../identity/merge.js';
import {
  ADD_DECISION_NAMES_SCRIPT,
  APPEND_OUTCOMES_SCRIPT,
  APPEND_SCRIPT,
  DELETE_POINTER_SCRIPT,
  DELETE_SCRIPT,
  MERGE_BEGIN_SCRIPT,
  MERGE_COPY_SCRIPT,
  MERGE_FINISH_SCRIPT,
  MERGE_JOURNAL_SCRIPT,
  MERGE_REPOINT_SCRIPT,
  MERGE_SCRIPT,
  PATCH_SCRIPT,
  READ_DECISION_SCRIPT,
  READ_PROFILE_SCRIPT,
  SWEEP_OUTCOMES_SCRIPT,
  SWEEP_SCRIPT,
} from './redis-scripts.js';
import { countByKind, DAY_MS, DEFAULT_MAX_ALIASES_PER_CUSTOMER, MAX_DECISION_NAMES, type AliasResult, type AppendResult, type DecisionProfilePage, type OutcomeAppendResult, type OutcomeDayCount, type ChangeFeed, type ChangeListener, type ProfileChange, type ProfileStore, type StoreLimits } from './store.js';

export interface RedisStoreOptions extends StoreLimits {
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS; with `cluster`, a comma-separated list of seed nodes. */
  url: string;
  /** Treat `url` as the seed nodes of a Redis Cluster. */
  cluster?: boolean;
  /** Put before every key and the change channel, so several deployments can share one Redis. */
  keyPrefix?: string;
  /** How long to wait for a TCP connection before counting an attempt as failed. */
  connectTimeoutMs?: number;
  /** Connection news for the operator's log: lost, restored, configuration worth a warning. */
  onEvent?: (event: RedisStoreEvent) => void;
  /**
   * Tests only: called after each step of a Cluster merge (begin, copy,
   * finish, repoint, done); a throw stands for a crash right there.
   */
  afterMergeStep?: (step: ClusterMergeStep) => void;
  /** Tests only: called after each step of a delete (data, pointers); a throw stands for a crash right there. */
  afterDeleteStep?: (step: DeleteStep) => void;
}

export type DeleteStep = 'data' | 'pointers';

export type ClusterMergeStep = 'begin' | 'copy' | 'finish' | 'repoint' | 'done';

export type RedisStoreEvent =
  | { kind: 'connected' }
  | { kind: 'disconnected'; error?: string }
  | { kind: 'warning'; message: string };

export interface RedisProfileStore extends ProfileStore, ChangeFeed {}

/** How many times patch retries its compare-and-set when other writers keep changing the attributes. */
const PATCH_ATTEMPTS = 20;
/** Keys per SCAN step of the sweep. */
const SWEEP_SCAN_COUNT = 500;

type ScriptCall = (...args: Array<string | number>) => Promise<unknown>;
type Client = Redis | Cluster;

interface Scripts {
  nbAppend: ScriptCall;
  nbPatch: ScriptCall;
  nbDelete: ScriptCall;
  nbSweep: ScriptCall;
  nbReadDecision: ScriptCall;
  nbReadProfile: ScriptCall;
  nbAppendOutcomes: ScriptCall;
  nbSweepOutcomes: ScriptCall;
  nbDeletePointer: ScriptCall;
  nbMerge: ScriptCall;
  nbMergeBegin: ScriptCall;
  nbMergeCopy: ScriptCall;
  nbMergeFinish: ScriptCall;
  nbMergeRepoint: ScriptCall;
  nbMergeJournal: ScriptCall;
  nbAddDecisionNames: ScriptCall;
}

/** numberOfKeys undefined: the call passes the count first (the merge's keys depend on the alias's own aliases). */
const SCRIPT_DEFINITIONS: Record<keyof Scripts, { lua: string; numberOfKeys?: number }> = {
  nbAppend: { lua: APPEND_SCRIPT, numberOfKeys: 6 },
  nbPatch: { lua: PATCH_SCRIPT, numberOfKeys: 3 },
  nbDelete: { lua: DELETE_SCRIPT, numberOfKeys: 9 },
  nbSweep: { lua: SWEEP_SCRIPT, numberOfKeys: 3 },
  nbReadDecision: { lua: READ_DECISION_SCRIPT, numberOfKeys: 5 },
  nbReadProfile: { lua: READ_PROFILE_SCRIPT, numberOfKeys: 8 },
  nbAppendOutcomes: { lua: APPEND_OUTCOMES_SCRIPT, numberOfKeys: 5 },
  nbSweepOutcomes: { lua: SWEEP_OUTCOMES_SCRIPT, numberOfKeys: 2 },
  nbDeletePointer: { lua: DELETE_POINTER_SCRIPT, numberOfKeys: 1 },
  nbMerge: { lua: MERGE_SCRIPT },
  nbMergeBegin: { lua: MERGE_BEGIN_SCRIPT, numberOfKeys: 9 },
  nbMergeCopy: { lua: MERGE_COPY_SCRIPT, numberOfKeys: 9 },
  nbMergeFinish: { lua: MERGE_FINISH_SCRIPT, numberOfKeys: 9 },
  nbMergeRepoint: { lua: MERGE_REPOINT_SCRIPT, numberOfKeys: 1 },
  nbMergeJournal: { lua: MERGE_JOURNAL_SCRIPT, numberOfKeys: 2 },
  nbAddDecisionNames: { lua: ADD_DECISION_NAMES_SCRIPT, numberOfKeys: 2 },
};

/** Hops an id may take to its canonical customer: one, plus a Cluster merge's alias of an alias until it is repointed. */
const MAX_HOPS = 8;

/**
 * Profiles in Redis, shared by any number of replicas (see redis-scripts.ts
 * for the keys). Every write is one Lua script, atomic on the server, which
 * also publishes the customer id on the change channel so that every replica
 * drops its cached copy.
 *
 * Commands fail at once while the connection is down (no offline queue, no
 * resending after a reconnect): the caller answers a degraded decision or a
 * 503 instead of waiting, and a write is never applied long after its
 * client gave up. The client reconnects by itself.
 *
 * Durability is Redis's: an acknowledged write survives a Redis restart only
 * with AOF on (`appendonly yes`; `appendfsync always` to lose nothing on
 * power loss). Start-up warns when the server keeps no AOF.
 */
export function createRedisStore(options: RedisStoreOptions): RedisProfileStore {
  const prefix = options.keyPrefix ?? 'nextbest:';
  const channel = `${prefix}changes`;
  /** Identifies this process's own change messages, which it need not act on. */
  const origin = randomUUID();
  const clock = options.now ?? Date.now;
  const onEvent = options.onEvent ?? (() => undefined);
  const cutoff = (now: number): string => String(now - options.retentionDays * DAY_MS);
  const client = connect(options, 'commands');
  const scripts = defineScripts(client);
  let subscriber: Client | null = null;
  let closed = false;
  let everConnected = false;
  let connectedNow = false;

  client.on('ready', () => {
    connectedNow = true;
    everConnected = true;
    onEvent({ kind: 'connected' });
    void checkDurability(client, onEvent);
  });
  client.on('close', () => {
    if (connectedNow && !closed) onEvent({ kind: 'disconnected' });
    connectedNow = false;
  });
  // Without a listener, ioredis prints every failed attempt; the state changes above are what matter.
  client.on('error', () => undefined);

  const keys = (customerId: string) => {
    const base = `${prefix}{${customerId}}:`;
    return { p: `${base}p`, t: `${base}t`, x: `${base}x`, i: `${base}i`, o: `${base}o`, v: `${base}v`, a: `${base}a`, j: `${base}j`, s: `${base}s` };
  };
  /** The keys a merge script takes for one customer, in its order. */
  const mergeKeys = (customerId: string): string[] => {
    const k = keys(customerId);
    return [k.p, k.t, k.x, k.i, k.o, k.v, k.a, k.j, k.s];
  };
  const maxAliases = options.maxAliasesPerCustomer ?? DEFAULT_MAX_ALIASES_PER_CUSTOMER;
  const afterMergeStep = options.afterMergeStep ?? (() => undefined);
  const afterDeleteStep = options.afterDeleteStep ?? (() => undefined);

  /**
   * Runs a script on the customer's keys, following redirects: an alias's
   * script runs again on its canonical customer, and a Cluster merge found
   * under way is completed first. Returns the id it ran on and its reply.
   */
  async function onCanonical<R>(customerId: string, call: (id: string) => Promise<unknown>): Promise<{ id: string; reply: R }> {
    let id = customerId;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const reply = await call(id);
      const redirect = redirectOf(reply);
      if (!redirect) return { id, reply: reply as R };
      if (redirect.kind === 'alias') id = redirect.canonical;
      else await completeClusterMerge(id, redirect.canonical);
    }
    throw new StoreUnavailableError(`customer ${customerId} did not resolve to a canonical customer within ${MAX_HOPS} hops`);
  }

  /** The canonical id, following pointers (one, but for a Cluster merge's aliases not yet repointed). */
  async function resolveId(customerId: string): Promise<string> {
    let id = customerId;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const next = await client.get(keys(id).a);
      if (next === null) return id;
      id = next;
    }
    throw new StoreUnavailableError(`customer ${customerId} did not resolve to a canonical customer within ${MAX_HOPS} hops`);
  }
  /** The decision name list, both ways, in one hash slot (see redis-scripts.ts). */
  const decisionNamesKey = `${prefix}{decision-names}`;
  const decisionNameListKey = `${prefix}{decision-names}:list`;
  const maxDecisionNames = options.maxDecisionNames ?? MAX_DECISION_NAMES;
  /** Everyone's outcome counts of one UTC day (see redis-scripts.ts). */
  const totalsKey = (day: number) => `${prefix}{outcome-totals}:${day}`;
  const message = (customerId: string) => `${origin} ${customerId}`;

  /**
   * Runs one command, turning a closed store or a connection failure into
   * StoreUnavailableError, and an error about one customer's data into ProfileDataError.
   */
  async function run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError('the redis profile store is closed');
    try {
      return await call();
    } catch (error) {
      throw asStoreError(error, operation, everConnected);
    }
  }

  async function readDecision(customerId: string, now: number): Promise<DecisionProfile | null> {
    const { id, reply } = await onCanonical<[string, string | null, string[], string[]] | null>(customerId, (target) => {
      const k = keys(target);
      return scripts.nbReadDecision(k.p, k.t, k.o, k.a, k.j, cutoff(now));
    });
    if (reply === null) return null;
    const [attributes, stage, timeline, outcomeMembers] = reply;
    const count = timeline.length / 2;
    const types = new Array<string>(count);
    const channels = new Array<string>(count);
    const at = new Float64Array(count);
    for (let n = 0; n < count; n++) {
      const [, type, touchpointChannel] = splitMember(timeline[2 * n] as string);
      types[n] = intern(type);
      channels[n] = intern(touchpointChannel);
      at[n] = Number(timeline[2 * n + 1]);
    }
    const outcomes = outcomeMembers.length === 0 ? NO_OUTCOMES : toOutcomeColumns(outcomeMembers);
    return { customerId: id, attributes: JSON.parse(attributes) as JsonObject, stage, types, channels, at, outcomes };
  }

  async function readProfile(customerId: string, now: number): Promise<Profile | null> {
    const { id, reply } = await onCanonical<[string, string | null, string, string, string[], string[], string[], string[], string[]] | null>(customerId, (target) => {
      const k = keys(target);
      return scripts.nbReadProfile(k.p, k.t, k.x, k.o, k.v, k.a, k.j, k.s, cutoff(now));
    });
    if (reply === null) return null;
    const [attributes, stage, createdAt, updatedAt, timeline, extras, outcomeMembers, outcomeExtras, aliases] = reply;
    const outcomes: StoredOutcome[] = [];
    for (let n = 0; n < outcomeMembers.length / 2; n++) {
      const [decisionId, placement, item, kind] = parseOutcomeMember(outcomeMembers[2 * n] as string);
      const extra = outcomeExtras[n] ? (JSON.parse(outcomeExtras[n] as string) as [string | null, StoredOutcome['arm'], number | null]) : [null, null, null];
      outcomes.push({ decisionId, placement, item, rule: extra[0], arm: extra[1], kind, at: Number(outcomeMembers[2 * n + 1]), value: extra[2] });
    }
    const touchpoints: StoredTouchpoint[] = [];
    for (let n = 0; n < timeline.length / 2; n++) {
      const [, type, touchpointChannel] = splitMember(timeline[2 * n] as string);
      const extra = extras[n] ? (JSON.parse(extras[n] as string) as [string | null, JsonObject | null]) : [null, null];
      touchpoints.push({ id: extra[0], type, channel: touchpointChannel, at: Number(timeline[2 * n + 1]), properties: extra[1] });
    }
    return {
      customerId: id,
      attributes: JSON.parse(attributes) as JsonObject,
      stage,
      touchpoints,
      outcomes,
      aliases: [...aliases].sort(),
      createdAt: Number(createdAt),
      updatedAt: Number(updatedAt),
    };
  }

  async function readEach<T>(customerIds: readonly string[], read: (customerId: string) => Promise<T | null>): Promise<Map<string, T>> {
    const unique = [...new Set(customerIds)];
    // Issued in one tick, the reads travel to Redis together (auto-pipelining).
    const values = await Promise.all(unique.map(read));
    const found = new Map<string, T>();
    unique.forEach((customerId, n) => {
      const value = values[n];
      if (value !== null && value !== undefined) found.set(customerId, value);
    });
    return found;
  }

  async function append(customerId: string, touchpoints: readonly StoredTouchpoint[], now: number): Promise<AppendResult> {
    // Touchpoints already past retention never reach the script: it would drop them at once. Written as
    // "not older" so that a time that is not a number goes on to the script, which refuses it.
    const oldestKept = now - options.retentionDays * DAY_MS;
    const fresh = touchpoints.filter((tp) => !(tp.at < oldestKept));
    const rest: Array<string | number> = [];
    for (const tp of fresh) {
      const extra = tp.id === null && tp.properties === null ? '' : JSON.stringify([tp.id, tp.properties]);
      rest.push(tp.id ?? '', tp.type, tp.channel, String(tp.at), extra);
    }
    const { id, reply } = await onCanonical<[number, number]>(customerId, (target) => {
      const k = keys(target);
      return scripts.nbAppend(k.p, k.t, k.x, k.i, k.a, k.j, String(now), cutoff(now), options.maxTouchpointsPerProfile, channel, message(target), fresh.length, ...rest);
    });
    const [accepted, duplicates] = reply;
    return { customerId: id, accepted, duplicates, expired: touchpoints.length - fresh.length };
  }

  async function appendOutcomes(customerId: string, outcomes: readonly StoredOutcome[], now: number): Promise<OutcomeAppendResult> {
    const rest: Array<string | number> = [];
    for (const outcome of outcomes) {
      rest.push(outcomeMember(outcome), String(outcome.at), JSON.stringify([outcome.rule, outcome.arm, outcome.value]));
    }
    const { id, reply: stored } = await onCanonical<number[]>(customerId, (target) => {
      const k = keys(target);
      return scripts.nbAppendOutcomes(k.p, k.o, k.v, k.a, k.j, String(now), cutoff(now), channel, message(target), outcomes.length, ...rest);
    });
    const added = stored.map((n) => outcomes[n] as StoredOutcome);
    await addToTotals(added, 1, now);
    return { customerId: id, accepted: added.length, duplicates: outcomes.length - added.length, acceptedByKind: countByKind(added) };
  }

  /**
   * Adds (or takes off) outcomes to everyone's per-day counts. These keys are
   * in a hash slot of their own, so this runs after the customer's script: the
   * outcomes are stored by then, and a failure here leaves the counts short,
   * not the outcomes. It is reported, not thrown: the write is acknowledged.
   */
  async function addToTotals(outcomes: ReadonlyArray<Pick<StoredOutcome, 'item' | 'kind' | 'at'>>, sign: 1 | -1, now: number): Promise<void> {
    if (outcomes.length === 0) return;
    const oldestKept = now - options.retentionDays * DAY_MS;
    const increments = new Map<string, Map<string, number>>();
    for (const outcome of outcomes) {
      if (outcome.at < oldestKept) continue;
      const key = totalsKey(Math.floor(outcome.at / DAY_MS));
      const fields = increments.get(key) ?? new Map<string, number>();
      increments.set(key, fields);
      const field = `${outcome.item}\n${outcome.kind}`;
      fields.set(field, (fields.get(field) ?? 0) + sign);
    }
    try {
      await Promise.all(
        [...increments].map(async ([key, fields]) => {
          const day = Number(key.slice(key.lastIndexOf(':') + 1));
          // Relative to the store's clock (which tests set), not Redis's: the day's counts go when retention drops them.
          const ttlSeconds = Math.max(1, Math.ceil(((day + 1) * DAY_MS + options.retentionDays * DAY_MS - now) / 1000));
          const multi = client.multi();
          for (const [field, by] of fields) multi.hincrby(key, field, by);
          multi.expire(key, ttlSeconds);
          await multi.exec();
        }),
      );
    } catch (error) {
      onEvent({ kind: 'warning', message: `everyone's outcome counts (caps with scope "all") missed an update: ${(error as Error).message}` });
    }
  }

  async function outcomeTotals(items: readonly string[], now: number): Promise<OutcomeDayCount[]> {
    const wanted = [...new Set(items)];
    if (wanted.length === 0) return [];
    const fields = wanted.flatMap((item) => OUTCOME_KINDS.map((kind) => ({ item, kind, field: `${item}\n${kind}` })));
    const firstDay = Math.floor((now - options.retentionDays * DAY_MS) / DAY_MS);
    const lastDay = Math.floor(now / DAY_MS);
    const days: number[] = [];
    for (let day = firstDay; day <= lastDay; day++) days.push(day);
    // Issued in one tick: auto-pipelining sends them together.
    const replies = await Promise.all(days.map((day) => client.hmget(totalsKey(day), ...fields.map((f) => f.field))));
    const counts: OutcomeDayCount[] = [];
    replies.forEach((values, d) => {
      values.forEach((value, f) => {
        const count = value === null ? 0 : Number(value);
        if (count > 0) counts.push({ item: (fields[f] as { item: string }).item, kind: (fields[f] as { kind: OutcomeKind }).kind, day: days[d] as number, count });
      });
    });
    return counts;
  }

  /** A whole rule set's names go in calls of this many, so that no one script holds Redis for long. */
  const DECISION_NAMES_PER_CALL = 1000;

  async function addDecisionNames(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return client.lrange(decisionNameListKey, 0, -1);
    for (let start = 0; ; start += DECISION_NAMES_PER_CALL) {
      const chunk = names.slice(start, start + DECISION_NAMES_PER_CALL);
      const last = start + DECISION_NAMES_PER_CALL >= names.length;
      const reply = await scripts.nbAddDecisionNames(decisionNamesKey, decisionNameListKey, maxDecisionNames, last ? '1' : '0', ...chunk);
      if (last) return reply as string[];
    }
  }

  /** Patches of one customer in this process, chained so that they never compete with each other. */
  const patchQueue = new Map<string, Promise<unknown>>();

  function patch(customerId: string, change: ProfileChange, now: number): Promise<Profile> {
    const previous = patchQueue.get(customerId) ?? Promise.resolve();
    const next = previous.then(
      () => patchOnce(customerId, change, now),
      () => patchOnce(customerId, change, now),
    );
    patchQueue.set(customerId, next);
    const forget = () => {
      if (patchQueue.get(customerId) === next) patchQueue.delete(customerId);
    };
    next.then(forget, forget);
    return next;
  }

  /**
   * Read, merge in JavaScript (a Lua JSON round trip would round numbers),
   * then write only if nobody changed the attributes meanwhile: other
   * replicas may patch the same customer at the same moment.
   */
  async function patchOnce(customerId: string, change: ProfileChange, now: number): Promise<Profile> {
    let target = customerId;
    const stageMode = change.stage === undefined ? 'keep' : change.stage === null ? 'clear' : 'set';
    for (let attempt = 0, hops = 0; attempt < PATCH_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
      const k = keys(target);
      const [stored, , version] = (await client.hmget(k.p, 'a', 's', 'v')) as [string | null, string | null, string | null];
      const current = stored === null ? {} : (JSON.parse(stored) as JsonObject);
      // Throws before anything is written, so a rejected patch leaves no trace.
      const attributes = change.attributes === undefined ? current : patchAttributes(current, change.attributes);
      const applied = await scripts.nbPatch(
        k.p,
        k.a,
        k.j,
        version ?? '',
        JSON.stringify(attributes),
        stageMode,
        change.stage ?? '',
        String(now),
        channel,
        message(target),
      );
      const redirect = redirectOf(applied);
      if (redirect && hops++ < MAX_HOPS) {
        // An alias: patch its canonical customer (completing a Cluster merge under way first). Not a failed attempt.
        if (redirect.kind === 'alias') target = redirect.canonical;
        else await completeClusterMerge(target, redirect.canonical);
        attempt--;
        continue;
      }
      if (applied === 1) return (await readProfile(target, now)) as Profile;
    }
    throw new StoreUnavailableError(`the attributes of ${customerId} kept changing during ${PATCH_ATTEMPTS} attempts to patch them`);
  }

  /** The merged customer as addAlias answers it. */
  async function mergedProfile(canonical: string, now: number, changed: boolean): Promise<AliasResult> {
    const profile = await readProfile(canonical, now);
    if (!profile) throw new StoreUnavailableError(`the profile of ${canonical} vanished right after a merge`);
    return { kind: 'merged', profile, changed };
  }

  /** Outcomes the merge dropped as duplicates were counted in everyone's totals under the alias: they leave them. */
  async function forgetDropped(dropped: readonly string[], now: number): Promise<void> {
    const gone: Array<Pick<StoredOutcome, 'item' | 'kind' | 'at'>> = [];
    for (let n = 0; n < dropped.length / 2; n++) {
      const [, , item, kind] = parseOutcomeMember(dropped[2 * n] as string);
      gone.push({ item, kind, at: Number(dropped[2 * n + 1]) });
    }
    await addToTotals(gone, -1, now);
  }

  async function addAlias(customerId: string, alias: string, now: number): Promise<AliasResult> {
    for (let attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
      const canonical = await resolveId(customerId);
      if (alias === canonical) return mergedProfile(canonical, now, false);
      const result = options.cluster ? await addAliasOnCluster(canonical, alias, now) : await addAliasOnServer(canonical, alias, now);
      if (result !== 'retry') return result;
    }
    throw new StoreUnavailableError(`the customers ${customerId} and ${alias} kept changing during ${PATCH_ATTEMPTS} attempts to merge them`);
  }

  /** One server: the whole merge in one script, given what JavaScript merges (the attributes) as read just before. */
  async function addAliasOnServer(canonical: string, alias: string, now: number): Promise<AliasResult | 'retry'> {
    const c = keys(canonical);
    const a = keys(alias);
    const [target, merged, own] = await Promise.all([
      client.hmget(c.p, 'a', 'v') as Promise<Array<string | null>>,
      client.hmget(a.p, 'a', 'v') as Promise<Array<string | null>>,
      client.smembers(a.s),
    ]);
    const attributes = mergeAttributes(parseAttributes(target[0] ?? null), parseAttributes(merged[0] ?? null));
    const keyList = [...mergeKeys(canonical), ...mergeKeys(alias), ...own.map((id) => keys(id).a)];
    const reply = (await scripts.nbMerge(
      keyList.length,
      ...keyList,
      String(now),
      cutoff(now),
      options.maxTouchpointsPerProfile,
      maxAliases,
      target[1] ?? '',
      merged[1] ?? '',
      JSON.stringify(attributes),
      channel,
      origin,
      alias,
      canonical,
      ...own,
    )) as [string, unknown];
    return settleMerge(reply, canonical, now);
  }

  async function settleMerge(reply: [string, unknown], canonical: string, now: number): Promise<AliasResult | 'retry'> {
    switch (reply[0]) {
      case 'same':
        return mergedProfile(canonical, now, false);
      case 'conflict':
        return { kind: 'conflict', canonical: reply[1] as string };
      case 'limit':
        return { kind: 'limit', max: maxAliases };
      case 'merged':
      case 'copied':
        await forgetDropped(reply[1] as string[], now);
        return mergedProfile(canonical, now, true);
      default:
        // A redirect (the canonical customer became an alias meanwhile) or changed versions: start over.
        return 'retry';
    }
  }

  /**
   * Redis Cluster: the two customers live in different hash slots, which no
   * script can span. The merge is a sequence of steps, each atomic in one
   * slot and each safe to repeat, recorded by a journal in the alias's slot
   * (MERGE_BEGIN_SCRIPT): whoever finds the journal (this call's retry, or
   * any read or write of the alias) completes the merge from where it
   * stopped. The copy is idempotent because the alias joins the canonical
   * customer's alias set in the same script as the copy.
   */
  async function addAliasOnCluster(canonical: string, alias: string, now: number): Promise<AliasResult | 'retry'> {
    const begun = (await scripts.nbMergeBegin(...mergeKeys(alias), canonical, cutoff(now), 'start')) as [string, ...unknown[]];
    if (begun[0] === '@merging') {
      // Another merge of the alias is under way: complete it, then this one answers same or conflict.
      await completeClusterMerge(alias, begun[1] as string);
      return 'retry';
    }
    if (begun[0] !== 'begun') return settleMerge(begun as [string, unknown], canonical, now);
    afterMergeStep('begin');
    const result = await completeClusterMerge(alias, canonical, now);
    return result === 'limit' ? { kind: 'limit', max: maxAliases } : mergedProfile(result, now, true);
  }

  /**
   * Completes the merge of `alias` into `canonical` recorded by its journal:
   * copy, point the alias over and delete its data, point its own aliases
   * over, drop the journal. Returns the canonical id it ended on, or 'limit'
   * when the canonical customer has no room for the alias (the journal is
   * then dropped and the alias stays as it was).
   */
  async function completeClusterMerge(alias: string, canonical: string, now = clock()): Promise<string | 'limit'> {
    let target = canonical;
    for (let attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
      const begun = (await scripts.nbMergeBegin(...mergeKeys(alias), target, cutoff(now), 'resume')) as [string, ...unknown[]];
      // Completed (or given up) by someone else meanwhile.
      if (begun[0] !== 'begun') return target;
      const [, finished, attributes, , stage, createdAt, touchpoints, outcomes, own] = begun as [
        string,
        number,
        string,
        string,
        string,
        string,
        string[],
        string[],
        string[],
      ];
      if (finished === 0) {
        const c = keys(target);
        const [current, version] = (await client.hmget(c.p, 'a', 'v')) as [string | null, string | null];
        const merged = mergeAttributes(parseAttributes(current), parseAttributes(attributes === '' ? null : attributes));
        const copy = (await scripts.nbMergeCopy(
          ...mergeKeys(target),
          String(now),
          cutoff(now),
          options.maxTouchpointsPerProfile,
          maxAliases,
          version ?? '',
          JSON.stringify(merged),
          stage,
          createdAt,
          channel,
          message(target),
          alias,
          own.length,
          ...own,
          touchpoints.length / 4,
          ...touchpoints,
          outcomes.length / 3,
          ...outcomes,
        )) as [string, unknown];
        const redirect = redirectOf(copy);
        if (redirect) {
          if (redirect.kind === 'merging') await completeClusterMerge(target, redirect.canonical, now);
          const next = redirect.kind === 'alias' ? redirect.canonical : await resolveId(target);
          await scripts.nbMergeJournal(keys(alias).j, keys(alias).s, target, next);
          target = next;
          continue;
        }
        if (copy[0] === 'retry') continue;
        if (copy[0] === 'limit') {
          await scripts.nbMergeJournal(keys(alias).j, keys(alias).s, target, 'abort');
          return 'limit';
        }
        await forgetDropped(copy[1] as string[], now);
        afterMergeStep('copy');
      }
      const repoint = (await scripts.nbMergeFinish(...mergeKeys(alias), target, channel, message(alias))) as string[] | null;
      afterMergeStep('finish');
      if (repoint) {
        await Promise.all(repoint.map((id) => scripts.nbMergeRepoint(keys(id).a, alias, target, channel, message(id))));
        afterMergeStep('repoint');
      }
      await scripts.nbMergeJournal(keys(alias).j, keys(alias).s, target, 'done');
      afterMergeStep('done');
      return target;
    }
    throw new StoreUnavailableError(`the merge of ${alias} into ${canonical} kept being disturbed during ${PATCH_ATTEMPTS} attempts`);
  }

  /**
   * One SCAN step over the profile hashes, then their decision profiles. On a
   * Cluster each master is scanned in turn (a key lives on one master), so the
   * cursor is `<master index>:<SCAN cursor>`, the masters ordered by address.
   */
  async function scanPage(cursor: string | null, limit: number): Promise<DecisionProfilePage> {
    const nodes = client instanceof ioredis().Cluster ? [...client.nodes('master')].sort(byAddress) : [client];
    const match = /^(\d+):(\d+)$/.exec(cursor ?? '0:0');
    if (!match) throw new InvalidInputError(`not a scan cursor: "${cursor}"`, [{ path: '$.cursor', message: 'not a cursor this store made' }]);
    let nodeIndex = Number(match[1]);
    const node = nodes[nodeIndex];
    if (!node) return { profiles: [], cursor: null };
    const [next, found] = await node.scan(match[2] as string, 'MATCH', `${escapeGlob(prefix)}{*}:p`, 'COUNT', limit);
    const ids = found.map((key) => customerIdOfProfileKey(key, prefix)).filter((id): id is string => id !== null);
    const now = clock();
    const read = await readEach(ids, (id) => readDecision(id, now));
    let nextCursor: string | null = `${nodeIndex}:${next}`;
    if (next === '0') {
      nodeIndex++;
      nextCursor = nodeIndex < nodes.length ? `${nodeIndex}:0` : null;
    }
    return { profiles: [...read.values()], cursor: nextCursor };
  }

  async function sweep(now: number): Promise<number> {
    const oldestKept = cutoff(now);
    const nodes = client instanceof ioredis().Cluster ? client.nodes('master') : [client];
    let total = 0;
    let skipped = 0;
    const passes = [
      { suffix: 't', run: (k: ReturnType<typeof keys>) => scripts.nbSweep(k.t, k.x, k.i, oldestKept) },
      { suffix: 'o', run: (k: ReturnType<typeof keys>) => scripts.nbSweepOutcomes(k.o, k.v, oldestKept) },
    ];
    for (const node of nodes) for (const pass of passes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}{*}:${pass.suffix}`, 'COUNT', SWEEP_SCAN_COUNT);
        cursor = next;
        for (const key of found) {
          const customerId = customerIdOfKey(key, prefix, pass.suffix);
          if (customerId === null) continue;
          const k = keys(customerId);
          try {
            total += (await pass.run(k)) as number;
          } catch (error) {
            // One customer's corrupt keys must not stop the sweep of everyone after them, pass after pass.
            if (!(error instanceof Error) || !isDataError(error)) throw error;
            skipped++;
          }
        }
      } while (cursor !== '0');
    }
    if (skipped > 0) onEvent({ kind: 'warning', message: `the retention sweep skipped ${skipped} customer(s) whose Redis keys have the wrong type` });
    return total;
  }

  return {
    kind: 'redis',
    get: (customerId) => run('get', () => readProfile(customerId, clock())),
    getMany: (customerIds) => run('getMany', () => readEach(customerIds, (id) => readProfile(id, clock()))),
    getForDecision: (customerId) => run('getForDecision', () => readDecision(customerId, clock())),
    getManyForDecision: (customerIds) => run('getManyForDecision', () => readEach(customerIds, (id) => readDecision(id, clock()))),
    appendTouchpoints: (customerId, touchpoints, now) => run('appendTouchpoints', () => append(customerId, touchpoints, now)),
    appendOutcomes: (customerId, outcomes, now) => run('appendOutcomes', () => appendOutcomes(customerId, outcomes, now)),
    outcomeTotals: (items, now) => run('outcomeTotals', () => outcomeTotals(items, now)),
    sharedSecret: (name, candidate) =>
      run('sharedSecret', async () => {
        const key = `${prefix}meta:${name}`;
        await client.set(key, candidate, 'NX');
        const value = await client.get(key);
        if (value === null) throw new StoreUnavailableError(`the shared value ${key} vanished right after it was set`);
        return value;
      }),
    addDecisionNames: (names) => run('addDecisionNames', () => addDecisionNames(names)),
    decisionNames: () => run('decisionNames', () => client.lrange(decisionNameListKey, 0, -1)),
    patch: (customerId, change, now) => run('patch', () => patch(customerId, change, now)),
    delete: (customerId) =>
      run('delete', async () => {
        const { id, reply } = await onCanonical<[number, string[], string[]]>(customerId, (target) => {
          const k = keys(target);
          return scripts.nbDelete(k.p, k.t, k.x, k.i, k.o, k.v, k.a, k.j, k.s, channel, message(target));
        });
        const [removed, outcomes, aliases] = reply;
        afterDeleteStep('data');
        // The aliases' pointers (in their own slots on a Cluster) go after the customer's data, and the set that lists
        // them last: a crash anywhere between leaves the set, so deleting again by any id of the customer finishes.
        await Promise.all(aliases.map((alias) => scripts.nbDeletePointer(keys(alias).a, id, channel, message(alias))));
        afterDeleteStep('pointers');
        if (aliases.length > 0) await client.del(keys(id).s);
        const gone: Array<Pick<StoredOutcome, 'item' | 'kind' | 'at'>> = [];
        for (let n = 0; n < outcomes.length / 2; n++) {
          try {
            const [, , item, kind] = parseOutcomeMember(outcomes[2 * n] as string);
            gone.push({ item, kind, at: Number(outcomes[2 * n + 1]) });
          } catch {
            // A member this store did not write counts for nobody; the customer is deleted all the same.
          }
        }
        // Erased outcomes stop counting for everyone's caps too.
        await addToTotals(gone, -1, clock());
        return removed > 0 || aliases.length > 0;
      }),
    resolve: (customerId) => run('resolve', () => resolveId(customerId)),
    addAlias: (customerId, alias, now) => run('addAlias', () => addAlias(customerId, alias, now)),
    scanDecisionProfiles: (cursor, limit) => run('scanDecisionProfiles', () => scanPage(cursor, Math.max(1, limit))),
    sweepExpired: (now) => run('sweepExpired', () => sweep(now)),
    ping: () =>
      run('ping', async () => {
        await client.ping();
      }),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([quit(client), subscriber ? quit(subscriber) : undefined]);
    },
    watchChanges(listener) {
      if (subscriber) throw new Error('the redis store already has a change listener');
      if (closed) return;
      subscriber = connect(options, 'changes');
      watch(subscriber, channel, origin, listener, () => closed);
    },
  };
}

/**
 * Keeps one subscription to the change channel. Until it is confirmed, and
 * whenever the connection drops, the cache is suspended: notifications could
 * be missed. Each (re)subscription resumes it, which also clears it.
 */
function watch(subscriber: Client, channel: string, origin: string, listener: ChangeListener, isClosed: () => boolean): void {
  let subscribed = false;
  listener.suspend();
  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    const space = text.indexOf(' ');
    if (space < 0 || text.slice(0, space) === origin) return;
    listener.changed(text.slice(space + 1));
  });
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(
      () => {
        if (isClosed()) return;
        subscribed = true;
        listener.resume();
      },
      () => undefined, // the connection dropped again; the next 'ready' retries
    );
  });
  subscriber.on('close', () => {
    if (subscribed) listener.suspend();
    subscribed = false;
  });
  subscriber.on('error', () => undefined);
}

function connect(options: RedisStoreOptions, role: string): Client {
  const common: RedisOptions = {
    // RESP2: understood by every Redis and Redis-compatible server.
    protocol: 2,
    connectionName: `nextbest-${role}`,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // Fail fast while disconnected, and never resend a command after a reconnect (see createRedisStore).
    enableOfflineQueue: role === 'changes',
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
  };
  if (options.cluster) {
    const nodes: ClusterNode[] = options.url.split(',').map((seed) => seed.trim()).filter(Boolean);
    return new (ioredis().Cluster)(nodes, {
      redisOptions: common,
      enableOfflineQueue: common.enableOfflineQueue ?? false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    });
  }
  return new (ioredis().Redis)(options.url, common);
}

function defineScripts(client: Client): Scripts {
  for (const [name, definition] of Object.entries(SCRIPT_DEFINITIONS)) client.defineCommand(name, definition);
  const commands = client as unknown as Record<string, ScriptCall>;
  const bound = {} as Scripts;
  for (const name of Object.keys(SCRIPT_DEFINITIONS) as Array<keyof Scripts>) {
    bound[name] = (commands[name] as ScriptCall).bind(client);
  }
  return bound;
}

/** The parts of a timeline member: number, type, channel (types and channels are slugs, free of "|"). */
function splitMember(member: string): [string, string, string] {
  const first = member.indexOf('|', 16);
  const second = member.indexOf('|', first + 1);
  return [member.slice(0, first), member.slice(first + 1, second), member.slice(second + 1)];
}

function customerIdOfKey(key: string, prefix: string, suffix: string): string | null {
  if (!key.startsWith(`${prefix}{`) || !key.endsWith(`}:${suffix}`)) return null;
  return key.slice(prefix.length + 1, -(suffix.length + 2));
}

/** An outcome's member in the customer's outcome zset: what makes a repeat a duplicate. */
function outcomeMember(outcome: StoredOutcome): string {
  return JSON.stringify([outcome.decisionId, outcome.placement, outcome.item, outcome.kind]);
}

function parseOutcomeMember(member: string): [decisionId: string, placement: string, item: string, kind: OutcomeKind] {
  return JSON.parse(member) as [string, string, string, OutcomeKind];
}

const KIND_INSTANCES = new Map<string, OutcomeKind>(OUTCOME_KINDS.map((kind) => [kind, kind]));

/** A decision's outcome columns from the zset's members and scores, newest first. */
function toOutcomeColumns(members: readonly string[]): OutcomeColumns {
  const count = members.length / 2;
  const kinds = new Array<OutcomeKind>(count);
  const items = new Array<string>(count);
  const placements = new Array<string>(count);
  const at = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    const [, placement, item, kind] = parseOutcomeMember(members[2 * n] as string);
    kinds[n] = KIND_INSTANCES.get(kind) ?? kind;
    items[n] = intern(item);
    placements[n] = intern(placement);
    at[n] = Number(members[2 * n + 1]);
  }
  return { kinds, items, placements, at };
}

function customerIdOfProfileKey(key: string, prefix: string): string | null {
  if (!key.startsWith(`${prefix}{`) || !key.endsWith('}:p')) return null;
  return key.slice(prefix.length + 1, -3);
}

function byAddress(a: Redis, b: Redis): number {
  const address = (node: Redis) => `${node.options.host ?? ''}:${String(node.options.port ?? '').padStart(5, '0')}`;
  return address(a) < address(b) ? -1 : address(a) > address(b) ? 1 : 0;
}

function customerIdOfTimeline(key: string, prefix: string): string | null {
  if (!key.startsWith(`${prefix}{`) || !key.endsWith('}:t')) return null;
  return key.slice(prefix.length + 1, -3);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Warns when acknowledged writes would not survive a Redis restart. Managed services may refuse CONFIG: then nothing is said. */
async function checkDurability(client: Client, onEvent: (event: RedisStoreEvent) => void): Promise<void> {
  try {
    const nodes = client instanceof ioredis().Cluster ? client.nodes('master') : [client];
    const reply = (await nodes[0]?.config('GET', 'appendonly')) as string[] | undefined;
    if (reply?.[1] === 'no') {
      onEvent({ kind: 'warning', message: 'Redis runs without AOF (appendonly no): acknowledged writes are lost when it restarts' });
    }
  } catch {
    // CONFIG is often disabled on managed Redis.
  }
}

async function quit(client: Client): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

function asStoreError(error: unknown, operation: string, everConnected: boolean): unknown {
  // Domain errors (a patch too large) pass through.
  if (!(error instanceof Error) || error instanceof StoreUnavailableError || error instanceof InvalidInputError || error instanceof ProfileDataError) {
    return error;
  }
  if (isDataError(error)) {
    return new ProfileDataError(`the redis profile store could not ${operation} this customer's data: ${error.message}`, { cause: error });
  }
  // Anything else from the client (connection lost, refused, not ready, a server that cannot serve) means Redis cannot serve.
  const state = everConnected ? '' : ' (never connected)';
  return new StoreUnavailableError(`the redis profile store failed ${operation}${state}: ${plainReason(error)}`, { cause: error });
}

/**
 * The client's reason in words an operator reading /readyz or a log line can
 * act on. ioredis words a call made while it is disconnected after one of its
 * options ("Stream isn't writeable and enableOfflineQueue options is false");
 * the cause keeps the original.
 */
function plainReason(error: Error): string {
  if (error.message.startsWith("Stream isn't writeable")) return 'not connected to Redis (reconnecting)';
  if (error.message === 'Connection is closed.') return 'the connection to Redis is closed (reconnecting)';
  return error.message;
}

/**
 * Whether Redis answered, and what it refused is this customer's data: a key
 * of the wrong type, a script that failed on what it read or refused its
 * arguments (its own "ERR nextbest ..." replies), or stored JSON that does not
 * parse. Such an error must not count as an outage: it would open the circuit
 * breaker for every other customer. Error replies that do mean the server
 * cannot serve (LOADING, BUSY, READONLY, OOM, MASTERDOWN, CLUSTERDOWN, ...) keep
 * their own code, even when raised inside a script, so they are not matched.
 */
function isDataError(error: Error): boolean {
  if (error instanceof SyntaxError) return true;
  if (error.name !== 'ReplyError') return false;
  const { message } = error;
  if (message.startsWith('WRONGTYPE ')) return true;
  // Redis before 7 wraps a command's error inside a script as "ERR Error running script ...: -OOM ...".
  return message.startsWith('ERR ') && /user_script|^ERR nextbest /.test(message) && !UNAVAILABLE_CODES.test(message);
}

const UNAVAILABLE_CODES = /\b(?:OOM|READONLY|LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MISCONF|NOREPLICAS)\b/;

/** A script's redirect: the customer is an alias, or a Cluster merge of it is under way (redis-scripts.ts). */
function redirectOf(reply: unknown): { kind: 'alias' | 'merging'; canonical: string } | null {
  if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[1] !== 'string') return null;
  if (reply[0] === '@alias') return { kind: 'alias', canonical: reply[1] };
  if (reply[0] === '@merging') return { kind: 'merging', canonical: reply[1] };
  return null;
}

function parseAttributes(stored: string | null): JsonObject {
  return stored === null ? {} : (JSON.parse(stored) as JsonObject);
}
