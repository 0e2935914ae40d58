/**
 * What a decision reads of a customer in the SQLite file, shared by the
 * store's own connection (src/profiles/sqlite-store.ts) and its reader thread
 * (sqlite-reader-worker.ts): the two statements and the reading of the
 * decision view (schema step 7), so both read alike.
 */
import type Database from 'better-sqlite3';

/** The profile's row with its decision view, found through the alias lookup (the alias first, then the id itself). */
export const SELECT_DECISION_PROFILE_SQL = `SELECT p.customer_id, p.attributes, p.stage, coalesce(v.entries, '') || p.decision_view_tail, p.decision_view_skip
  FROM profiles AS p LEFT JOIN decision_views AS v ON v.id = p.decision_view_id
  WHERE p.customer_id = coalesce((SELECT canonical FROM aliases WHERE alias = ?), ?)`;

/** The outcomes a decision reads (caps, outcomeCount), newest first. */
export const SELECT_DECISION_OUTCOMES_SQL = 'SELECT kind, item, placement, at FROM outcomes WHERE customer_id = ? AND at >= ? ORDER BY at DESC, seq DESC';

export type DecisionProfileRow = [customerId: string, attributes: string, stage: string | null, view: string, viewSkip: number];
export type DecisionOutcomeRow = [kind: string, item: string, placement: string, at: number];

export interface DecisionStatements {
  selectResolvedDecisionProfile: Database.Statement<[string, string], DecisionProfileRow>;
  selectDecisionOutcomes: Database.Statement<[string, number], DecisionOutcomeRow>;
}

export function prepareDecisionStatements(db: Database.Database): DecisionStatements {
  return {
    selectResolvedDecisionProfile: db.prepare<[string, string], DecisionProfileRow>(SELECT_DECISION_PROFILE_SQL).raw(true),
    selectDecisionOutcomes: db.prepare<[string, number], DecisionOutcomeRow>(SELECT_DECISION_OUTCOMES_SQL).raw(true),
  };
}

/**
 * A view's values, oldest first, three to an entry (type name, channel name,
 * time; a name is its number in touchpoint_names or, past that list's bound,
 * the name itself), and the first entry still live: past the `skip` entries
 * whose rows are gone and those older than `oldestKept`. The live entries are
 * [first, entries); a decision walks them backwards, newest first. JSON.parse
 * reads the whole view in one native pass. Throws a plain Error naming what is
 * wrong with a view that cannot be one (the caller makes it the customer's
 * data at fault).
 */
export function parseView(view: string, skip: number, oldestKept: number): { values: Array<number | string>; first: number; entries: number } {
  const values = view === '' ? [] : (JSON.parse(`[${view.slice(1)}]`) as Array<number | string>);
  if (values.length % 3 !== 0) throw new Error(`its decision view holds ${values.length} values, not entries of three`);
  const entries = values.length / 3;
  if (!Number.isInteger(skip) || skip < 0 || skip > entries) throw new Error(`its decision view skips ${skip} of its ${entries} entries`);
  let first = skip;
  while (first < entries && (values[first * 3 + 2] as number) < oldestKept) first++;
  return { values, first, entries };
}

/** A view's time, checked. */
export function viewTime(value: number | string | undefined): number {
  if (typeof value !== 'number') throw new Error(`its decision view has a time that is not a number: ${JSON.stringify(value)}`);
  return value;
}

/** A view's name as a number in touchpoint_names, checked; a string (a name past the list's bound) is returned as it is. */
export function checkedViewName(value: number | string | undefined): number | string {
  if (typeof value === 'string') return value;
  if (!Number.isInteger(value) || (value as number) < 0) throw new Error(`its decision view has a name that is neither a number nor a text: ${JSON.stringify(value)}`);
  return value as number;
}

/**
 * A group of customers' decision rows as the reader thread hands them over:
 * plain strings for each customer, and every customer's touchpoints in two
 * typed arrays (transferred, not copied), so the store's thread has little
 * left to do but look up names it already holds.
 */
export interface DecisionGroup {
  /** One a customer found, in the order asked (an id asked twice once). */
  found: Array<[askedId: string, customerId: string, attributes: string, stage: string | null, touchpoints: number, outcomes: DecisionOutcomeRow[] | null]>;
  /** Two a live touchpoint, newest first, customer after customer: its type, then its channel, each a number in touchpoint_names, or -1 - i for `texts[i]`. */
  names: Int32Array;
  /** Names written in full in a view (past touchpoint_names' bound). */
  texts: string[];
  /** Each live touchpoint's time, in the same order. */
  at: Float64Array;
}

/**
 * Reads a group in one go (the caller holds a read transaction around it).
 * Throws a plain Error for a view that cannot be one, a SqliteError for the
 * file's own errors.
 */
export function readDecisionGroup(statements: DecisionStatements, customerIds: readonly string[], oldestKept: number): DecisionGroup {
  const found: DecisionGroup['found'] = [];
  const seen = new Set<string>();
  const names: number[] = [];
  const at: number[] = [];
  const texts: string[] = [];
  for (const askedId of customerIds) {
    if (seen.has(askedId)) continue;
    seen.add(askedId);
    const row = statements.selectResolvedDecisionProfile.get(askedId, askedId);
    if (!row) continue;
    const [customerId, attributes, stage, view, viewSkip] = row;
    const { values, first, entries } = parseView(view, viewSkip, oldestKept);
    for (let j = (entries - 1) * 3; j >= first * 3; j -= 3) {
      names.push(nameNumber(checkedViewName(values[j]), texts), nameNumber(checkedViewName(values[j + 1]), texts));
      at.push(viewTime(values[j + 2]));
    }
    const outcomes = statements.selectDecisionOutcomes.all(customerId, oldestKept);
    found.push([askedId, customerId, attributes, stage, entries - first, outcomes.length > 0 ? outcomes : null]);
  }
  return { found, names: Int32Array.from(names), texts, at: Float64Array.from(at) };
}

function nameNumber(name: number | string, texts: string[]): number {
  if (typeof name === 'number') return name;
  texts.push(name);
  return -texts.length;
}
