/**
 * Condition paths are plain property access ("$.a.b", "$.a[0]", "$['a b']"),
 * parsed and resolved here. They are never handed to a JSONPath evaluator:
 * json-rules-engine's default (jsonpath-plus) has had code-execution holes and
 * far more syntax than a marketer needs. On the paths accepted here they read
 * what jsonpath-plus reads (test/unit/differential.test.ts holds them to the
 * engine as shipped), string characters and `.length` included.
 */
import { FORBIDDEN_KEYS } from '../domain/json.js';

export type PathSegment = string | number;

export const MAX_PATH_DEPTH = 16;

export type PathParse = { ok: true; segments: PathSegment[] } | { ok: false; message: string };

const DOT_KEY = /^\.([A-Za-z0-9_$-]+)/;
const INDEX = /^\[(0|[1-9][0-9]{0,8})\]/;
const QUOTED_KEY = /^\[(?:'([^'\\]*)'|"([^"\\]*)")\]/;

export function parsePath(path: string): PathParse {
  if (!path.startsWith('$')) return { ok: false, message: 'must start with "$", e.g. "$.tier" or "$.items[0]"' };
  const segments: PathSegment[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    let match: RegExpExecArray | null;
    let segment: PathSegment;
    if ((match = DOT_KEY.exec(rest))) {
      segment = match[1] as string;
    } else if ((match = INDEX.exec(rest))) {
      segment = Number(match[1]);
    } else if ((match = QUOTED_KEY.exec(rest))) {
      segment = (match[1] ?? match[2]) as string;
    } else {
      return {
        ok: false,
        message: `only plain property access is allowed ("$.a.b", "$.a[0]", "$['a b']"); cannot read "${rest}"${suggestion(path)}`,
      };
    }
    if (typeof segment === 'string' && FORBIDDEN_KEYS.has(segment)) {
      return { ok: false, message: `"${segment}" may not appear in a path` };
    }
    segments.push(segment);
    if (segments.length > MAX_PATH_DEPTH) return { ok: false, message: `must be at most ${MAX_PATH_DEPTH} levels deep` };
    rest = rest.slice(match[0].length);
  }
  return { ok: true, segments };
}

/**
 * jsonpath-plus reads "$.a.['b']" as "$.a['b']", so rules written for
 * json-rules-engine may carry a dot before a bracket; the plain spelling drops
 * it. ("$.a.[0]" is a recursive descent to jsonpath-plus, but "$.a[0]" is
 * what its author meant.)
 */
function suggestion(path: string): string {
  const plain = path.replace(/\.(?=\[)/g, '');
  return plain !== path && parsePath(plain).ok ? `; did you mean ${plain}?` : '';
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Follows own properties only, as jsonpath-plus does on a plain path (it steps
 * into a value when `val && Object.hasOwn(val, key)`): an object's own keys, an
 * array's own indexes and `length`, a string's own indexes (its characters) and
 * `length`; never anything inherited (toString, map, charAt, ...). Anything
 * else on the way is undefined: a missing key, null, a number, a boolean, and
 * the empty string, which jsonpath-plus, stopping at a falsy value, gives no
 * length either.
 */
export function resolvePath(value: unknown, segments: readonly PathSegment[]): unknown {
  let current: unknown = value;
  for (const segment of segments) {
    if (typeof current === 'object') {
      if (current === null || !hasOwn.call(current, segment)) return undefined;
      current = (current as Record<PathSegment, unknown>)[segment];
    } else if (typeof current === 'string' && current !== '') {
      // A string's own members are its length and its indexes. The two spellings rules use are read
      // directly: hasOwnProperty on a string boxes it first, five times the cost of the whole read.
      if (segment === 'length') current = current.length;
      else if (typeof segment === 'number') current = segment < current.length ? current[segment] : undefined;
      else current = hasOwn.call(current, segment) ? (current as unknown as Record<string, unknown>)[segment] : undefined;
      if (current === undefined) return undefined;
    } else {
      return undefined;
    }
  }
  return current;
}

const parsedPaths = new Map<string, readonly PathSegment[] | null>();

/**
 * The resolver given to json-rules-engine as `pathResolver`. Paths were
 * validated at load, so the parse cache only ever holds the rules' own paths.
 */
export function resolvePathString(value: unknown, path: string): unknown {
  let segments = parsedPaths.get(path);
  if (segments === undefined) {
    const parsed = parsePath(path);
    segments = parsed.ok ? parsed.segments : null;
    if (parsedPaths.size < 100_000) parsedPaths.set(path, segments);
  }
  return segments === null ? undefined : resolvePath(value, segments);
}
