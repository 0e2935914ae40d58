/**
 * Turns zod issues into `{ path, message }` located by JSON path, one per
 * problem. Zod reports a failed union with the issues of every branch; for
 * conditions we report only the branch the author meant, chosen by the key
 * they wrote (`all`, `any`, `not`, `condition` or `fact`).
 */
import type * as z from 'zod';
import { CONDITION_BRANCH_KEYS } from '../domain/rule-files.js';
import { isPlainObject, joinPath, pathOf } from '../domain/json.js';
import type { FieldError } from '../domain/errors.js';

type Issue = z.core.$ZodIssue;
type Segment = PropertyKey;

export function formatZodIssues(issues: readonly Issue[], input: unknown, base: readonly Segment[] = []): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) collect(issue, input, base, out);
  return dedupe(out);
}

function collect(issue: Issue, input: unknown, base: readonly Segment[], out: FieldError[]): void {
  const segments = [...base, ...issue.path];
  const node = valueAt(input, segments);
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) out.push({ path: joinPath(pathOf(segments), key), message: 'unknown key' });
      return;
    case 'invalid_union': {
      const branch = pickBranch(issue, node);
      if (branch.kind === 'branch') {
        for (const inner of branch.issues) collect(inner, input, segments, out);
      } else {
        out.push({ path: pathOf(segments), message: branch.message });
      }
      return;
    }
    case 'invalid_type':
      if (node === undefined) {
        out.push({ path: pathOf(segments), message: 'is required' });
        return;
      }
      out.push({ path: pathOf(segments), message: `must be ${article(issue.expected)}, not ${describe(node)}` });
      return;
    default:
      out.push({ path: pathOf(segments), message: issue.message });
  }
}

type BranchPick = { kind: 'branch'; issues: readonly Issue[] } | { kind: 'message'; message: string };

function pickBranch(issue: z.core.$ZodIssueInvalidUnion, node: unknown): BranchPick {
  const branches = issue.errors;
  // The condition unions are the only ones with four (rule root) or five (any condition) branches.
  if ((branches.length === 4 || branches.length === 5) && isPlainObject(node)) {
    const present = CONDITION_BRANCH_KEYS.filter((key) => Object.prototype.hasOwnProperty.call(node, key));
    const allowed = CONDITION_BRANCH_KEYS.slice(0, branches.length);
    if (present.length === 0) {
      return { kind: 'message', message: `a condition needs one of ${allowed.map((k) => `"${k}"`).join(', ')}` };
    }
    if (present.length > 1) {
      return {
        kind: 'message',
        message: `a condition has exactly one of ${allowed.map((k) => `"${k}"`).join(', ')}; found ${present.map((k) => `"${k}"`).join(' and ')}`,
      };
    }
    const index = allowed.indexOf(present[0] as (typeof allowed)[number]);
    if (index === -1) {
      return {
        kind: 'message',
        message: 'the root of conditions must be "all", "any", "not" or a {"condition"} reference; wrap a fact condition as {"all": [ ... ]}',
      };
    }
    return { kind: 'branch', issues: branches[index] ?? [] };
  }
  if (branches.length === 4 || branches.length === 5) {
    if (node === undefined) return { kind: 'message', message: 'is missing: a rule needs conditions, such as {"all": [ ... ]}' };
    return { kind: 'message', message: `must be a condition object, not ${describe(node)}` };
  }
  // A union with a message of its own (like the rule date's) says best what it wants when every branch fails outright.
  if (issue.message !== 'Invalid input' && branches.every((b) => b.some((i) => i.path.length === 0))) {
    return { kind: 'message', message: issue.message };
  }
  // Any other union: prefer a branch of the right type, then the one with the fewest problems.
  const ranked = [...branches].sort((a, b) => rootTypeMismatch(a) - rootTypeMismatch(b) || a.length - b.length);
  const best = ranked[0];
  if (!best || rootTypeMismatch(best) > 0) return { kind: 'message', message: issue.message === 'Invalid input' ? `has an invalid value (${describe(node)})` : issue.message };
  return { kind: 'branch', issues: best };
}

function rootTypeMismatch(issues: readonly Issue[]): number {
  return issues.some((i) => i.path.length === 0 && i.code === 'invalid_type') ? 1 : 0;
}

function valueAt(root: unknown, segments: readonly Segment[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<Segment, unknown>)[segment];
  }
  return current;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function article(expected: string): string {
  if (expected === 'int') return 'a whole number';
  if (expected === 'record') return 'an object';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
