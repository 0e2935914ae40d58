import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { intern, NO_OUTCOMES, toOutcomeColumns, type DecisionProfile } from '../domain/decision-profile.js';
import { ProfileDataError, StoreUnavailableError } from '../domain/errors.js';
import type { JsonObject } from '../domain/json.js';
import type { OutcomeKind, StoredOutcome } from '../domain/outcome.js';
import type { Profile } from '../domain/profile.js';
import type { StoredTouchpoint } from '../domain/touchpoint.js';
import { mergeAttributes, mergeStage } from '../identity/merge.js';
import { patchAttributes } from './patch-attributes.js';
import { recordFileIdentity } from './sqlite-file-identity.js';
import { createGroupCommitQueue } from './sqlite-group-commit.js';
import { parseView, prepareDecisionStatements, checkedViewName, viewTime, type DecisionGroup, type DecisionOutcomeRow, type DecisionProfileRow } from './sqlite-decision-read.js';
import { createSqliteReader, ReaderFailedError, type ReaderAnswer } from './sqlite-reader.js';
import { countByKind, DAY_MS, DEFAULT_MAX_ALIASES_PER_CUSTOMER, MAX_DECISION_NAMES, type AliasResult, type AppendResult, type DecisionProfilePage, type OutcomeAppendResult, type OutcomeDayCount, type ProfileChange, type ProfileStore, type StoreLimits } from './store.js';

export interface SqliteStoreOptions extends StoreLimits {
  /** The database file; its folder is created when missing. */
  path: string;
  /**
   * FULL (the default) fsyncs the WAL on every commit, so an acknowledged write
   * survives power loss. NORMAL may lose the last commits on power loss (never
   * on a process crash) in exchange for faster writes.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a write waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  /** Called after each commit with the number of writes it held (writes sent together share one commit). */
  onCommit?: (writes: number) => void;
  /**
   * Reads groups of customers for decisions (the decision stream, batches) on
   * a reader thread with its own connection, so this thread goes on deciding
   * meanwhile (sqlite-reader.ts). Default false, as the service's
   * SQLITE_READER_THREAD. Ignored for an in-memory database.
   */
  readerThread?: boolean;
  /** Called when the reader thread fails or stops; the store then reads those groups itself and starts a new thread on the next one. */
  onReaderFailure?: (error: Error) => void;
  /** Group reads of fewer customers are read on the store's thread; default READER_MIN_CUSTOMERS (tests lower it to 1). */
  readerMinCustomers?: number;
}

/** Group reads of fewer customers are read on the store's thread: the hand-over would cost more than it frees. */
export const READER_MIN_CUSTOMERS = 16;

/**
 * Schema steps; `PRAGMA user_version` records how many have run. Append new
 * steps, never edit old ones: existing files only run the steps after theirs.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE profiles (
    customer_id TEXT PRIMARY KEY,
    attributes TEXT NOT NULL,
    stage TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE touchpoints (
    -- AUTOINCREMENT so a deleted newest row's number is never reused: seq
    -- orders touchpoints with equal 'at' by insertion.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL REFERENCES profiles ON DELETE CASCADE,
    id TEXT,
    type TEXT NOT NULL,
    channel TEXT NOT NULL,
    at INTEGER NOT NULL,
    properties TEXT
  ) STRICT;
  CREATE UNIQUE INDEX touchpoints_customer_touchpoint_id ON touchpoints (customer_id, id) WHERE id IS NOT NULL;
  CREATE INDEX touchpoints_customer_at ON touchpoints (customer_id, at);
  CREATE INDEX touchpoints_at ON touchpoints (at);
  `,
  `
  -- What customers did with what decisions served (contract section 8); the
  -- reports read it too. seq orders outcomes with equal 'at' by insertion.
  CREATE TABLE outcomes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL REFERENCES profiles ON DELETE CASCADE,
    decision_id TEXT NOT NULL,
    placement TEXT NOT NULL,
    item TEXT NOT NULL,
    rule TEXT,
    arm TEXT,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    value REAL
  ) STRICT;
  -- One outcome of each kind per decision, placement and item: a repeat is a duplicate.
  CREATE UNIQUE INDEX outcomes_once ON outcomes (customer_id, decision_id, placement, item, kind);
  -- A customer's outcomes by time (profile reads, caps, the outcomeCount fact).
  CREATE INDEX outcomes_customer_at ON outcomes (customer_id, at);
  -- Everyone's counts per item and kind (caps with scope "all", reports).
  CREATE INDEX outcomes_item_kind_at ON outcomes (item, kind, at);
  -- The retention sweep.
  CREATE INDEX outcomes_at ON outcomes (at);
  -- Values every process sharing the file must agree on (the decision id key).
  CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  `,
  // A decision reads type, channel and at of a customer's touchpoints (selectDecisionTouchpoints): with them in
  // the index it never visits the table rows, whose properties make them large. Measured on 60-touchpoint
  // profiles: about 40 µs a profile instead of 100, which is most of a send's time (the decision stream,
  // nextbest offers). It leads with (customer_id, at), so it takes the place of the index it replaces.
  `
  CREATE INDEX touchpoints_decision ON touchpoints (customer_id, at, seq, type, channel);
  DROP INDEX touchpoints_customer_at;
  `,
  // Aliases (contract section 11): each alias points at its canonical customer in one step (addAlias flattens chains).
  // An alias has no profile row of its own; its canonical customer does.
  `
  CREATE TABLE aliases (alias TEXT PRIMARY KEY, canonical TEXT NOT NULL) STRICT;
  CREATE INDEX aliases_canonical ON aliases (canonical);
  `,
  // Everyone's outcomes per item, kind and UTC day, for caps with scope "all" (outcomeTotals, every 5 s). Counting
  // the outcomes rows themselves took 330-550 ms for five items over a million outcomes, on the thread that serves
  // decisions. Triggers keep the counts in the transaction that changes the rows, whatever changes them: appends,
  // a customer's DELETE (its cascade deletes fire them), a merge's duplicates, the retention sweep.
  `
  CREATE TABLE outcome_days (
    item TEXT NOT NULL,
    kind TEXT NOT NULL,
    day INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (item, day, kind)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO outcome_days (item, kind, day, count)
    SELECT item, kind, at / ${DAY_MS}, COUNT(*) FROM outcomes GROUP BY item, kind, at / ${DAY_MS};
  CREATE TRIGGER outcome_days_insert AFTER INSERT ON outcomes BEGIN
    INSERT INTO outcome_days (item, kind, day, count) VALUES (NEW.item, NEW.kind, NEW.at / ${DAY_MS}, 1)
      ON CONFLICT (item, day, kind) DO UPDATE SET count = count + 1;
  END;
  CREATE TRIGGER outcome_days_delete AFTER DELETE ON outcomes BEGIN
    UPDATE outcome_days SET count = count - 1 WHERE item = OLD.item AND day = OLD.at / ${DAY_MS} AND kind = OLD.kind;
    DELETE FROM outcome_days WHERE item = OLD.item AND day = OLD.at / ${DAY_MS} AND kind = OLD.kind AND count <= 0;
  END;
  CREATE TRIGGER outcome_days_update AFTER UPDATE OF item, kind, at ON outcomes BEGIN
    UPDATE outcome_days SET count = count - 1 WHERE item = OLD.item AND day = OLD.at / ${DAY_MS} AND kind = OLD.kind;
    DELETE FROM outcome_days WHERE item = OLD.item AND day = OLD.at / ${DAY_MS} AND kind = OLD.kind AND count <= 0;
    INSERT INTO outcome_days (item, kind, day, count) VALUES (NEW.item, NEW.kind, NEW.at / ${DAY_MS}, 1)
      ON CONFLICT (item, day, kind) DO UPDATE SET count = count + 1;
  END;
  `,
  // The names decision ids refer to by number (placement names, item ids, rule names), shared by every process
  // on the file. Append-only: numbers run from 0 without gaps, so the list read in order is the dictionary.
  `
  CREATE TABLE decision_names (number INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
  `,
  // The decision view (docs/architecture.md): what a decision reads of a customer's touchpoints, found with the
  // profile's row, so that a read is one statement and one row rather than a walk of 60 index entries (48 µs of
  // SQLite's own time on the bench's profiles).
  // - Entries: a JSON array's elements, each ",type,channel,at", oldest first (at, then seq); type and channel as
  //   their number in touchpoint_names, names past its bound in full (JSON strings). Oldest first, so an append in
  //   time order is a concatenation in SQL with no parse; the read walks them backwards.
  // - Where: decision_views.entries, then profiles.decision_view_tail. Appends lengthen the tail in the upsert of
  //   the profile's row they make anyway, and move it to decision_views once it is long: small profile rows keep the
  //   rows of customers written together on shared pages (with the whole view in the row, ingestion lost 8%).
  //   profiles.decision_view_id finds the decision_views row by one integer key.
  // - decision_view_skip counts entries at the front whose rows are gone (expired, beyond the cap, swept: always the
  //   oldest); decision_view_newest is the time of the last entry.
  // Built here from the rows; kept by the store in the write that changes the rows. The rows' table takes a new name,
  // so a process of an older build still running on this file fails on its next statement about touchpoints instead
  // of leaving the view behind (docs/operations.md); triggers calling a function only this build registers did the
  // same at 3 µs an inserted row.
  `
  CREATE TABLE touchpoint_names (number INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
  INSERT INTO touchpoint_names (number, name)
    SELECT row_number() OVER (ORDER BY name) - 1, name FROM (SELECT type AS name FROM touchpoints UNION SELECT channel FROM touchpoints)
    ORDER BY name LIMIT 10000;
  CREATE TABLE decision_views (
    id INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL UNIQUE REFERENCES profiles ON DELETE CASCADE,
    entries TEXT NOT NULL
  ) STRICT;
  ALTER TABLE profiles ADD COLUMN decision_view_id INTEGER;
  ALTER TABLE profiles ADD COLUMN decision_view_tail TEXT NOT NULL DEFAULT '';
  ALTER TABLE profiles ADD COLUMN decision_view_newest INTEGER;
  ALTER TABLE profiles ADD COLUMN decision_view_skip INTEGER NOT NULL DEFAULT 0;
  INSERT INTO decision_views (customer_id, entries) SELECT customer_id, coalesce((SELECT group_concat(entry, '') FROM (
      SELECT ',' || coalesce(tn.number, json_quote(t.type)) || ',' || coalesce(cn.number, json_quote(t.channel)) || ',' || t.at AS entry
      FROM touchpoints AS t LEFT JOIN touchpoint_names AS tn ON tn.name = t.type LEFT JOIN touchpoint_names AS cn ON cn.name = t.channel
      WHERE t.customer_id = profiles.customer_id ORDER BY t.at, t.seq)), '') FROM profiles;
  UPDATE profiles SET decision_view_id = (SELECT id FROM decision_views WHERE customer_id = profiles.customer_id),
    decision_view_newest = (SELECT max(at) FROM touchpoints WHERE customer_id = profiles.customer_id);
  CREATE INDEX profiles_decision_view_skip ON profiles (customer_id) WHERE decision_view_skip > 0;
  ALTER TABLE touchpoints RENAME TO touchpoint_rows;
  `,
  // Decisions read the view (step 7), not the rows: the rows' index no longer needs type and channel, which every
  // append wrote into it a second time. (customer_id, at) orders like (customer_id, at, seq): seq is the rowid,
  // which ends every index entry. What still reads rows by customer (a profile's touchpoints, a view's rebuild, the
  // cap) reads the table through it. Dropped first, so that the new index takes the old one's freed pages and the
  // file does not grow.
  `
  DROP INDEX touchpoints_decision;
  CREATE INDEX touchpoint_rows_customer_at ON touchpoint_rows (customer_id, at);
  `,
];

/** Names numbered in touchpoint_names at most; past it a view holds names in full (a sender inventing slugs cannot grow it). */
const MAX_TOUCHPOINT_NAMES = 10_000;

/** Entries at a view's front whose rows are gone, past which an append rebuilds the view rather than lengthen it. */
const MAX_VIEW_SKIP = 32;
/** A view's tail (characters) past which an append moves it to decision_views: about 25 entries. */
const MAX_VIEW_TAIL = 512;
/** decision_view_skip as an append's touch of the row leaves it when the new entries are older than the view's newest. */
const VIEW_NOT_LENGTHENED = -1;

/** Rows deleted per transaction by the sweep, so request writes are never held up for long. */
const SWEEP_CHUNK = 5000;
/** Views rebuilt per transaction by the sweep. */
const VIEW_COMPACT_CHUNK = 500;

/** SQLite failures that say "the store cannot serve now", not "this request is wrong". */
const UNAVAILABLE_CODES = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PROTOCOL', 'SQLITE_NOMEM'];

interface ProfileRow {
  customer_id: string;
  attributes: string;
  stage: string | null;
  created_at: number;
  updated_at: number;
}

/** Read with `.raw()`: arrays cost a third less than row objects for thousands of touchpoints. */
type TouchpointRow = [id: string | null, type: string, channel: string, at: number, properties: string | null];

type OutcomeRow = [decisionId: string, placement: string, item: string, rule: string | null, arm: string | null, kind: string, at: number, value: number | null];
type ScanProfileRow = [customerId: string, attributes: string, stage: string | null, view: string, viewSkip: number];
type ScanOutcomeRow = [customerId: string, kind: string, item: string, placement: string, at: number];

/** An append's accepted touchpoint, with its place in the batch (its seq's order). */
interface AcceptedTouchpoint {
  type: string;
  channel: string;
  at: number;
  index: number;
}

interface TouchpointInsert {
  customerId: string;
  id: string | null;
  type: string;
  channel: string;
  at: number;
  properties: string | null;
}

/**
 * Profiles in an embedded SQLite file (WAL). Writes are queued and committed
 * in groups (sqlite-group-commit.ts), each in a savepoint of its own; a
 * write's promise resolves once the transaction holding it has committed, so
 * it is on disk by then and every later read sees it. better-sqlite3 is
 * synchronous, so each read and each group runs to completion without
 * interleaving with another.
 */
export function createSqliteStore(options: SqliteStoreOptions): ProfileStore {
  const db = openDatabase(options);
  const statements = prepareStatements(db);
  const clock = options.now ?? Date.now;
  const cutoff = (now: number): number => now - options.retentionDays * DAY_MS;
  let closed = false;
  const filesChanged = db.memory ? () => null : recordFileIdentity(db.name);
  const reader =
    options.readerThread && !db.memory
      ? createSqliteReader({ path: db.name, busyTimeoutMs: options.busyTimeoutMs ?? 5000 }, options.onReaderFailure ?? (() => undefined))
      : null;
  const readerMinCustomers = options.readerMinCustomers ?? READER_MIN_CUSTOMERS;

  /** Throws when the file is gone or replaced: a write committed now would not survive a restart. */
  function assertSameFile(): void {
    const reason = filesChanged();
    if (reason !== null) {
      throw new StoreUnavailableError(`SQLite profile store ${options.path}: ${reason}; writes are refused until the service restarts`);
    }
  }

  const writes = createGroupCommitQueue({
    db,
    beforeGroup() {
      // Numbers learnt in a group that failed as a whole were rolled back with it.
      pendingNumbers.clear();
      assertSameFile();
    },
    onCommit(count) {
      confirmNumbers();
      options.onCommit?.(count);
    },
  });

  const maxAliases = options.maxAliasesPerCustomer ?? DEFAULT_MAX_ALIASES_PER_CUSTOMER;

  /** The canonical id: the one the alias points at, else the id itself. */
  function resolve(customerId: string): string {
    return statements.selectCanonical.get(customerId) ?? customerId;
  }

  function readProfile(askedId: string, now: number): Profile | null {
    const row = statements.selectResolvedProfile.get(askedId, askedId);
    if (!row) return null;
    const customerId = row.customer_id;
    const oldestKept = cutoff(now);
    return {
      ...toProfile(row, statements.selectTouchpoints.all(customerId, oldestKept)),
      outcomes: statements.selectOutcomes.all(customerId, oldestKept).map(toOutcome),
      aliases: statements.selectAliasesOf.all(customerId),
    };
  }

  /**
   * Profiles after the cursor (the last id of the previous page) in id order,
   * and their touchpoints in one range read over the (customer_id, at) index
   * rather than one query a customer: a hundred thousand customers in seconds.
   */
  function scanPage(cursor: string | null, limit: number, now: number): DecisionProfilePage {
    const rows = statements.scanProfiles.all(cursor ?? '', limit);
    if (rows.length === 0) return { profiles: [], cursor: null };
    const first = (rows[0] as ScanProfileRow)[0];
    const last = (rows[rows.length - 1] as ScanProfileRow)[0];
    const oldestKept = cutoff(now);
    // Outcomes too: the journey map's stage "then" may read the outcomeCount fact.
    const outcomesOf = new Map<string, { kinds: OutcomeKind[]; items: string[]; placements: string[]; at: number[] }>();
    for (const [customerId, kind, item, placement, at] of statements.scanOutcomes.all(first, last, oldestKept)) {
      let columns = outcomesOf.get(customerId);
      if (!columns) outcomesOf.set(customerId, (columns = { kinds: [], items: [], placements: [], at: [] }));
      columns.kinds.push(kind as OutcomeKind);
      columns.items.push(intern(item));
      columns.placements.push(intern(placement));
      columns.at.push(at);
    }
    const profiles = rows.map(([customerId, attributes, stage, view, viewSkip]): DecisionProfile => {
      const outcomes = outcomesOf.get(customerId);
      return {
        customerId,
        attributes: JSON.parse(attributes) as JsonObject,
        stage,
        // Straight into the decision columns from the view (as toDecisionProfile builds them): a scan reads millions of touchpoints.
        ...readView(view, viewSkip, oldestKept),
        outcomes: outcomes ? { ...outcomes, at: Float64Array.from(outcomes.at) } : NO_OUTCOMES,
      };
    });
    return { profiles, cursor: rows.length < limit ? null : last };
  }

  function readDecisionProfile(askedId: string, now: number, times?: SharedTimes): DecisionProfile | null {
    // The alias lookup is folded into the profile's read, and the touchpoints come with the row as its decision
    // view (schema step 7): one statement, one row. See docs/performance.md, 2026-12-05 (night).
    const row = statements.selectResolvedDecisionProfile.get(askedId, askedId);
    if (!row) return null;
    const [customerId, attributes, stage, view, viewSkip] = row;
    const oldestKept = cutoff(now);
    const outcomes = statements.selectDecisionOutcomes.all(customerId, oldestKept).map(toDecisionOutcome);
    return readStored(() => ({
      customerId,
      attributes: JSON.parse(attributes) as JsonObject,
      stage,
      ...readView(view, viewSkip, oldestKept, times),
      outcomes: toOutcomeColumns(outcomes),
    }));
  }

  /**
   * A customer's stored values read into a decision profile. A value that
   * cannot be read (the file was edited by hand or damaged: attributes that
   * are not JSON, a view that is not one) is the customer's data at fault,
   * not the store: ProfileDataError, as the other stores answer, so the
   * decision is made as for a new visitor and says why, instead of a 500.
   * The file's own errors pass as they are (guard makes them unavailable).
   */
  function readStored<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof Database.SqliteError || error instanceof StoreUnavailableError) throw error;
      throw unreadable(error as Error);
    }
  }

  function unreadable(error: Error): ProfileDataError {
    return new ProfileDataError(`the SQLite profile store ${options.path} could not read this customer's data: ${error.message}`, { cause: error });
  }

  /**
   * The decision columns (newest first, as toDecisionProfile builds them; the contract suite holds every store to
   * the same answers) from a view: its entries past the skipped ones and the retention cutoff, walked backwards.
   * JSON.parse reads the whole view in one native pass; the names are numbers into the file's name list.
   */
  function readView(view: string, skip: number, oldestKept: number, times?: SharedTimes): Pick<DecisionProfile, 'types' | 'channels' | 'at'> {
    const { values, first, entries } = parseView(view, skip, oldestKept);
    const count = entries - first;
    const types = new Array<string>(count);
    const channels = new Array<string>(count);
    const at = times ? times.take(count) : new Float64Array(count);
    for (let i = 0, j = (entries - 1) * 3; i < count; i++, j -= 3) {
      types[i] = nameOf(checkedViewName(values[j]));
      channels[i] = nameOf(checkedViewName(values[j + 1]));
      at[i] = viewTime(values[j + 2]);
    }
    return { types, channels, at };
  }

  /**
   * The decision profiles of a group the reader thread read: its names looked up here (numbers the file gave since
   * this thread last looked are read from the file, committed before the reader's read began), its times copied out
   * of the shared array so that a profile kept by the cache keeps only its own (unless none is kept).
   */
  function fromReader(answer: ReaderAnswer, kept: boolean): Map<string, DecisionProfile> {
    if ('sqliteError' in answer) throw new Database.SqliteError(answer.sqliteError.message, answer.sqliteError.code);
    if ('dataError' in answer) throw unreadable(new Error(answer.dataError));
    return readStored(() => profilesOfGroup(answer.group, kept));
  }

  function profilesOfGroup({ found, names: numbers, texts, at: times }: DecisionGroup, kept: boolean): Map<string, DecisionProfile> {
    const profiles = new Map<string, DecisionProfile>();
    let next = 0;
    for (const [askedId, customerId, attributes, stage, count, outcomes] of found) {
      const types = new Array<string>(count);
      const channels = new Array<string>(count);
      for (let i = 0; i < count; i++) {
        const type = numbers[2 * (next + i)] as number;
        const channel = numbers[2 * (next + i) + 1] as number;
        types[i] = type >= 0 ? nameOf(type) : intern(texts[-1 - type] as string);
        channels[i] = channel >= 0 ? nameOf(channel) : intern(texts[-1 - channel] as string);
      }
      profiles.set(askedId, {
        customerId,
        attributes: JSON.parse(attributes) as JsonObject,
        stage,
        types,
        channels,
        // Kept by no one, the group's profiles keep their times where they came (SharedTimes, below).
        at: kept ? times.slice(next, next + count) : times.subarray(next, next + count),
        outcomes: outcomes === null ? NO_OUTCOMES : toOutcomeColumns(outcomes.map(toDecisionOutcome)),
      });
      next += count;
    }
    return profiles;
  }

  // The file's touchpoint names by number (interned), and numbers by name. Numbers are given in the write that
  // first stores a name, in its savepoint: a number learnt there is only pending until that write's group has
  // committed, since a rolled-back number would be given again, to another name, by the next process to ask.
  const names: string[] = [];
  const numbers = new Map<string, number>();
  const pendingNumbers = new Map<string, number>();

  /** A view's name: its number's name, or the name itself (past the list's bound). */
  function nameOf(value: number | string): string {
    if (typeof value === 'string') return intern(value);
    if (!Number.isInteger(value) || value < 0) throw new Error(`its decision view has a name that is neither a number nor a text: ${JSON.stringify(value)}`);
    const known = names[value];
    if (known !== undefined) return known;
    loadNames();
    const loaded = names[value];
    if (loaded === undefined) throw new Error(`SQLite profile store ${options.path}: touchpoint name number ${value} is not in touchpoint_names`);
    return loaded;
  }

  /**
   * Reads the whole list (another process numbered a name this one has not seen; the numbers known here need not
   * run without gaps, so all of them, at most 10,000, and rarely). Read outside writes, so committed.
   */
  function loadNames(): void {
    for (const [number, name] of statements.selectTouchpointNames.all()) {
      names[number] = intern(name);
      numbers.set(name, number);
    }
  }

  /** A name as a view writes it: its number, giving it one in this write when it has none and there is room, else in full. */
  function viewName(name: string, learnt: string[]): string {
    const number = numbers.get(name) ?? pendingNumbers.get(name);
    if (number !== undefined) return String(number);
    let stored = statements.selectTouchpointNameNumber.get(name);
    if (stored === undefined) {
      const next = statements.nextTouchpointNameNumber.get() as number;
      if (next >= MAX_TOUCHPOINT_NAMES) return JSON.stringify(name);
      statements.insertTouchpointName.run(next, name);
      stored = next;
    }
    pendingNumbers.set(name, stored);
    learnt.push(name);
    return String(stored);
  }

  /** After a commit: the numbers its writes learnt are in the file for good. */
  function confirmNumbers(): void {
    for (const [name, number] of pendingNumbers) {
      numbers.set(name, number);
      names[number] = intern(name);
    }
    pendingNumbers.clear();
  }

  const readOne = db.transaction(readProfile);
  const readMany = db.transaction((customerIds: readonly string[], now: number) => readEach(customerIds, (id) => readProfile(id, now)));
  const readDecisionOne = db.transaction(readDecisionProfile);
  const readDecisionMany = db.transaction((customerIds: readonly string[], now: number, kept: boolean) => {
    const times = kept ? undefined : new SharedTimes(customerIds.length);
    return readEach(customerIds, (id) => readDecisionProfile(id, now, times));
  });

  // The writes run inside a group's transaction, each in its own savepoint (see `write`).
  function append(askedId: string, touchpoints: readonly StoredTouchpoint[], now: number): AppendResult {
    const customerId = resolve(askedId);
    const oldestKept = cutoff(now);
    // The view is lengthened in the statement that creates or touches the profile's row, before the rows are
    // inserted (they need the row): one statement and one rewrite of the row for an append, as before the view.
    // It assumes every touchpoint not expired is stored; a duplicate, a dropped row or an append older than the
    // view's newest entry is put right below.
    const candidates: AcceptedTouchpoint[] = [];
    let expired = 0;
    touchpoints.forEach((touchpoint, index) => {
      if (touchpoint.at < oldestKept) expired++;
      else candidates.push({ type: touchpoint.type, channel: touchpoint.channel, at: touchpoint.at, index });
    });
    // The order of the rows: time, then seq, which follows the batch's order.
    if (candidates.length > 1) candidates.sort((a, b) => a.at - b.at || a.index - b.index);
    const learnt: string[] = [];
    try {
      let entries = '';
      for (const touchpoint of candidates) entries += `,${viewName(touchpoint.type, learnt)},${viewName(touchpoint.channel, learnt)},${touchpoint.at}`;
      const oldest = candidates.length > 0 ? (candidates[0] as AcceptedTouchpoint).at : Infinity;
      const newest = candidates.length > 0 ? (candidates[candidates.length - 1] as AcceptedTouchpoint).at : null;
      const [skip, tailLength] = statements.touchProfileForAppend.get(customerId, now, now, entries, newest, oldest, oldest, oldest) as [number, number];
      // Expired rows go first so that an id whose touchpoint has aged out can be stored again.
      let dropped = statements.deleteExpiredOf.run(customerId, oldestKept).changes;
      let accepted = 0;
      for (const touchpoint of touchpoints) {
        if (touchpoint.at >= oldestKept) accepted += statements.insertTouchpoint.run(toInsert(customerId, touchpoint)).changes;
      }
      // (Nothing stored here has expired: no second look for expired rows, as there was before the view.)
      if (accepted > 0) dropped += statements.deleteBeyondCap.run(customerId, options.maxTouchpointsPerProfile).changes;
      if (skip === VIEW_NOT_LENGTHENED || accepted < candidates.length || skip + dropped > MAX_VIEW_SKIP) {
        rebuildView(customerId);
      } else {
        // The rows dropped (expired, past the cap) are the oldest: counted at the view's front.
        if (dropped > 0) statements.addViewSkip.run(dropped, customerId);
        if (tailLength > MAX_VIEW_TAIL) {
          statements.moveViewTail.run({ customerId });
          statements.clearViewTail.run(customerId);
        }
      }
      return { customerId, accepted, duplicates: touchpoints.length - accepted - expired, expired };
    } catch (error) {
      // The savepoint is rolled back: the numbers this write gave are not in the file.
      for (const name of learnt) pendingNumbers.delete(name);
      throw error;
    }
  }

  /**
   * The customer's view built again from its rows (as schema step 7 builds it), all in decision_views. The aggregate
   * takes the subquery's rows in its ORDER BY: SQLite never flattens a subquery with an ORDER BY into an aggregate
   * query, and runs it as a co-routine that yields its rows in order. The view tests check the order, equal times
   * included, so a SQLite that did otherwise would fail them.
   */
  function rebuildView(customerId: string): void {
    statements.rebuildViewEntries.run({ customerId });
    statements.rebuildViewTail.run(customerId);
  }

  function appendOutcomes(askedId: string, outcomes: readonly StoredOutcome[], now: number): OutcomeAppendResult {
    const customerId = resolve(askedId);
    statements.touchProfile.run(customerId, now, now);
    // Expired rows go first so that an outcome that has aged out can be stored again.
    statements.deleteExpiredOutcomesOf.run(customerId, cutoff(now));
    const added: StoredOutcome[] = [];
    for (const outcome of outcomes) {
      const changes = statements.insertOutcome.run({
        customerId,
        decisionId: outcome.decisionId,
        placement: outcome.placement,
        item: outcome.item,
        rule: outcome.rule,
        arm: outcome.arm,
        kind: outcome.kind,
        at: outcome.at,
        value: outcome.value,
      }).changes;
      if (changes > 0) added.push(outcome);
    }
    return { customerId, accepted: added.length, duplicates: outcomes.length - added.length, acceptedByKind: countByKind(added) };
  }

  function outcomeTotals(items: readonly string[], now: number): OutcomeDayCount[] {
    const oldestKept = cutoff(now);
    const counts: OutcomeDayCount[] = [];
    for (const item of new Set(items)) {
      for (const [kind, day, count] of statements.countOutcomesByDay.all(item, Math.floor(oldestKept / DAY_MS))) {
        counts.push({ item, kind: kind as OutcomeKind, day, count });
      }
    }
    return counts;
  }

  function sharedSecret(name: string, candidate: string): string {
    statements.insertMeta.run(name, candidate);
    return (statements.selectMeta.get(name) as { value: string }).value;
  }

  const maxDecisionNames = options.maxDecisionNames ?? MAX_DECISION_NAMES;

  /** Runs in the write's savepoint: another process on the file numbers its names before or after, never between. */
  function addDecisionNames(names: readonly string[]): string[] {
    let next = statements.nextDecisionNumber.get() as number;
    for (const name of names) {
      if (next >= maxDecisionNames) break;
      if (statements.insertDecisionName.run(next, name).changes > 0) next++;
    }
    return statements.selectDecisionNames.all();
  }

  function patch(askedId: string, change: ProfileChange, now: number): Profile {
    const customerId = resolve(askedId);
    const row = statements.selectProfile.get(customerId);
    const current = row ? (JSON.parse(row.attributes) as JsonObject) : {};
    // Throws before anything is written, so a rejected patch leaves no trace.
    const attributes = change.attributes === undefined ? current : patchAttributes(current, change.attributes);
    const stage = change.stage === undefined ? (row?.stage ?? null) : change.stage;
    statements.upsertProfile.run({ customerId, attributes: JSON.stringify(attributes), stage, now });
    return readProfile(customerId, now) as Profile;
  }

  function deleteProfile(askedId: string): boolean {
    const customerId = resolve(askedId);
    const aliases = statements.deleteAliasesOf.run(customerId).changes;
    return statements.deleteProfile.run(customerId).changes + aliases > 0;
  }

  /** The whole merge runs in the write's savepoint: it happens entirely or not at all. */
  function addAlias(customerId: string, alias: string, now: number): AliasResult {
    const canonical = resolve(customerId);
    const owner = statements.selectCanonical.get(alias);
    if (alias === canonical || owner === canonical) {
      statements.touchProfile.run(canonical, now, now);
      return { kind: 'merged', profile: readProfile(canonical, now) as Profile, changed: false };
    }
    if (owner !== undefined) return { kind: 'conflict', canonical: owner };
    const count = statements.countAliasesOf.get(canonical) as number;
    const own = statements.countAliasesOf.get(alias) as number;
    if (count + 1 + own > maxAliases) return { kind: 'limit', max: maxAliases };
    const target = statements.selectProfile.get(canonical);
    const merged = statements.selectProfile.get(alias);
    // Throws before anything is written when the attributes would grow too big.
    const attributes = mergeAttributes(target ? (JSON.parse(target.attributes) as JsonObject) : {}, merged ? (JSON.parse(merged.attributes) as JsonObject) : {});
    statements.touchProfile.run(canonical, now, now);
    if (merged) {
      const oldestKept = cutoff(now);
      statements.moveTouchpoints.run({ canonical, alias });
      statements.moveOutcomes.run({ canonical, alias });
      statements.deleteExpiredOf.run(canonical, oldestKept);
      statements.deleteBeyondCap.run(canonical, options.maxTouchpointsPerProfile);
      statements.deleteExpiredOutcomesOf.run(canonical, oldestKept);
      // What was not moved (duplicates) goes with the alias's row.
      statements.deleteProfile.run(alias);
      // Moved rows fall anywhere among the canonical customer's: its view is built again from its rows.
      rebuildView(canonical);
    }
    statements.mergeProfile.run({
      customerId: canonical,
      attributes: JSON.stringify(attributes),
      stage: mergeStage(target?.stage ?? null, merged?.stage ?? null),
      createdAt: Math.min(target?.created_at ?? now, merged?.created_at ?? now),
      now,
    });
    statements.repointAliases.run(canonical, alias);
    statements.insertAlias.run(alias, canonical);
    return { kind: 'merged', profile: readProfile(canonical, now) as Profile, changed: true };
  }

  const sweepChunk = db.transaction((oldestKept: number) => {
    // The swept rows are their customers' oldest: counted at the front of each one's view, in the same transaction.
    const customerIds = statements.deleteExpiredChunk.all(oldestKept, SWEEP_CHUNK);
    const counts = new Map<string, number>();
    for (const customerId of customerIds) counts.set(customerId, (counts.get(customerId) ?? 0) + 1);
    for (const [customerId, count] of counts) statements.addViewSkip.run(count, customerId);
    return customerIds.length;
  });
  /** Rebuilds views holding entries whose rows are gone, so a customer who sends nothing more does not keep them. */
  const compactViewChunk = db.transaction(() => {
    const customerIds = statements.selectViewsToCompact.all(VIEW_COMPACT_CHUNK);
    for (const customerId of customerIds) rebuildView(customerId);
    return customerIds.length;
  });
  const sweepOutcomeChunk = db.transaction((oldestKept: number) => statements.deleteExpiredOutcomeChunk.run(oldestKept, SWEEP_CHUNK).changes);
  const readTotals = db.transaction(outcomeTotals);

  /** Runs one store operation, turning a closed or failing database into StoreUnavailableError. */
  function guard<T>(operation: () => T): T {
    if (closed) throw new StoreUnavailableError('the SQLite profile store is closed');
    try {
      return operation();
    } catch (error) {
      throw asUnavailable(error, options.path);
    }
  }

  /** Queues one write for the next group commit; resolves after that commit, with what the write returned. */
  async function write<T>(operation: () => T): Promise<T> {
    if (closed) throw new StoreUnavailableError('the SQLite profile store is closed');
    try {
      return await writes.run(operation);
    } catch (error) {
      throw asUnavailable(error, options.path);
    }
  }

  return {
    kind: 'sqlite',
    async get(customerId) {
      return guard(() => readOne(customerId, clock()));
    },
    async getMany(customerIds) {
      return guard(() => readMany(customerIds, clock()));
    },
    async getForDecision(customerId) {
      return guard(() => readDecisionOne(customerId, clock()));
    },
    async getManyForDecision(customerIds, options) {
      if (reader !== null && customerIds.length >= readerMinCustomers && !closed) {
        let answer: ReaderAnswer | null = null;
        try {
          answer = await reader.read(customerIds, cutoff(clock()));
        } catch (error) {
          // The thread failed (onReaderFailure was told): read them here.
          if (!(error instanceof ReaderFailedError)) throw error;
        }
        if (answer !== null) {
          const read = answer;
          return guard(() => fromReader(read, options?.cacheMisses !== false));
        }
      }
      return guard(() => readDecisionMany(customerIds, clock(), options?.cacheMisses !== false));
    },
    async scanDecisionProfiles(cursor, limit) {
      return guard(() => scanPage(cursor, Math.max(1, limit), clock()));
    },
    async appendTouchpoints(customerId, touchpoints, now) {
      return write(() => append(customerId, touchpoints, now));
    },
    async appendOutcomes(customerId, outcomes, now) {
      return write(() => appendOutcomes(customerId, outcomes, now));
    },
    async outcomeTotals(items, now) {
      return guard(() => readTotals(items, now));
    },
    async sharedSecret(name, candidate) {
      return write(() => sharedSecret(name, candidate));
    },
    async addDecisionNames(names) {
      return write(() => addDecisionNames(names));
    },
    async decisionNames() {
      return guard(() => statements.selectDecisionNames.all());
    },
    async patch(customerId, change, now) {
      return write(() => patch(customerId, change, now));
    },
    async delete(customerId) {
      return write(() => deleteProfile(customerId));
    },
    async resolve(customerId) {
      return guard(() => resolve(customerId));
    },
    async addAlias(customerId, alias, now) {
      return write(() => addAlias(customerId, alias, now));
    },
    async sweepExpired(now) {
      const oldestKept = cutoff(now);
      let total = 0;
      for (const chunk of [sweepChunk, sweepOutcomeChunk]) {
        for (;;) {
          const dropped = guard(() => chunk(oldestKept));
          total += dropped;
          if (dropped < SWEEP_CHUNK) break;
          // Let queued requests run between chunks of a large sweep.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      while (guard(compactViewChunk) === VIEW_COMPACT_CHUNK) await new Promise((resolve) => setImmediate(resolve));
      return total;
    },
    async ping() {
      guard(() => {
        assertSameFile();
        statements.ping.get();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await reader?.close();
      try {
        // Writes already queued were promised an answer: commit them before the database goes.
        writes.flush();
        // Cheap when there is nothing to do; keeps query plans good for the next start.
        db.pragma('optimize');
      } finally {
        db.close();
      }
    },
  };
}

function openDatabase(options: SqliteStoreOptions): Database.Database {
  let db: Database.Database | undefined;
  try {
    fs.mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true });
    db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.pragma('foreign_keys = ON');
    migrate(db, options.path);
    return db;
  } catch (error) {
    db?.close();
    throw asUnavailable(error, options.path);
  }
}

function migrate(db: Database.Database, file: string): void {
  // IMMEDIATE takes the write lock first, so two processes starting together do not both migrate.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`${file} has schema version ${version}; this build knows versions up to ${MIGRATIONS.length}`);
    }
    for (const step of MIGRATIONS.slice(version)) db.exec(step);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

function prepareStatements(db: Database.Database) {
  return {
    ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),
    selectProfile: db.prepare<[string], ProfileRow>(
      'SELECT customer_id, attributes, stage, created_at, updated_at FROM profiles WHERE customer_id = ?',
    ),
    selectResolvedProfile: db.prepare<[string, string], ProfileRow>(
      `SELECT customer_id, attributes, stage, created_at, updated_at FROM profiles
       WHERE customer_id = coalesce((SELECT canonical FROM aliases WHERE alias = ?), ?)`,
    ),
    ...prepareDecisionStatements(db),
    selectCanonical: db.prepare<[string], string>('SELECT canonical FROM aliases WHERE alias = ?').pluck(true),
    selectAliasesOf: db.prepare<[string], string>('SELECT alias FROM aliases WHERE canonical = ? ORDER BY alias').pluck(true),
    countAliasesOf: db.prepare<[string], number>('SELECT count(*) FROM aliases WHERE canonical = ?').pluck(true),
    insertAlias: db.prepare<[string, string]>('INSERT INTO aliases (alias, canonical) VALUES (?, ?)'),
    repointAliases: db.prepare<[string, string]>('UPDATE aliases SET canonical = ? WHERE canonical = ?'),
    deleteAliasesOf: db.prepare<[string]>('DELETE FROM aliases WHERE canonical = ?'),
    // The alias's touchpoints whose id the canonical customer does not hold yet, and its outcomes the canonical
    // customer does not have (same decision, placement, item and kind). Moved rows keep their seq.
    moveTouchpoints: db.prepare<[{ canonical: string; alias: string }]>(
      `UPDATE touchpoint_rows SET customer_id = @canonical WHERE customer_id = @alias
       AND (id IS NULL OR id NOT IN (SELECT id FROM touchpoint_rows WHERE customer_id = @canonical AND id IS NOT NULL))`,
    ),
    moveOutcomes: db.prepare<[{ canonical: string; alias: string }]>(
      `UPDATE outcomes SET customer_id = @canonical WHERE customer_id = @alias AND NOT EXISTS (
         SELECT 1 FROM outcomes AS held WHERE held.customer_id = @canonical AND held.decision_id = outcomes.decision_id
         AND held.placement = outcomes.placement AND held.item = outcomes.item AND held.kind = outcomes.kind)`,
    ),
    mergeProfile: db.prepare<[{ customerId: string; attributes: string; stage: string | null; createdAt: number; now: number }]>(
      'UPDATE profiles SET attributes = @attributes, stage = @stage, created_at = @createdAt, updated_at = @now WHERE customer_id = @customerId',
    ),
    selectTouchpoints: db
      .prepare<[string, number], TouchpointRow>(
        'SELECT id, type, channel, at, properties FROM touchpoint_rows WHERE customer_id = ? AND at >= ? ORDER BY at DESC, seq DESC',
      )
      .raw(true),
    // touchProfile for an append, lengthening the view by its entries when they are no older than its newest; else
    // it marks the view (decision_view_skip = -1) for the append to rebuild. Answers decision_view_skip.
    // Positional parameters (customer, now, now, entries, newest, then oldest three times, Infinity when none): binding
    // them costs less than named ones on ingestion's path.
    touchProfileForAppend: db
      .prepare<[string, number, number, string, number | null, number, number, number], [skip: number, tailLength: number]>(
        `INSERT INTO profiles (customer_id, attributes, stage, created_at, updated_at, decision_view_tail, decision_view_newest)
         VALUES (?, '{}', NULL, ?, ?, ?, ?)
         ON CONFLICT (customer_id) DO UPDATE SET updated_at = excluded.updated_at,
           decision_view_tail = iif(coalesce(decision_view_newest <= ?, 1), decision_view_tail || excluded.decision_view_tail, decision_view_tail),
           decision_view_skip = iif(coalesce(decision_view_newest <= ?, 1), decision_view_skip, ${VIEW_NOT_LENGTHENED}),
           decision_view_newest = iif(coalesce(decision_view_newest <= ?, 1), coalesce(excluded.decision_view_newest, decision_view_newest), decision_view_newest)
         RETURNING decision_view_skip, length(decision_view_tail)`,
      )
      .raw(true),
    // As schema step 7 builds it (see rebuildView).
    rebuildViewEntries: db.prepare<[{ customerId: string }]>(
      `INSERT INTO decision_views (customer_id, entries) VALUES (@customerId, coalesce((SELECT group_concat(entry, '') FROM (
         SELECT ',' || coalesce(tn.number, json_quote(t.type)) || ',' || coalesce(cn.number, json_quote(t.channel)) || ',' || t.at AS entry
         FROM touchpoint_rows AS t LEFT JOIN touchpoint_names AS tn ON tn.name = t.type LEFT JOIN touchpoint_names AS cn ON cn.name = t.channel
         WHERE t.customer_id = @customerId ORDER BY t.at, t.seq)), ''))
       ON CONFLICT (customer_id) DO UPDATE SET entries = excluded.entries`,
    ),
    rebuildViewTail: db.prepare<[string]>(
      `UPDATE profiles SET decision_view_tail = '', decision_view_skip = 0,
         decision_view_id = (SELECT id FROM decision_views WHERE customer_id = profiles.customer_id),
         decision_view_newest = (SELECT max(at) FROM touchpoint_rows WHERE customer_id = profiles.customer_id)
       WHERE customer_id = ?`,
    ),
    moveViewTail: db.prepare<[{ customerId: string }]>(
      `INSERT INTO decision_views (customer_id, entries) VALUES (@customerId, (SELECT decision_view_tail FROM profiles WHERE customer_id = @customerId))
       ON CONFLICT (customer_id) DO UPDATE SET entries = entries || excluded.entries`,
    ),
    clearViewTail: db.prepare<[string]>(
      `UPDATE profiles SET decision_view_tail = '', decision_view_id = (SELECT id FROM decision_views WHERE customer_id = profiles.customer_id)
       WHERE customer_id = ?`,
    ),
    addViewSkip: db.prepare<[number, string]>('UPDATE profiles SET decision_view_skip = decision_view_skip + ? WHERE customer_id = ?'),
    selectViewsToCompact: db.prepare<[number], string>('SELECT customer_id FROM profiles WHERE decision_view_skip > 0 LIMIT ?').pluck(true),
    selectTouchpointNameNumber: db.prepare<[string], number>('SELECT number FROM touchpoint_names WHERE name = ?').pluck(true),
    nextTouchpointNameNumber: db.prepare<[], number>('SELECT coalesce(max(number) + 1, 0) FROM touchpoint_names').pluck(true),
    insertTouchpointName: db.prepare<[number, string]>('INSERT INTO touchpoint_names (number, name) VALUES (?, ?)'),
    selectTouchpointNames: db.prepare<[], [number: number, name: string]>('SELECT number, name FROM touchpoint_names').raw(true),
    scanProfiles: db
      .prepare<[string, number], ScanProfileRow>(
        `SELECT p.customer_id, p.attributes, p.stage, coalesce(v.entries, '') || p.decision_view_tail, p.decision_view_skip
         FROM profiles AS p LEFT JOIN decision_views AS v ON v.id = p.decision_view_id
         WHERE p.customer_id > ? ORDER BY p.customer_id LIMIT ?`,
      )
      .raw(true),
    scanOutcomes: db
      .prepare<[string, string, number], ScanOutcomeRow>(
        `SELECT customer_id, kind, item, placement, at FROM outcomes WHERE customer_id >= ? AND customer_id <= ? AND at >= ?
         ORDER BY customer_id, at DESC, seq DESC`,
      )
      .raw(true),
    touchProfile: db.prepare<[string, number, number]>(
      `INSERT INTO profiles (customer_id, attributes, stage, created_at, updated_at) VALUES (?, '{}', NULL, ?, ?)
       ON CONFLICT (customer_id) DO UPDATE SET updated_at = excluded.updated_at`,
    ),
    upsertProfile: db.prepare<[{ customerId: string; attributes: string; stage: string | null; now: number }]>(
      `INSERT INTO profiles (customer_id, attributes, stage, created_at, updated_at) VALUES (@customerId, @attributes, @stage, @now, @now)
       ON CONFLICT (customer_id) DO UPDATE SET attributes = excluded.attributes, stage = excluded.stage, updated_at = excluded.updated_at`,
    ),
    // DO NOTHING only for the id conflict (unlike INSERT OR IGNORE, which would also swallow NOT NULL failures).
    insertTouchpoint: db.prepare<[TouchpointInsert]>(
      `INSERT INTO touchpoint_rows (customer_id, id, type, channel, at, properties) VALUES (@customerId, @id, @type, @channel, @at, @properties)
       ON CONFLICT (customer_id, id) WHERE id IS NOT NULL DO NOTHING`,
    ),
    deleteExpiredOf: db.prepare<[string, number]>('DELETE FROM touchpoint_rows WHERE customer_id = ? AND at < ?'),
    deleteBeyondCap: db.prepare<[string, number]>(
      `DELETE FROM touchpoint_rows WHERE seq IN (
         SELECT seq FROM touchpoint_rows WHERE customer_id = ? ORDER BY at DESC, seq DESC LIMIT -1 OFFSET ?)`,
    ),
    deleteProfile: db.prepare<[string]>('DELETE FROM profiles WHERE customer_id = ?'),
    selectOutcomes: db
      .prepare<[string, number], OutcomeRow>(
        'SELECT decision_id, placement, item, rule, arm, kind, at, value FROM outcomes WHERE customer_id = ? AND at >= ? ORDER BY at DESC, seq DESC',
      )
      .raw(true),
    insertOutcome: db.prepare<
      [{ customerId: string; decisionId: string; placement: string; item: string; rule: string | null; arm: string | null; kind: string; at: number; value: number | null }]
    >(
      `INSERT INTO outcomes (customer_id, decision_id, placement, item, rule, arm, kind, at, value)
       VALUES (@customerId, @decisionId, @placement, @item, @rule, @arm, @kind, @at, @value)
       ON CONFLICT (customer_id, decision_id, placement, item, kind) DO NOTHING`,
    ),
    deleteExpiredOutcomesOf: db.prepare<[string, number]>('DELETE FROM outcomes WHERE customer_id = ? AND at < ?'),
    deleteExpiredOutcomeChunk: db.prepare<[number, number]>(
      'DELETE FROM outcomes WHERE seq IN (SELECT seq FROM outcomes WHERE at < ? LIMIT ?)',
    ),
    countOutcomesByDay: db
      .prepare<[string, number], [kind: string, day: number, count: number]>(
        // Integer division: a bound DAY_MS would arrive as a REAL and give fractional days.
        // The days from the retention cutoff's on: the cutoff's own day may still hold a few outcomes the next sweep takes.
        'SELECT kind, day, count FROM outcome_days WHERE item = ? AND day >= ?',
      )
      .raw(true),
    insertMeta: db.prepare<[string, string]>('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
    selectMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?'),
    nextDecisionNumber: db.prepare<[], number>('SELECT coalesce(max(number) + 1, 0) FROM decision_names').pluck(true),
    insertDecisionName: db.prepare<[number, string]>('INSERT INTO decision_names (number, name) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
    selectDecisionNames: db.prepare<[], string>('SELECT name FROM decision_names ORDER BY number').pluck(true),
    deleteExpiredChunk: db
      .prepare<[number, number], string>('DELETE FROM touchpoint_rows WHERE seq IN (SELECT seq FROM touchpoint_rows WHERE at < ? LIMIT ?) RETURNING customer_id')
      .pluck(true),
  };
}

function toInsert(customerId: string, touchpoint: StoredTouchpoint): TouchpointInsert {
  return {
    customerId,
    id: touchpoint.id,
    type: touchpoint.type,
    channel: touchpoint.channel,
    at: touchpoint.at,
    properties: touchpoint.properties === null ? null : JSON.stringify(touchpoint.properties),
  };
}

/**
 * The touchpoint times of a group of profiles that no one keeps (read with
 * `cacheMisses: false`: a stream's, a send's), each profile's a view of one
 * array: a typed array of its own costs each profile about 2 µs to allocate
 * and to free (docs/performance.md, 2026-12-06, session 10). A profile that
 * may be cached has its own, so that it keeps only its own times alive.
 */
class SharedTimes {
  private buffer = new Float64Array(0);
  private used = 0;

  constructor(private profilesLeft: number) {}

  take(count: number): Float64Array {
    if (this.used + count > this.buffer.length) {
      // Room for the profiles still to come if they are about this one's size: a group's usually are.
      this.buffer = new Float64Array(Math.max(count, Math.min(count * this.profilesLeft, MAX_SHARED_TIMES)));
      this.used = 0;
    }
    this.profilesLeft = Math.max(1, this.profilesLeft - 1);
    const at = this.buffer.subarray(this.used, this.used + count);
    this.used += count;
    return at;
  }
}

/** The most times one shared array holds: 128 KiB. */
const MAX_SHARED_TIMES = 16_384;

/** What `read` finds for each distinct id, leaving out the ids it finds nothing for. */
function readEach<T>(customerIds: readonly string[], read: (customerId: string) => T | null): Map<string, T> {
  const found = new Map<string, T>();
  for (const customerId of customerIds) {
    if (found.has(customerId)) continue;
    const value = read(customerId);
    if (value !== null) found.set(customerId, value);
  }
  return found;
}

function toProfile(row: ProfileRow, touchpoints: TouchpointRow[]): Profile {
  return {
    customerId: row.customer_id,
    attributes: JSON.parse(row.attributes) as JsonObject,
    stage: row.stage,
    touchpoints: touchpoints.map(toTouchpoint),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toDecisionOutcome([kind, item, placement, at]: DecisionOutcomeRow): StoredOutcome {
  return { decisionId: '', placement, item, rule: null, arm: null, kind: kind as OutcomeKind, at, value: null };
}

function toOutcome([decisionId, placement, item, rule, arm, kind, at, value]: OutcomeRow): StoredOutcome {
  return { decisionId, placement, item, rule, arm: arm as StoredOutcome['arm'], kind: kind as OutcomeKind, at, value };
}

function toTouchpoint([id, type, channel, at, properties]: TouchpointRow): StoredTouchpoint {
  return { id, type, channel, at, properties: properties === null ? null : (JSON.parse(properties) as JsonObject) };
}

function asUnavailable(error: unknown, file: string): unknown {
  if (error instanceof Database.SqliteError && UNAVAILABLE_CODES.some((code) => error.code.startsWith(code))) {
    return new StoreUnavailableError(`SQLite profile store ${file}: ${error.message}`, { cause: error });
  }
  return error;
}
