/**
 * A reload's reading and checking: the rules folder's files in, checked rules
 * (plain data) or every error out. It runs in the reload worker
 * (check-worker.ts), so that reading, parsing and checking a large folder
 * never holds up requests; only the compile step is left to the event loop.
 */
import { createHash } from 'node:crypto';
import type { RuleError } from '../domain/rule-files.js';
import { checkRuleset, type CheckResult } from '../ruleset/build.js';
import type { RuleSource } from '../ruleset/layout.js';
import type { RuleLimits } from '../ruleset/limits.js';
import { readRulesDir, RulesDirError } from './read-rules-dir.js';

export interface CheckRulesDirRequest {
  dir: string;
  /** The clock for the check (activity windows, warnings) and the snapshot's loadedAt. */
  now: number;
  limits: RuleLimits;
  /**
   * The content key of the last files loaded: when the files still have it,
   * nothing is parsed or checked and the answer is `unchanged`. null or
   * absent: check whatever the files hold.
   */
  unlessKey?: string | null;
}

export type CheckRulesDirResult = { status: 'unchanged' } | ({ status: 'checked'; key: string } & CheckResult);

export async function checkRulesDir(request: CheckRulesDirRequest): Promise<CheckRulesDirResult> {
  let sources: RuleSource[];
  let readErrors: RuleError[];
  try {
    ({ sources, errors: readErrors } = await readRulesDir(request.dir, { maxFileBytes: request.limits.maxFileBytes, ruleTests: false }));
  } catch (err) {
    if (!(err instanceof RulesDirError)) throw err;
    const errors = [{ file: '.', path: '$', message: err.message }];
    const key = contentKey([], errors);
    if (key === request.unlessKey) return { status: 'unchanged' };
    return { status: 'checked', key, checked: null, version: '', errors, warnings: [] };
  }
  const key = contentKey(sources, readErrors);
  if (key === request.unlessKey) return { status: 'unchanged' };
  const result = checkRuleset(sources, { now: request.now, maxRulesPerPlacement: request.limits.maxRulesPerPlacement, readErrors });
  return { status: 'checked', key, ...result };
}

/**
 * What a load depends on: the content of every file read (rule tests are
 * not), and what could not be read. Equal keys load to equal rules, so a
 * change seen both as a file event and by the poll loads once, and a folder
 * whose files were touched but not changed does not load at all.
 */
function contentKey(sources: readonly RuleSource[], readErrors: readonly RuleError[]): string {
  const hash = createHash('sha256');
  for (const source of [...sources].sort((a, b) => (a.file < b.file ? -1 : 1))) {
    hash.update(source.file).update('\0').update(source.text).update('\0');
  }
  for (const error of readErrors) hash.update('!').update(error.file).update('\0').update(error.message).update('\0');
  return hash.digest('hex');
}
