/**
 * Rule files in, one immutable snapshot out (or every error found, each with
 * file and JSON path). Pure: the caller reads the files and owns the clock.
 *
 *   parse (parse.ts)      files -> JSON -> typed structure
 *   check (check.ts)      what they refer to exists and fits together
 *   compile (compile.ts)  -> RulesetSnapshot: matchers, stage index, version
 *
 * checkRuleset is the first two, whose result is plain data (the service runs
 * it in a worker thread); buildRuleset is all three at once.
 */
import type { RuleError } from '../domain/rule-files.js';
import { createCompiledMatcher } from '../conditions/compiled-matcher.js';
import type { MatcherFactory } from '../conditions/matcher.js';
import { checkRuleFiles, warnUnservable, type CheckedRuleset } from './check.js';
import { compileRuleset, rulesVersion } from './compile.js';
import type { RuleSource } from './layout.js';
import { parseRuleFiles } from './parse.js';
import type { RulesetSnapshot } from './snapshot.js';

export interface CheckOptions {
  now: number;
  /** The most rules a placement (or journey.json) may hold; default DEFAULT_RULE_LIMITS'. */
  maxRulesPerPlacement?: number;
  /** Files of the folder that could not be read (readRulesDir's errors): they fail the check like any other error. */
  readErrors?: readonly RuleError[];
}

export interface CheckResult {
  /** The checked rules, ready to compile; null when there is any error. */
  checked: CheckedRuleset | null;
  /** The version the rules get when compiled: a hash of the rule files' content. */
  version: string;
  errors: RuleError[];
  warnings: RuleError[];
}

export function checkRuleset(sources: readonly RuleSource[], options: CheckOptions): CheckResult {
  const errors: RuleError[] = [...(options.readErrors ?? [])];
  const warnings: RuleError[] = [];
  const parseOptions = options.maxRulesPerPlacement === undefined ? {} : { maxRulesPerPlacement: options.maxRulesPerPlacement };
  const parsed = parseRuleFiles(sources, errors, warnings, parseOptions);
  // Checked even after parse errors, so that one run reports every mistake.
  const checked = checkRuleFiles(parsed, options.now, errors, warnings);
  const version = rulesVersion(parsed.ruleFiles);
  if (errors.length > 0) return { checked: null, version, errors, warnings };
  warnUnservable(checked, options.now, warnings);
  return { checked, version, errors, warnings };
}

export interface BuildOptions extends CheckOptions {
  /** How conditions are evaluated: compiled (the default) or json-rules-engine (createJreMatcher). */
  createMatcher?: MatcherFactory;
}

export interface BuildResult {
  snapshot: RulesetSnapshot | null;
  errors: RuleError[];
  warnings: RuleError[];
}

export function buildRuleset(sources: readonly RuleSource[], options: BuildOptions): BuildResult {
  const { checked, version, errors, warnings } = checkRuleset(sources, options);
  if (!checked) return { snapshot: null, errors, warnings };
  const snapshot = compileRuleset(checked, {
    version,
    now: options.now,
    createMatcher: options.createMatcher ?? createCompiledMatcher,
    warnings,
  });
  return { snapshot, errors, warnings };
}
