import type { Context } from 'hono';
import type * as z from 'zod';
import { exceedsDepth, findForbiddenKey, findLoneSurrogate, pathOf } from '../domain/json.js';
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
  const text = decodeUtf8Body(new Uint8Array(await c.req.arrayBuffer()));
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

/** Fatal: a body that is not UTF-8 is refused, never decoded with U+FFFD in place of its bad bytes. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as text; a 400 when it is not UTF-8 (RFC 8259 section 8.1). A
 * lenient decoder would store U+FFFD where the client sent something else, and
 * two different ids could become one.
 */
function decodeUtf8Body(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const message = `is not valid UTF-8 (${describeInvalidUtf8(bytes)})`;
    throw new HttpProblem({
      type: PROBLEM_TYPES.malformedJson,
      title: 'Malformed JSON',
      status: 400,
      detail: `the body ${message}`,
      errors: [{ path: '$', message }],
    });
  }
}

/** Where the first bad byte is: the shortest prefix that fails to decode ends with it (found by halving; only on a refusal). */
function describeInvalidUtf8(bytes: Uint8Array): string {
  // With stream: true a prefix that merely ends inside a character is not an error, so failing is monotonic in the length.
  const fails = (length: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, length), { stream: true });
      return false;
    } catch {
      return true;
    }
  };
  if (!fails(bytes.length)) return 'it ends inside a character';
  let low = 0;
  let high = bytes.length;
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    if (fails(middle)) high = middle;
    else low = middle;
  }
  return `byte ${high - 1} of the body`;
}

/**
 * Checks raw JSON before any schema sees it: nesting depth (the validators
 * recurse); keys that could reach a prototype, which zod's records would
 * otherwise drop without a word; and keys and strings that are not Unicode
 * text (lone surrogates, which JSON's \u escapes can spell in a UTF-8 body).
 */
export function checkRawJson(value: unknown, path: string): void {
  if (exceedsDepth(value, MAX_BODY_DEPTH)) {
    throw validationProblem(`${path} nests deeper than ${MAX_BODY_DEPTH} levels`, [
      { path, message: `nests deeper than ${MAX_BODY_DEPTH} levels` },
    ]);
  }
  rejectForbiddenKeys(value, path);
  rejectLoneSurrogates(value, path);
}

const LONE_SURROGATE_MESSAGE = 'is not well-formed Unicode: it holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair)';

/** Rejects a key or string anywhere in a value that holds a lone surrogate, naming its path. */
export function rejectLoneSurrogates(value: unknown, path: string): void {
  const found = findLoneSurrogate(value, path);
  if (found) throw validationProblem(`${found}: ${LONE_SURROGATE_MESSAGE}`, [{ path: found, message: LONE_SURROGATE_MESSAGE }]);
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

/**
 * Refuses a query whose percent-escapes do not decode as UTF-8 ("%ED%A0%80",
 * "%FF"): Hono keeps such a value as its raw text, which would then reach the
 * decision's context as if the client had sent it. `pathOf` names the field a
 * parameter becomes. A URL without "%" (most queries: short ASCII values)
 * costs one indexOf.
 */
export function rejectMalformedQuery(url: string, pathOf: (key: string) => string): void {
  const start = url.indexOf('?');
  if (start < 0 || url.indexOf('%', start) < 0) return;
  for (const pair of url.slice(start + 1).split('&')) {
    if (!pair.includes('%')) continue;
    const equals = pair.indexOf('=');
    const rawKey = equals < 0 ? pair : pair.slice(0, equals);
    const key = decodeQueryPart(rawKey);
    if (key !== null && (equals < 0 || decodeQueryPart(pair.slice(equals + 1)) !== null)) continue;
    const path = pathOf(key ?? rawKey);
    const message = 'is not valid UTF-8 once percent-decoded';
    throw validationProblem(`${path}: ${message}`, [{ path, message }]);
  }
}

const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * A query key or value decoded, or null when a run of its percent-escapes is
 * not UTF-8. A "%" not followed by two hex digits stays text, as Hono keeps it.
 */
function decodeQueryPart(part: string): string | null {
  let valid = true;
  const decoded = part.replace(/\+/g, ' ').replace(PERCENT_RUN, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(3 * i + 1, 3 * i + 3), 16);
    try {
      return UTF8.decode(bytes);
    } catch {
      valid = false;
      return run;
    }
  });
  return valid ? decoded : null;
}
