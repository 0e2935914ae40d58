/**
 * The rules folder read and checked into plain data: what the check thread
 * answers (check-worker.ts), and what `nextbest offers` makes once and hands
 * to each of its decision workers (offers-transport.ts), so that a run checks
 * its rules once however many workers decide. The checked rules are
 * serialized, one buffer for everything but the placements and one a
 * placement, so that a reader takes each back within the compile slice that
 * needs it rather than all at once.
 */
import { serialize } from 'node:v8';
import { threadId } from 'node:worker_threads';
import { checkRulesDir, type CheckRulesDirRequest } from './check-rules-dir.js';
import type { CheckedRules } from './rules-loader.js';

export async function checkAnswer(request: CheckRulesDirRequest): Promise<CheckedRules> {
  const result = await checkRulesDir(request);
  if (result.status === 'unchanged') return result;
  const { checked, ...rest } = result;
  if (!checked) return { ...rest, base: null, placements: [], threadId };
  const { placements, ...base } = checked;
  return { ...rest, base: serialize(base), placements: placements.map((p) => serialize(p)), threadId };
}
