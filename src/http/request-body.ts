import type { Context } from 'hono';
import type * as z from 'zod';
import { exceedsDepth, findForbiddenKey, pathOf } from '../domain/json.js';
import { formatZodIssues } from '../ruleset/zod-issues.js';
import { HttpProblem, PROBLEM_TYPES, validationProblem } from './problem.js';


/** Deeper bodies are refused before validation; no field of the API needs more. */
export const MAX_BODY_DEPTH = 64;

/**
 * The request body as JSON, checked for depth and forbidden keys. The content
 * type is not insisted on: a body that parses is accepted (curl's -d sends
 * form encoding by default).
 */
export async function readJson(c: Context): Promise<unknown> {
  const body = await parseJsonBody(c);
  checkRawJson(body, '$');
  return body;
}

/** The body parsed, not yet checked: for the batch endpoint, which checks each request on its own. */
export async function parseJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') {
    throw validationProblem('the request needs a JSON body', [{ path: '$', message: 'is required' }]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpProblem({
      type: PROBLEM_TYPES.malformedJson,
      title: 'Malformed JSON',
      status: 400,
      detail: `the body is not valid JSON: ${(err as Error).message}`,
    });
  }
}

/**
 * Checks raw JSON before any schema sees it: nesting depth (the validators
 * recurse), and keys that could reach a prototype, which zod's records would
 * otherwise drop without a word.
 */
export function checkRawJson(value: unknown, path: string): void {
  if (exceedsDepth(value, MAX_BODY_DEPTH)) {
    throw validationProblem(`${path} nests deeper than ${MAX_BODY_DEPTH} levels`, [
      { path, message: `nests deeper than ${MAX_BODY_DEPTH} levels` },
    ]);
  }
  rejectForbiddenKeys(value, path);
}

/** Validates with a zod schema, answering 400 with every problem located by JSON path. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, base: ReadonlyArray<PropertyKey> = []): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    // Issues are read against the value itself, then located where it sits in the body (a batch's $.requests[3]).
    const prefix = pathOf(base);
    const errors = formatZodIssues(result.error.issues, value).map((e) => ({ ...e, path: prefix + e.path.slice(1) }));
    throw validationProblem(summarise(errors), errors);
  }
  return result.data;
}

/** Rejects keys that could reach a prototype (`__proto__`, `constructor`, `prototype`) anywhere in a value. */
export function rejectForbiddenKeys(value: unknown, path: string): void {
  const found = findForbiddenKey(value, path);
  if (found) throw validationProblem(`${found}: this key is not allowed`, [{ path: found, message: 'this key is not allowed' }]);
}

function summarise(errors: ReadonlyArray<{ path: string; message: string }>): string {
  const first = errors[0];
  if (!first) return 'the request is invalid';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${first.path}: ${first.message}${more}`;
}
