/**
 * Condition paths are plain property access ("$.a.b", "$.a[0]", "$['a b']"),
 * parsed and resolved here. They are never handed to a JSONPath evaluator:
 * json-rules-engine's default (jsonpath-plus) has had code-execution holes and
 * far more syntax than a marketer needs.
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
        message: `only plain property access is allowed ("$.a.b", "$.a[0]", "$['a b']"); cannot read "${rest}"`,
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

/** Follows own properties only; anything missing (or not an object on the way) is undefined. */
export function resolvePath(value: unknown, segments: readonly PathSegment[]): unknown {
  let current: unknown = value;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
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
