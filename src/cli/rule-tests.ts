/**
 * The rule test runner behind `nextbest test` (contract section 6): builds the
 * rules, then runs every case of `tests/*.json` through the same `decide` the
 * service uses and compares the decision with the case's `expect`. Pure: the
 * caller reads the files and owns the clock (cases may pin their own).
 */
import { decide } from '../decide/decide.js';
import type { PlacementDecision } from '../domain/decision.js';
import type { JsonObject } from '../domain/json.js';
import { toDecisionProfile } from '../domain/decision-profile.js';
import type { Profile } from '../domain/profile.js';
import type { RuleError } from '../domain/rule-files.js';
import {
  DEFAULT_TEST_CUSTOMER_ID,
  RELATIVE_AT_PATTERN,
  ruleTestFileSchema,
  type RuleTestCase,
  type RuleTestExpectation,
  type RuleTestFile,
} from '../domain/rule-tests.js';
import { outcomesNewestFirst, type StoredOutcome } from '../domain/outcome.js';
import { MAX_FUTURE_SKEW_MS, newestFirst, type StoredTouchpoint } from '../domain/touchpoint.js';
import { buildRuleset, type CheckOptions } from '../ruleset/build.js';
import { CATALOG_FILE, classifyRuleFile, type RuleSource } from '../ruleset/layout.js';
import { parseRuleJson } from '../ruleset/parse-json.js';
import type { RulesetSnapshot } from '../ruleset/snapshot.js';
import { formatZodIssues } from '../ruleset/zod-issues.js';

/** `now` is also the clock for cases whose file and case set no `now` of their own. */
export type RuleTestOptions = CheckOptions;

export interface RuleTestCaseResult {
  name: string;
  passed: boolean;
  /** One line a problem: "items: expected [...], got [...]". Empty when passed. */
  failures: string[];
}

export interface RuleTestFileResult {
  /** Relative to the rules folder: "tests/home-hero.json". */
  file: string;
  cases: RuleTestCaseResult[];
  /** Problems with the test file itself (malformed JSON, unknown keys, ...); its cases did not run. */
  errors: RuleError[];
}

export interface RuleTestReport {
  /** Errors in the rule files: with any, no case runs. */
  ruleErrors: RuleError[];
  /** One entry a test file, in file name order. */
  files: RuleTestFileResult[];
  passed: number;
  failed: number;
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export async function runRuleTests(sources: readonly RuleSource[], options: RuleTestOptions): Promise<RuleTestReport> {
  const built = buildRuleset(sources, options);
  const testSources = sources
    .filter((source) => classifyRuleFile(source.file) === 'test')
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));

  const report: RuleTestReport = { ruleErrors: built.errors, files: [], passed: 0, failed: 0 };
  for (const source of testSources) {
    const result: RuleTestFileResult = { file: source.file, cases: [], errors: [] };
    report.files.push(result);
    const testFile = parseTestFile(source, result.errors);
    // Without rules there is nothing to run the cases against; the test files are still checked.
    if (!testFile || !built.snapshot) continue;
    for (const testCase of testFile.cases) {
      const failures = await runCase(built.snapshot, testCase, clockOf(testCase.now ?? testFile.now, options.now));
      result.cases.push({ name: testCase.name, passed: failures.length === 0, failures });
      if (failures.length === 0) report.passed++;
      else report.failed++;
    }
  }
  return report;
}

/** Resolves a touchpoint's `at`: "now", relative ("-30m", "-12h", "-3d") to the case's clock, or ISO-8601. */
export function resolveTouchpointAt(at: string | undefined, now: number): number {
  if (at === undefined || at === 'now') return now;
  const relative = RELATIVE_AT_PATTERN.exec(at);
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  return Date.parse(at);
}

function clockOf(iso: string | undefined, fallback: number): number {
  return iso === undefined ? fallback : Date.parse(iso);
}

/** A test file is read as a rule file is (parseRuleJson), then checked against its own schema. */
function parseTestFile(source: RuleSource, errors: RuleError[]): RuleTestFile | null {
  const json = parseRuleJson(source, errors);
  if (json === undefined) return null;
  const parsed = ruleTestFileSchema.safeParse(json);
  if (!parsed.success) {
    for (const e of formatZodIssues(parsed.error.issues, json)) errors.push({ file: source.file, ...e });
    return null;
  }
  const seen = new Set<string>();
  parsed.data.cases.forEach((c, i) => {
    if (seen.has(c.name)) errors.push({ file: source.file, path: `$.cases[${i}].name`, message: `duplicate case name "${c.name}"` });
    seen.add(c.name);
  });
  return parsed.data;
}

async function runCase(snapshot: RulesetSnapshot, testCase: RuleTestCase, now: number): Promise<string[]> {
  const problems = checkReferences(snapshot, testCase);
  const customerId = testCase.customerId ?? DEFAULT_TEST_CUSTOMER_ID;
  const profile = testCase.customer === undefined ? null : toProfile(customerId, testCase.customer, now, problems);
  // A case that names something the rules do not have cannot say anything about them.
  if (problems.length > 0) return problems;

  // Explained only when the case asks which items were capped: explain serves the same items, and says why not.
  const explain = testCase.expect.capped !== undefined;
  const decision = await decide(
    snapshot,
    profile && toDecisionProfile(profile),
    { customerId, placements: [testCase.placement], context: (testCase.context ?? {}) as JsonObject, explain },
    { now, decisionId: 'rule-test' },
  );
  const placement = decision.placements[testCase.placement] ?? { items: [], fallback: true };
  return compare(testCase.expect, { stage: decision.stage, stageSource: decision.stageSource, placement });
}

/** Names in the case that the rules must define, each reported with its path in the case. */
function checkReferences(snapshot: RulesetSnapshot, testCase: RuleTestCase): string[] {
  const problems: string[] = [];
  const stages = snapshot.stages.join(', ');
  const placement = snapshot.placements.get(testCase.placement);
  if (!placement) {
    problems.push(`placement: unknown placement "${testCase.placement}"; the rules define ${[...snapshot.placements.keys()].sort().join(', ')}`);
  }
  const customerStage = testCase.customer?.stage;
  if (customerStage != null && !snapshot.stageIndex.has(customerStage)) {
    problems.push(`customer.stage: unknown stage "${customerStage}"; stages are ${stages}`);
  }
  const expected = testCase.expect;
  if (expected.stage !== undefined && !snapshot.stageIndex.has(expected.stage)) {
    problems.push(`expect.stage: unknown stage "${expected.stage}"; stages are ${stages}`);
  }
  expected.items?.forEach((id, i) => {
    if (!snapshot.catalog.has(id)) problems.push(`expect.items[${i}]: unknown item "${id}"; it is not in ${CATALOG_FILE}`);
  });
  expected.capped?.forEach((id, i) => {
    if (!snapshot.catalog.has(id)) problems.push(`expect.capped[${i}]: unknown item "${id}"; it is not in ${CATALOG_FILE}`);
  });
  testCase.customer?.outcomes?.forEach((outcome, i) => {
    if (!snapshot.catalog.has(outcome.item)) {
      problems.push(`customer.outcomes[${i}].item: unknown item "${outcome.item}"; it is not in ${CATALOG_FILE}`);
    }
    if (!snapshot.placements.has(outcome.placement)) {
      problems.push(
        `customer.outcomes[${i}].placement: unknown placement "${outcome.placement}"; the rules define ${[...snapshot.placements.keys()].sort().join(', ')}`,
      );
    }
  });
  if (placement) {
    const ruleNames = new Set(placement.rules.map((rule) => rule.name));
    expected.rules?.forEach((name, i) => {
      if (name !== null && !ruleNames.has(name)) problems.push(`expect.rules[${i}]: placement "${placement.name}" has no rule "${name}"`);
    });
  }
  return problems;
}

function toProfile(customerId: string, customer: NonNullable<RuleTestCase['customer']>, now: number, problems: string[]): Profile {
  const touchpoints: StoredTouchpoint[] = [];
  const ids = new Set<string>();
  (customer.touchpoints ?? []).forEach((tp, i) => {
    const at = resolveTouchpointAt(tp.at, now);
    if (at > now + MAX_FUTURE_SKEW_MS) {
      problems.push(`customer.touchpoints[${i}].at: ${tp.at} is later than the test's now (${new Date(now).toISOString()}); the service refuses touchpoints more than 5 minutes in the future`);
    }
    // As in the store: a touchpoint whose id was delivered before is not stored again.
    if (tp.id !== undefined) {
      if (ids.has(tp.id)) return;
      ids.add(tp.id);
    }
    touchpoints.push({ id: tp.id ?? null, type: tp.type, channel: tp.channel, at, properties: (tp.properties ?? null) as JsonObject | null });
  });
  const outcomes: StoredOutcome[] = (customer.outcomes ?? []).map((outcome, i) => {
    const at = resolveTouchpointAt(outcome.at, now);
    if (at > now + MAX_FUTURE_SKEW_MS) {
      problems.push(`customer.outcomes[${i}].at: ${outcome.at} is later than the test's now (${new Date(now).toISOString()}); the service refuses outcomes more than 5 minutes in the future`);
    }
    return { decisionId: `rule-test-${i}`, placement: outcome.placement, item: outcome.item, rule: outcome.rule ?? null, arm: null, kind: outcome.kind, at, value: null };
  });
  return {
    customerId,
    attributes: (customer.attributes ?? {}) as JsonObject,
    stage: customer.stage ?? null,
    touchpoints: touchpoints.sort(newestFirst),
    outcomes: outcomes.sort(outcomesNewestFirst),
    createdAt: now,
    updatedAt: now,
  };
}

interface Actual {
  stage: string;
  stageSource: string;
  placement: PlacementDecision;
}

function compare(expected: RuleTestExpectation, actual: Actual): string[] {
  const failures: string[] = [];
  const { placement } = actual;
  if (expected.stage !== undefined && expected.stage !== actual.stage) {
    failures.push(`stage: expected ${quote(expected.stage)}, got ${quote(actual.stage)} (${actual.stageSource})`);
  }
  if (expected.stageSource !== undefined && expected.stageSource !== actual.stageSource) {
    failures.push(`stageSource: expected ${quote(expected.stageSource)}, got ${quote(actual.stageSource)} (stage ${quote(actual.stage)})`);
  }
  const ids = placement.items.map((item) => item.id);
  if (expected.items !== undefined && !sameList(expected.items, ids)) {
    failures.push(`items: expected ${list(expected.items)}, got ${list(ids)} ${servedBy(placement)}`);
  }
  if (expected.fallback !== undefined && expected.fallback !== placement.fallback) {
    failures.push(`fallback: expected ${expected.fallback}, got ${placement.fallback} (items ${list(ids)})`);
  }
  const rules = placement.items.map((item) => item.rule);
  if (expected.rules !== undefined && !sameList(expected.rules, rules)) {
    failures.push(`rules: expected ${list(expected.rules)}, got ${list(rules)} for items ${list(ids)}`);
  }
  if (expected.capped !== undefined) {
    const capped = cappedItems(placement);
    if (!sameList(expected.capped, capped)) failures.push(`capped: expected ${list(expected.capped)}, got ${list(capped)}`);
  }
  return failures;
}

/** The items an explained placement skipped for a cap, each once, in the order arbitration met them. */
function cappedItems(placement: PlacementDecision): string[] {
  const traced = [...(placement.trace ?? []).flatMap((rule) => rule.items ?? []), ...(placement.fallbackTrace ?? [])];
  return [...new Set(traced.filter((item) => item.outcome === 'capped').map((item) => item.id))];
}

/** Why the placement served what it did, for an items failure: the fallback, or the rules. */
function servedBy(placement: PlacementDecision): string {
  if (placement.fallback) return '(fallback)';
  const rules = [...new Set(placement.items.map((item) => item.rule))];
  return `(from rule${rules.length > 1 ? 's' : ''} ${rules.join(', ')})`;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function quote(value: string): string {
  return JSON.stringify(value);
}

function list(values: readonly (string | null)[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
}
