/**
 * Rule files in, one immutable snapshot out (or every error found, each with
 * file and JSON path). Pure: the caller reads the files and owns the clock.
 *
 *   parse (parse.ts)      files -> JSON -> typed structure
 *   check (check.ts)      what they refer to exists and fits together
 *   compile (compile.ts)  -> RulesetSnapshot: matchers, stage index, version
 */
import type { RuleError } from '../domain/rule-files.js';
import { createCompiledMatcher } from '../conditions/compiled-matcher.js';
import type { MatcherFactory } from '../conditions/matcher.js';
import { checkRuleFiles, warnUnservable } from './check.js';
import { compileRuleset } from './compile.js';
import type { RuleSource } from './layout.js';
import { parseRuleFiles } from './parse.js';
import type { RulesetSnapshot } from './snapshot.js';

export interface BuildOptions {
  now: number;
  /** How conditions are evaluated: compiled (the default) or json-rules-engine (createJreMatcher). */
  createMatcher?: MatcherFactory;
}

export interface BuildResult {
  snapshot: RulesetSnapshot | null;
  errors: RuleError[];
  warnings: RuleError[];
}

export function buildRuleset(sources: readonly RuleSource[], options: BuildOptions): BuildResult {
  const errors: RuleError[] = [];
  const warnings: RuleError[] = [];
  const parsed = parseRuleFiles(sources, errors, warnings);
  // Checked even after parse errors, so that one run reports every mistake.
  const checked = checkRuleFiles(parsed, options.now, errors, warnings);
  if (errors.length > 0) return { snapshot: null, errors, warnings };
  warnUnservable(checked, options.now, warnings);
  const snapshot = compileRuleset(checked, {
    ruleFiles: parsed.ruleFiles,
    now: options.now,
    createMatcher: options.createMatcher ?? createCompiledMatcher,
    warnings,
  });
  return { snapshot, errors, warnings };
}
