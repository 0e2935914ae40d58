import * as z from 'zod';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/**
 * Any JSON value in an answer: attributes, context, touchpoint properties,
 * catalog fields, traced values. One instance, shared by every answer schema,
 * so the OpenAPI document names it once (JsonValue) and refers to it.
 */
export const jsonValueSchema = z.json();

export const jsonObjectSchema = z.record(z.string(), jsonValueSchema);

/** A time in an answer, as the service writes it (Date#toISOString()). */
export const timestampSchema = z.iso
  .datetime()
  .meta({ description: 'An ISO-8601 date-time in UTC.', examples: ['2026-03-01T12:00:00.000Z'] });

/** Keys that would reach an object's prototype when merged or assigned. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON path ("$.a.b[0]") of the first forbidden key found anywhere in a
 * JSON value, or null. Callers reject such input before it is stored or merged.
 */
export function findForbiddenKey(value: unknown, path = '$'): string | null {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findForbiddenKey(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      const child = joinPath(path, key);
      if (FORBIDDEN_KEYS.has(key)) return child;
      const found = findForbiddenKey(value[key], child);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Whether a JSON value nests deeper than `limit` levels. Iterative, so a
 * hostile body nested a million levels deep cannot exhaust the stack here or
 * in the recursive validators that run after this check.
 */
export function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Appends a key or index to a JSON path in the "$.a['b c'][0]" notation. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return IDENTIFIER.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

export function pathOf(segments: ReadonlyArray<PropertyKey>, base = '$'): string {
  let path = base;
  for (const segment of segments) {
    path = joinPath(path, typeof segment === 'number' ? segment : String(segment));
  }
  return path;
}

export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/**
 * A lone UTF-16 surrogate: with the `u` flag a well-formed surrogate pair is
 * one code point (never in Cs), so only an unpaired half matches.
 */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The JSON path of the first key or string anywhere in a JSON value that is
 * not well-formed UTF-16 (holds a lone surrogate, which JSON's `\udXXX` escapes
 * can spell), or null. Such a string is not Unicode text: stores encode it
 * lossily (Redis as U+FFFD, so "a\ud800" and "a\ud801" become one id) or
 * refuse it, so callers reject it before it is stored. The path is built only
 * for a find: the walk itself allocates nothing.
 */
export function findLoneSurrogate(value: unknown, path = '$'): string | null {
  const found = loneSurrogateAt(value);
  return found === null ? null : pathOf(found.reverse(), path);
}

/** The path segments to the first lone surrogate, innermost first; null when there is none. */
function loneSurrogateAt(value: unknown): Array<string | number> | null {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? [] : null;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = loneSurrogateAt(value[i]);
      if (found) {
        found.push(i);
        return found;
      }
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    if (LONE_SURROGATE.test(key)) return [key];
    const found = loneSurrogateAt((value as Record<string, unknown>)[key]);
    if (found) {
      found.push(key);
      return found;
    }
  }
  return null;
}
